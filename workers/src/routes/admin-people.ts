/**
 * The staff console's People (admins only): find anyone by name or email, filtered, a page at a time;
 * one person with how they got their role and tier; and the actions on an account. Each action takes a
 * reason and writes its change, a membership history row (with the actor) and an audit log row in one
 * D1 batch: all or nothing.
 */
import { z } from '@hono/zod-openapi';
import { MEMBERSHIP_TIERS, monthlyUsage, USER_ROLES } from '@hybrid-coach/shared/tiers';
import { and, asc, count, desc, eq, gt, isNotNull, isNull, max, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Db } from '../db/client';
import { coachingSessions, loginSessions, membershipStatusHistory, SKOOL_COMMUNITIES, SKOOL_STATUSES, users } from '../db/schema';
import { claimLinkWrites } from '../lib/account-links';
import { auditInsert } from '../lib/audit';
import { alertReleased, closeStaffSockets, flagReleaseWrites, heldFlags } from '../lib/crisis-flags';
import { CursorQuery, decodeCursor, pageOf, pageSchema } from '../lib/cursor';
import { AppError, ok } from '../lib/errors';
import { ADMINS, adminChange, authRoute, createApp, IdParams, limitQuery, okBody } from '../lib/openapi';
import { signOutWrites } from '../lib/password-change';
import { loadUser } from '../lib/usage';
import { kickOutbox } from '../mail/outbox';

const iso = z.string().datetime();
const skoolStatus = z.enum(SKOOL_STATUSES).nullable();

const PersonSummary = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(USER_ROLES),
    tier: z.enum(MEMBERSHIP_TIERS),
    claimed: z.boolean().openapi({ description: 'A password is set (a Skool placeholder account is unclaimed until then)' }),
    disabled: z.boolean(),
    skool: z.object({ ultra: skoolStatus, vagus: skoolStatus }).openapi({ description: 'Standing in each Skool community; both null: a manual account' }),
    createdAt: iso,
  })
  .openapi('AdminPersonSummary');

const HistoryEntry = z
  .object({
    id: z.string(),
    at: iso,
    field: z.enum(['status', 'role', 'tier', 'account']),
    community: z.enum(SKOOL_COMMUNITIES).nullable(),
    from: z.string().nullable(),
    to: z.string(),
    by: z.enum(['sync', 'staff']),
    syncRunId: z.string().nullable(),
    actor: z.object({ id: z.string(), displayName: z.string().nullable() }).nullable(),
    reason: z.string().nullable(),
  })
  .openapi('MembershipHistoryEntry');

/** History rows one person's page shows: the newest this many. */
export const HISTORY_SHOWN = 50;

const Person = PersonSummary.extend({
  disabledAt: iso.nullable(),
  lastSignInAt: iso.nullable(),
  lastSkoolSync: iso.nullable(),
  membershipEndDate: iso.nullable(),
  thisMonth: z.object({ sessions: z.number().int(), minutes: z.number().int() }),
  sessionsTotal: z.number().int(),
  history: z.array(HistoryEntry).openapi({ description: `The newest ${HISTORY_SHOWN} changes, from the sync and from staff` }),
}).openapi('AdminPerson');

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const ListQuery = z.object({
  q: z.string().trim().min(1).max(200).optional().openapi({ description: 'Part of the name or email' }),
  role: z.enum(USER_ROLES).optional(),
  tier: z.enum(MEMBERSHIP_TIERS).optional(),
  claimed: flag.optional(),
  disabled: flag.optional(),
  source: z.enum(['ultra', 'vagus', 'manual']).optional().openapi({ description: 'A Skool community the account is known to, or neither (manual)' }),
  cursor: CursorQuery,
  limit: limitQuery(100, 25, 'At most this many (1 to 100), by email'),
});

const reason = z.string().trim().min(3).max(500).openapi({ description: 'Why: kept in the membership history and the audit log' });
const ReasonBody = z.object({ reason }).strict().openapi('AdminReason');
const TierBody = z
  .object({ tier: z.enum(MEMBERSHIP_TIERS), reason })
  .strict()
  .openapi('AdminSetTier');
const RoleBody = z
  .object({ role: z.enum(USER_ROLES), reason })
  .strict()
  .openapi('AdminSetRole');

const listRoute = authRoute({
  method: 'get',
  path: '/people',
  summary: 'Everyone with an account, found by name or email and filtered, a page at a time (admins)',
  roles: ADMINS,
  request: { query: ListQuery },
  responses: { 200: okBody('One page, by email', pageSchema(PersonSummary)) },
});

const personRoute = authRoute({
  method: 'get',
  path: '/people/{id}',
  summary: 'One person: profile, role, tier and how they got there, this month’s use, last sign-in (admins)',
  roles: ADMINS,
  errors: ['NOT_FOUND'],
  request: { params: IdParams },
  responses: { 200: okBody('The person', Person) },
});

/** An action on one person: a body with a reason, the person after it; 404 unknown, 409 refused by the state. */
const action = <P extends string, B extends z.ZodType<{ reason: string }>>(path: P, summary: string, body: B) =>
  adminChange(`/people/{id}/${path}`, summary, body, okBody('The person after the change', Person));

const tierRoute = action('tier', 'Set the tier (PREMIUM is set only here; a sync never takes it away) (admins)', TierBody);
const roleRoute = action('role', 'Set the role; the last admin, and oneself, cannot be demoted (admins)', RoleBody);
const disableRoute = action('disable', 'Disable the account: no sign-in, and every session token refused from now (admins)', ReasonBody);
const enableRoute = action('enable', 'Enable a disabled account again (admins)', ReasonBody);
const signOutRoute = action('sign-out', 'Sign the person out everywhere (admins)', ReasonBody);
const claimEmailRoute = action('claim-email', 'Send the claim email again to an account never claimed (admins)', ReasonBody);

type UserRow = typeof users.$inferSelect;

const summaryOf = (u: UserRow): z.infer<typeof PersonSummary> => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  role: u.role,
  tier: u.membershipTier,
  claimed: u.passwordHash !== null,
  disabled: u.disabledAt !== null,
  skool: { ultra: u.ultraSubscriptionStatus, vagus: u.vagusSubscriptionStatus },
  createdAt: u.createdAt.toISOString(),
});

async function personOf(db: Db, u: UserRow, now = new Date()): Promise<z.infer<typeof Person>> {
  const [signIn, sessions, history] = await db.batch([
    db
      .select({ at: max(loginSessions.createdAt) })
      .from(loginSessions)
      .where(eq(loginSessions.userId, u.id)),
    db.select({ n: count() }).from(coachingSessions).where(eq(coachingSessions.clientId, u.id)),
    db
      .select({ row: membershipStatusHistory, actorName: users.displayName })
      .from(membershipStatusHistory)
      .leftJoin(users, eq(users.id, membershipStatusHistory.actorId))
      .where(eq(membershipStatusHistory.userId, u.id))
      .orderBy(desc(membershipStatusHistory.changedAt), desc(membershipStatusHistory.id))
      .limit(HISTORY_SHOWN),
  ]);
  const usage = monthlyUsage(u.membershipTier, u, now);
  // max() over an integer column comes back as the number of milliseconds, not a Date.
  const lastSignIn = signIn[0]?.at;
  return {
    ...summaryOf(u),
    disabledAt: u.disabledAt?.toISOString() ?? null,
    lastSignInAt: lastSignIn == null ? null : new Date(lastSignIn).toISOString(),
    lastSkoolSync: u.lastSkoolSync?.toISOString() ?? null,
    membershipEndDate: u.membershipEndDate?.toISOString() ?? null,
    thisMonth: { sessions: usage.sessionsThisMonth, minutes: usage.minutesThisMonth },
    sessionsTotal: sessions[0]?.n ?? 0,
    history: history.map(({ row: h, actorName }) => ({
      id: h.id,
      at: h.changedAt.toISOString(),
      field: h.field,
      community: h.community,
      from: h.previousValue,
      to: h.newValue,
      by: h.actorId ? 'staff' : 'sync',
      syncRunId: h.syncRunId,
      actor: h.actorId ? { id: h.actorId, displayName: actorName } : null,
      reason: h.reason,
    })),
  };
}

/** `%…%` for LIKE with the user's own % and _ taken literally (ESCAPE '\'). */
const containing = (q: string) => `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

function listFilter(q: z.infer<typeof ListQuery>): SQL[] {
  const where: SQL[] = [isNull(users.deletedAt)];
  if (q.q) {
    const pattern = containing(q.q.toLowerCase());
    where.push(sql`(${users.email} LIKE ${pattern} ESCAPE '\\' OR lower(${users.displayName}) LIKE ${pattern} ESCAPE '\\')`);
  }
  if (q.role) where.push(eq(users.role, q.role));
  if (q.tier) where.push(eq(users.membershipTier, q.tier));
  if (q.claimed !== undefined) where.push(q.claimed ? isNotNull(users.passwordHash) : isNull(users.passwordHash));
  if (q.disabled !== undefined) where.push(q.disabled ? isNotNull(users.disabledAt) : isNull(users.disabledAt));
  if (q.source === 'ultra') where.push(isNotNull(users.ultraSubscriptionStatus));
  if (q.source === 'vagus') where.push(isNotNull(users.vagusSubscriptionStatus));
  if (q.source === 'manual') where.push(isNull(users.ultraSubscriptionStatus), isNull(users.vagusSubscriptionStatus));
  if (q.cursor) where.push(gt(users.email, decodeCursor(q.cursor, ['string'])[0]));
  return where;
}

/**
 * True while an active admin other than `targetId` exists. Used inside the change itself (below), so of
 * two admins demoting each other at the same moment, the second change finds the first and is refused.
 */
const anotherAdmin = (targetId: string) =>
  sql`EXISTS (SELECT 1 FROM users o WHERE o.role = 'ADMIN' AND o.id <> ${targetId} AND o.deleted_at IS NULL AND o.disabled_at IS NULL)`;

/**
 * The role to write for a change that takes an admin away (demotion, disabling): `role` while another
 * active admin exists, else NULL, which users.role's NOT NULL refuses, failing the whole batch (no write
 * without its history and audit rows, and none at all when it would leave no admin).
 */
export const roleKeepingAnAdmin = (targetId: string, role: string) => sql`CASE WHEN ${anotherAdmin(targetId)} THEN ${role} ELSE NULL END`;
const LAST_ADMIN = 'NOT NULL constraint failed: users.role';

export const isLastAdminRefusal = (err: unknown): boolean => {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message.includes(LAST_ADMIN)) return true;
  return false;
};
const lastAdmin = () => new AppError('CONFLICT', 'This is the last active admin: make someone else an admin first');

interface Change {
  field: 'role' | 'tier' | 'account';
  from: string | null;
  to: string;
  /** `area.verb` in the audit log. */
  action: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** Applies `writes` with the history row and the audit row of `change`, in one batch; answers the person after it. */
async function commit(c: Context<AppEnv>, target: UserRow, reasonGiven: string, change: Change, writes: BatchItem<'sqlite'>[]) {
  const db = c.var.db;
  const now = new Date();
  const actorId = c.get('user').id;
  const history = db.insert(membershipStatusHistory).values({
    userId: target.id,
    actorId,
    reason: reasonGiven,
    field: change.field,
    previousValue: change.from,
    newValue: change.to,
    changedAt: now,
  });
  const audit = auditInsert(db, {
    actorId,
    action: change.action,
    target: { type: 'user', id: target.id },
    reason: reasonGiven,
    before: change.before,
    after: change.after,
    requestId: c.get('requestId'),
    at: now,
  });
  try {
    await db.batch([history, audit, ...writes]);
  } catch (err) {
    if (isLastAdminRefusal(err)) throw lastAdmin();
    throw err;
  }
  return c.json(ok(await personOf(db, await loadUser(db, target.id))), 200);
}

/** Who puts a person's flags back to OPEN, and why (the reason given for the change), for `flagReleaseWrites`. */
const released = (c: Context<AppEnv>, why: string, at: Date) => ({
  actorId: c.get('user').id,
  note: `Open again: the coach who owned it is no longer on duty (${why})`,
  requestId: c.get('requestId'),
  at,
});

const refuse = (message: string) => new AppError('CONFLICT', message);

export const adminPeople = createApp()
  .openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const rows = await c.var.db
      .select()
      .from(users)
      .where(and(...listFilter(q)))
      .orderBy(asc(users.email))
      .limit(q.limit + 1)
      .all();
    const page = pageOf(rows, q.limit, (u) => [u.email]);
    return c.json(ok({ items: page.items.map(summaryOf), nextCursor: page.nextCursor }), 200);
  })
  .openapi(personRoute, async (c) => {
    const db = c.var.db;
    return c.json(ok(await personOf(db, await loadUser(db, c.req.valid('param').id))), 200);
  })
  .openapi(tierRoute, async (c) => {
    const { tier, reason: why } = c.req.valid('json');
    const db = c.var.db;
    const target = await loadUser(db, c.req.valid('param').id);
    if (target.membershipTier === tier) throw refuse(`This person is already on ${tier}`);
    const change = { field: 'tier', from: target.membershipTier, to: tier, action: 'user.set-tier' } as const;
    return commit(c, target, why, { ...change, before: { tier: change.from }, after: { tier } }, [
      db.update(users).set({ membershipTier: tier }).where(eq(users.id, target.id)),
    ]);
  })
  .openapi(roleRoute, async (c) => {
    const { role, reason: why } = c.req.valid('json');
    const db = c.var.db;
    const me = c.get('user');
    const target = await loadUser(db, c.req.valid('param').id);
    if (target.id === me.id) throw refuse('You cannot change your own role: ask another admin');
    if (target.role === role) throw refuse(`This person is already ${role}`);
    const demotesAdmin = target.role === 'ADMIN';
    // requireAuth reads the role each request: a session signed in without staff MFA must not become staff's.
    const toStaff = role !== 'CLIENT';
    const now = new Date();
    // A client owns no flags: the ones they acknowledged are open again, for another coach to take.
    const held = toStaff ? [] : await heldFlags(db, target.id);
    const change = { field: 'role', from: target.role, to: role, action: 'user.set-role' } as const;
    const answer = await commit(c, target, why, { ...change, before: { role: change.from }, after: { role } }, [
      db
        .update(users)
        .set({ role: demotesAdmin ? roleKeepingAnAdmin(target.id, role) : role })
        .where(eq(users.id, target.id)),
      ...(toStaff ? signOutWrites(db, target.id, now) : []),
      ...(toStaff ? [] : flagReleaseWrites(db, target.id, released(c, why, now))),
    ]);
    await alertReleased(c.env, db, held, { id: me.id, name: me.displayName }, now, c.get('requestId'));
    // A client hears of no flags: a socket opened while they were staff is closed (as is one whose token was revoked).
    await closeStaffSockets(c.env, target.id, c.get('requestId'), toStaff ? 'signed out everywhere' : 'no longer staff');
    return answer;
  })
  .openapi(disableRoute, async (c) => {
    const { reason: why } = c.req.valid('json');
    const db = c.var.db;
    const now = new Date();
    const target = await loadUser(db, c.req.valid('param').id);
    if (target.id === c.get('user').id) throw refuse('You cannot disable your own account: ask another admin');
    if (target.disabledAt) throw refuse('This account is already disabled');
    // No one could act on the flags a disabled coach owns: they are open again, for another coach to take.
    const held = await heldFlags(db, target.id);
    const change = { field: 'account', from: 'active', to: 'disabled', action: 'user.disable' } as const;
    const answer = await commit(c, target, why, { ...change, before: { disabled: false }, after: { disabled: true } }, [
      db
        .update(users)
        .set({ disabledAt: now, ...(target.role === 'ADMIN' ? { role: roleKeepingAnAdmin(target.id, 'ADMIN') } : {}) })
        .where(eq(users.id, target.id)),
      ...signOutWrites(db, target.id, now),
      ...flagReleaseWrites(db, target.id, released(c, why, now)),
    ]);
    await alertReleased(c.env, db, held, { id: c.get('user').id, name: c.get('user').displayName }, now, c.get('requestId'));
    // Their tokens are revoked; a staff socket opened before stays open unless closed (issue 16).
    await closeStaffSockets(c.env, target.id, c.get('requestId'));
    return answer;
  })
  .openapi(enableRoute, async (c) => {
    const { reason: why } = c.req.valid('json');
    const db = c.var.db;
    const target = await loadUser(db, c.req.valid('param').id);
    if (!target.disabledAt) throw refuse('This account is not disabled');
    const change = { field: 'account', from: 'disabled', to: 'active', action: 'user.enable' } as const;
    return commit(c, target, why, { ...change, before: { disabled: true }, after: { disabled: false } }, [
      db.update(users).set({ disabledAt: null }).where(eq(users.id, target.id)),
    ]);
  })
  .openapi(signOutRoute, async (c) => {
    const { reason: why } = c.req.valid('json');
    const db = c.var.db;
    const me = c.get('user');
    const target = await loadUser(db, c.req.valid('param').id);
    const live = await db
      .select({ n: count() })
      .from(loginSessions)
      .where(and(eq(loginSessions.userId, target.id), isNull(loginSessions.revokedAt), gt(loginSessions.expiresAt, new Date())))
      .get();
    const change = { field: 'account', from: null, to: 'signed-out-everywhere', action: 'user.sign-out-everywhere' } as const;
    // Signing oneself out everywhere keeps the session doing it, as changing one's password does.
    const answer = await commit(c, target, why, { ...change, before: { liveSessions: live?.n ?? 0 } }, [
      ...signOutWrites(db, target.id, new Date(), target.id === me.id ? me.sessionId : undefined),
    ]);
    // Their sockets were opened with tokens now revoked (one's own stays, with the session doing this).
    if (target.id !== me.id) await closeStaffSockets(c.env, target.id, c.get('requestId'), 'signed out everywhere');
    return answer;
  })
  .openapi(claimEmailRoute, async (c) => {
    const { reason: why } = c.req.valid('json');
    const db = c.var.db;
    const target = await loadUser(db, c.req.valid('param').id);
    if (target.passwordHash !== null) throw refuse('This account is already claimed: the person can reset their password from the sign-in page');
    if (target.disabledAt) throw refuse('This account is disabled: enable it first');
    const change = { field: 'account', from: null, to: 'claim-email-sent', action: 'user.claim-email' } as const;
    const answer = await commit(c, target, why, { ...change, after: { claimEmailQueued: true } }, await claimLinkWrites(c.env, db, target, 'request'));
    kickOutbox(c.env, c.executionCtx);
    return answer;
  });
