/**
 * A client's data rights (issue 17): download everything held about them, and delete the account (a
 * grace period, then the erasure in lib/erasure.ts); and an admin's erasure of a client at once, from
 * People. Signing in during the grace period and cancelling are in routes/auth.ts.
 */
import { z } from '@hono/zod-openapi';
import { DELETION_GRACE_MS, EXPORT_WINDOW_MS, EXPORTS_PER_WINDOW } from '@hybrid-coach/shared/data-export';
import { describeError, log } from '@hybrid-coach/shared/log';
import { MAX_PASSWORD_LENGTH } from '@hybrid-coach/shared/password-policy';
import { eq, sql } from 'drizzle-orm';
import { deleteCookie } from 'hono/cookie';
import { users } from '../db/schema';
import { auditInsert } from '../lib/audit';
import { exportZip } from '../lib/data-export';
import { ERASURE_OBJECTS_PER_RUN, endLiveSessions, eraseByAdmin } from '../lib/erasure';
import { AppError, errorResponses, ok } from '../lib/errors';
import { authRoute, createApp, IdParams, jsonBody, okBody } from '../lib/openapi';
import { verifyPassword } from '../lib/password';
import { signOutWrites } from '../lib/password-change';
import { SESSION_COOKIE } from '../lib/session';
import { loadUser } from '../lib/usage';
import { rateLimit } from '../rate-limiter';

const CLIENT = ['CLIENT'] as const;

const exportRoute = authRoute({
  method: 'get',
  path: '/export',
  summary: 'Download my data: a zip with export.json (versioned, see README "Your data") and export.html (clients)',
  description: `Profile and intake answers, every session (times, minutes, summary, the transcript as the client sees it), ratings and tips, appointments, consent records, and the notes a coach shared with the AI about the client; never a coach's private notes. Streamed as it is built. ${EXPORTS_PER_WINDOW} a day per account (429 with Retry-After). A disabled account, or one waiting for deletion, is signed out: 401.`,
  roles: CLIENT,
  errors: ['RATE_LIMITED'],
  responses: {
    200: { description: 'The zip', content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
});

const DeletionBody = z
  .object({ password: z.string().min(1).max(MAX_PASSWORD_LENGTH).openapi({ description: 'The account’s current password, as confirmation' }) })
  .strict()
  .openapi('DeletionRequest');

const DeletionScheduled = z
  .object({
    erasesAt: z.string().datetime().openapi({ description: 'When the account and everything about it is erased, unless the deletion is cancelled before' }),
  })
  .openapi('DeletionScheduled');

const deletionRoute = authRoute({
  method: 'post',
  path: '/deletion',
  summary: 'Delete my account: disabled and signed out everywhere at once, erased after the grace period (clients)',
  description:
    'A wrong password is a 400 with `fields.password`. The account is signed out everywhere (this session too), so a repeated request is a 401; two at the same moment: the second is a 409. Signing in during the grace period answers `deletionPending` and offers POST /api/auth/deletion/cancel. 10 tries in 15 minutes.',
  roles: CLIENT,
  errors: ['CONFLICT', 'RATE_LIMITED'],
  request: { body: jsonBody(DeletionBody) },
  responses: { 200: okBody('Deletion scheduled', DeletionScheduled) },
});

/** Deletion requests (right or wrong password) one account may try in 15 minutes. */
const DELETION_TRIES = 10;
const DELETION_TRIES_WINDOW_MS = 15 * 60_000;
const ALREADY = 'NOT NULL constraint failed: users.email';

/** Download and deletion, mounted at /api/users/me. */
export const myData = createApp()
  .openapi(exportRoute, async (c) => {
    const user = c.get('user');
    const limit = await rateLimit(c.env, `export:${user.id}`, EXPORTS_PER_WINDOW, EXPORT_WINDOW_MS);
    if (!limit.allowed) {
      throw new AppError('RATE_LIMITED', `At most ${EXPORTS_PER_WINDOW} downloads a day. Try again later.`, { retryAfterSeconds: limit.retryAfterSeconds });
    }
    const now = new Date();
    log('info', 'data export', { requestId: c.get('requestId'), userId: user.id });
    return new Response(exportZip(c.env, c.var.db, user.id, now), {
      status: 200,
      headers: {
        'Content-Type': 'application/zip',
        'Content-Disposition': `attachment; filename="hybrid-coach-data-${now.toISOString().slice(0, 10)}.zip"`,
        'Cache-Control': 'no-store',
      },
    }) as never;
  })
  .openapi(deletionRoute, async (c) => {
    const caller = c.get('user');
    const { password } = c.req.valid('json');
    const limit = await rateLimit(c.env, `deletion:${caller.id}`, DELETION_TRIES, DELETION_TRIES_WINDOW_MS);
    if (!limit.allowed) throw new AppError('RATE_LIMITED', 'Too many tries. Try again later.', { retryAfterSeconds: limit.retryAfterSeconds });
    const db = c.var.db;
    const user = await loadUser(db, caller.id);
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, password))) {
      throw new AppError('VALIDATION_ERROR', 'That is not your password', { fields: { password: 'Not your current password' } });
    }
    const now = new Date();
    try {
      await db.batch([
        // Only once: a second request at the same moment finds it set and fails the whole batch (NOT NULL).
        db
          .update(users)
          .set({
            deletionRequestedAt: now,
            disabledAt: now,
            email: sql`CASE WHEN ${users.deletionRequestedAt} IS NULL THEN ${users.email} ELSE NULL END`,
          })
          .where(eq(users.id, user.id)),
        ...signOutWrites(db, user.id, now),
        auditInsert(db, {
          actorId: user.id,
          action: 'user.deletion-request',
          target: { type: 'user', id: user.id },
          after: { erasesAt: new Date(now.getTime() + DELETION_GRACE_MS).toISOString() },
          requestId: c.get('requestId'),
          at: now,
        }),
      ]);
    } catch (err) {
      for (let e: unknown = err; e instanceof Error; e = e.cause) {
        if (e.message.includes(ALREADY)) throw new AppError('CONFLICT', 'This account is already waiting for deletion');
      }
      throw err;
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    // A call still open ends now (signed out everywhere includes the call); if LiveKit cannot be reached,
    // the deletion stands and the erasure deletes the room before anything else.
    let callsEnded = 0;
    try {
      callsEnded = await endLiveSessions(c.env, db, user.id);
    } catch (err) {
      log('warn', 'could not end a live session of an account being deleted', { requestId: c.get('requestId'), userId: user.id, ...describeError(err) });
    }
    log('info', 'account deletion requested', { requestId: c.get('requestId'), userId: user.id, callsEnded });
    return c.json(ok({ erasesAt: new Date(now.getTime() + DELETION_GRACE_MS).toISOString() }), 200);
  });

const EraseBody = z
  .object({ reason: z.string().trim().min(3).max(500).openapi({ description: 'Why: kept in the audit log' }) })
  .strict()
  .openapi('AdminErase');

const Erased = z
  .object({
    erased: z.literal(true),
    counts: z.record(z.string(), z.number().int()).openapi({ description: 'Rows (and session objects) deleted, by kind, as the audit row records them' }),
  })
  .openapi('AdminErased');

const ErasureStarted = z
  .object({
    erased: z.literal(false),
    remainingSessionObjects: z.number().int().openapi({ description: 'Session objects still to wipe: the hourly cron carries on (or ask again)' }),
  })
  .openapi('AdminErasureStarted');

const eraseRoute = authRoute({
  method: 'post',
  path: '/people/{id}/erase',
  summary: 'Erase a client now: every row about them, their sessions’ stored state; audited (admins)',
  description: `The same erasure as the end of the deletion grace period (docs/operations.md, "Account erasure"). Only client accounts: 409 for staff. A client with more than ${ERASURE_OBJECTS_PER_RUN} sessions is disabled and signed out at once and erased in runs of ${ERASURE_OBJECTS_PER_RUN} session objects: 202, and the hourly cron (or the same request again) carries on; the audit row that ends it names this admin and reason.`,
  roles: ['ADMIN'],
  errors: ['NOT_FOUND', 'CONFLICT'],
  request: { params: IdParams, body: jsonBody(EraseBody) },
  responses: {
    200: okBody('Erased', Erased),
    202: okBody('Started: the account is disabled, and the hourly cron finishes the erasure', ErasureStarted),
    ...errorResponses('NOT_FOUND'),
  },
});

/** An admin's erasure, mounted at /api/admin beside People. */
export const adminErasure = createApp().openapi(eraseRoute, async (c) => {
  const { reason } = c.req.valid('json');
  const db = c.var.db;
  const target = await loadUser(db, c.req.valid('param').id);
  // A coach's or admin's rows belong to their clients too (appointments, sessions): not erased this way.
  if (target.role !== 'CLIENT') throw new AppError('CONFLICT', 'Only client accounts can be erased: make this person a client first');
  const progress = await eraseByAdmin(c.env, db, target.id, { actorId: c.get('user').id, reason, requestId: c.get('requestId') });
  if (!progress) throw new AppError('NOT_FOUND', 'User not found');
  if (!progress.done) return c.json(ok({ erased: false as const, remainingSessionObjects: progress.remaining }), 202);
  return c.json(ok({ erased: true as const, counts: progress.counts }), 200);
});
