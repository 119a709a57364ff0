/**
 * Emails to staff: a session flagged for talk of crisis goes to every coach on duty, and a failed Skool
 * sync to every admin.
 *
 * "On duty": coaches taking bookings ("Available for bookings" on in their settings) and the session's own
 * coach; when that is nobody, every admin, so a flag is never seen by no one. The email says only that a
 * session needs follow-up and links to it in the coach portal: no transcript, no quote, no client name.
 */
import { and, eq, isNull, or, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { mailUnless, outboxInsert } from './outbox';
import { sessionFlaggedMail, skoolSyncFailedMail } from './templates';

const DAY = 86_400_000;

/** The flag emails for `sessionId`, to stand only if `happened` (the flag was raised by this batch). */
export async function flagMailWrites(
  env: Env,
  db: Db,
  session: { id: string; coachId: string | null },
  happened: SQL,
  now: Date,
): Promise<BatchItem<'sqlite'>[]> {
  const live = isNull(users.deletedAt);
  let onDuty = await db
    .select({ id: users.id, email: users.email, displayName: users.displayName })
    .from(users)
    .where(and(live, or(and(eq(users.role, 'COACH'), eq(users.isAvailable, true)), ...(session.coachId ? [eq(users.id, session.coachId)] : []))))
    .all();
  if (onDuty.length === 0) {
    onDuty = await db
      .select({ id: users.id, email: users.email, displayName: users.displayName })
      .from(users)
      .where(and(live, eq(users.role, 'ADMIN')))
      .all();
  }
  const keys: string[] = [];
  const writes: BatchItem<'sqlite'>[] = [];
  for (const staff of onDuty) {
    const key = `flag:${session.id}:${staff.id}:${now.getTime()}`;
    keys.push(key);
    writes.push(
      ...(await outboxInsert(env, db, {
        to: { email: staff.email, userId: staff.id },
        template: 'session-flagged',
        kind: 'notification',
        idempotencyKey: key,
        ref: `session:${session.id}`,
        expiresAt: new Date(now.getTime() + 7 * DAY),
        content: sessionFlaggedMail({ name: staff.displayName, link: `${env.COACH_APP_URL}/sessions/${session.id}` }),
      })),
    );
  }
  if (keys.length > 0) writes.push(mailUnless(db, keys, happened));
  return writes;
}

/** One email per admin about a failed sync run (once per run and admin). */
export async function syncFailedMailWrites(env: Env, db: Db, run: { id: string; reason: string }, now = new Date()): Promise<BatchItem<'sqlite'>[]> {
  const admins = await db
    .select({ id: users.id, email: users.email, displayName: users.displayName })
    .from(users)
    .where(and(isNull(users.deletedAt), eq(users.role, 'ADMIN')))
    .all();
  const writes: BatchItem<'sqlite'>[] = [];
  for (const admin of admins) {
    writes.push(
      ...(await outboxInsert(env, db, {
        to: { email: admin.email, userId: admin.id },
        template: 'skool-sync-failed',
        kind: 'notification',
        idempotencyKey: `sync-failed:${run.id}:${admin.id}`,
        ref: `skool-sync:${run.id}`,
        expiresAt: new Date(now.getTime() + 7 * DAY),
        content: skoolSyncFailedMail({ name: admin.displayName, runId: run.id, reason: run.reason.slice(0, 500), link: `${env.COACH_APP_URL}/dashboard` }),
      })),
    );
  }
  return writes;
}
