/**
 * Erasing a client's account (issue 17): what "Delete my account" leads to once the grace period has
 * passed (the hourly cron, `runDueErasures`), and what an admin's "Erase" on People does at once.
 * Auditable: every session Durable Object's stored state first, then ONE D1 batch that writes the audit
 * row (with what it is about to delete, counted inside the batch) and deletes every row about the person,
 * or nothing at all. Each object is a subrequest (a Worker invocation has 1,000), so the objects are wiped
 * in chunks of at most ERASURE_OBJECTS_PER_RUN per invocation, each marked in D1
 * (`coaching_sessions.object_erased_at`) once wiped; the next run carries on with the unmarked ones, and
 * the batch runs only when none is left. Wiping an object twice changes nothing, so a run cut off between
 * a wipe and its mark is simply repeated.
 *
 * What stays, and why, is listed in docs/operations.md ("Account erasure"): the audit log (ids only; the
 * free-text reasons of rows about the person are emptied here), `erased_sessions` (billing counts
 * and the ids that let routes/webhooks.ts drop the agent-host's late deliveries), and `erasure_suppressions`
 * (keyed hashes of the addresses, so the Skool sync does not make the person a new account).
 */
import { DELETION_GRACE_MS } from '@hybrid-coach/shared/data-export';
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, inArray, isNotNull, isNull, lte, ne, or, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { chunked, type Db } from '../db/client';
import {
  appointments,
  auditLog,
  authGrants,
  claimTokens,
  clientNotes,
  coachingSessions,
  consentRecords,
  crisisFlagEvents,
  crisisFlags,
  emailOutbox,
  erasedSessions,
  erasureSuppressions,
  loginSessions,
  membershipStatusHistory,
  messages,
  mfaChallenges,
  mfaRecoveryCodes,
  passwordResetTokens,
  pendingErasures,
  profiles,
  sessionRatings,
  sessionTurnTimings,
  skoolSyncMembers,
  staffMfa,
  users,
} from '../db/schema';
import { auditInsert } from './audit';
import { normalizeEmail } from './crypto';
import { keyedHashes } from './encryption';
import { signOutWrites } from './password-change';
import { sessionRoom } from './rooms';

/** The hourly cron (wrangler.toml) that erases the accounts whose grace period has passed. */
export const ERASURE_CRON = '17 * * * *';

interface ErasedUser {
  id: string;
  email: string;
  skoolUltraEmail: string | null;
  skoolVagusEmail: string | null;
}

/**
 * Session objects one invocation (a cron run, an admin's request) wipes at most; the rest waits for the
 * next run. Each is a subrequest, and a Worker invocation has 1,000: half is left for D1 and LiveKit.
 */
export const ERASURE_OBJECTS_PER_RUN = 500;

/** Who erases, and why (the audit row). */
export interface ErasureBy {
  /** null: the system (the cron, at the end of the grace period). */
  actorId: string | null;
  reason: string;
  requestId?: string | null;
}

/** Rows of each kind the run deleted, as the audit row records them. */
export type ErasureCounts = Record<string, number>;

/** Where an erasure stands after a run: done (with what it deleted), or objects still to wipe. */
export type ErasureProgress = { done: true; wiped: number; counts: ErasureCounts } | { done: false; wiped: number; remaining: number };

/** The tables an erasure empties of the person, as counted in its audit row (`key: SQL count`). */
function counted(userId: string, email: string, emails: string[]) {
  const sessions = sql`(SELECT id FROM coaching_sessions WHERE client_id = ${userId})`;
  const n = (from: ReturnType<typeof sql>) => sql`(SELECT count(*) FROM ${from})`;
  return {
    sessions: n(sql`coaching_sessions WHERE client_id = ${userId}`),
    messages: n(sql`messages WHERE session_id IN ${sessions}`),
    searchEntries: n(sql`messages_fts WHERE rowid IN (SELECT rowid FROM messages WHERE session_id IN ${sessions})`),
    summaries: n(sql`coaching_sessions WHERE client_id = ${userId} AND ai_summary IS NOT NULL`),
    ratings: n(sql`session_ratings WHERE session_id IN ${sessions}`),
    crisisFlags: n(sql`crisis_flags WHERE session_id IN ${sessions}`),
    appointments: n(sql`appointments WHERE client_id = ${userId}`),
    consentRecords: n(sql`consent_records WHERE user_id = ${userId}`),
    notes: n(sql`client_notes WHERE client_id = ${userId}`),
    claimLinks: n(sql`claim_tokens WHERE user_id = ${userId}`),
    resetLinks: n(sql`password_reset_tokens WHERE user_id = ${userId}`),
    loginSessions: n(sql`login_sessions WHERE user_id = ${userId}`),
    mail: n(sql`email_outbox WHERE ${mailAbout(userId, email)}`),
    history: n(sql`membership_status_history WHERE user_id = ${userId}`),
    skoolSyncRows: n(sql`skool_sync_members WHERE email IN ${emails}`),
    profile: n(sql`profiles WHERE user_id = ${userId}`),
  };
}

/** Mail rows about the person: to them (by account or address), or about their appointments and sessions. */
const mailAbout = (userId: string, email: string) =>
  sql`(user_id = ${userId} OR to_email = ${email}
    OR ref IN (SELECT 'appointment:' || id FROM appointments WHERE client_id = ${userId})
    OR ref IN (SELECT 'session:' || id FROM coaching_sessions WHERE client_id = ${userId}))`;

/**
 * The writes of one erasure, in order (children before parents, so nothing depends on a cascade): the
 * audit row first, counting what the rest deletes. `guard` makes the batch fail as a whole (NOT NULL on
 * users.email) unless it still holds when the batch runs: the cron's "the deletion is still pending and
 * due", so a cancel that lands between the choice and the batch wins.
 */
function erasureWrites(db: Db, user: ErasedUser, by: ErasureBy, now: Date, emailHashes: string[], guard?: ReturnType<typeof sql>): BatchItem<'sqlite'>[] {
  const u = user.id;
  const sessions = db.select({ id: coachingSessions.id }).from(coachingSessions).where(eq(coachingSessions.clientId, u));
  const emails = [user.email, user.skoolUltraEmail, user.skoolVagusEmail].filter((e): e is string => e !== null);
  const counts = counted(u, user.email, emails);
  const countsJson = sql`json_object(${sql.join(
    Object.entries(counts).map(([k, v]) => sql`${k}, ${v}`),
    sql`, `,
  )})`;
  const inSessions = (column: SQLiteColumn) => inArray(column, sessions);
  return [
    ...(guard
      ? [
          db
            .update(users)
            .set({ email: sql`CASE WHEN ${guard} THEN ${users.email} ELSE NULL END` })
            .where(eq(users.id, u)),
        ]
      : []),
    // The audit row: ids and counts only. Earlier rows about the person keep their ids; their free-text reasons go.
    db
      .update(auditLog)
      .set({ reason: null })
      .where(and(isNotNull(auditLog.reason), or(eq(auditLog.targetId, u), inArray(auditLog.targetId, sessions)))),
    db.insert(auditLog).values({
      at: now,
      actorId: by.actorId,
      action: 'user.erase',
      targetType: 'user',
      targetId: u,
      reason: by.reason,
      after: countsJson,
      requestId: by.requestId ?? null,
    }),
    // What billing counts, without the person; and the ids that make late agent-host deliveries a no-op.
    db
      .insert(erasedSessions)
      .select(
        db
          .select({
            sessionId: coachingSessions.id,
            erasedAt: sql`${now.getTime()}`.as('erased_at'),
            startedAt: coachingSessions.startedAt,
            minutesCharged: coachingSessions.minutesCharged,
            tierAtStart: coachingSessions.tierAtStart,
            coachId: coachingSessions.coachId,
          })
          .from(coachingSessions)
          .where(eq(coachingSessions.clientId, u)),
      )
      .onConflictDoNothing(),
    // The addresses as keyed hashes only: the Skool sync must not make the person a new account (and mail them).
    db
      .insert(erasureSuppressions)
      .values(emailHashes.map((emailHash) => ({ emailHash, suppressedAt: now })))
      .onConflictDoNothing(),
    db.delete(emailOutbox).where(mailAbout(u, user.email)),
    // The search index (messages_fts, external content) loses each line through messages' AFTER DELETE trigger.
    db.delete(messages).where(inSessions(messages.sessionId)),
    db.delete(sessionRatings).where(inSessions(sessionRatings.sessionId)),
    db.delete(sessionTurnTimings).where(inSessions(sessionTurnTimings.sessionId)),
    db.delete(crisisFlagEvents).where(inSessions(crisisFlagEvents.sessionId)),
    db.delete(crisisFlags).where(inSessions(crisisFlags.sessionId)),
    db.delete(clientNotes).where(eq(clientNotes.clientId, u)),
    db.delete(coachingSessions).where(eq(coachingSessions.clientId, u)),
    db.delete(appointments).where(eq(appointments.clientId, u)),
    db.delete(consentRecords).where(eq(consentRecords.userId, u)),
    db.delete(claimTokens).where(eq(claimTokens.userId, u)),
    db.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, u)),
    db.delete(authGrants).where(eq(authGrants.userId, u)),
    db.delete(mfaChallenges).where(eq(mfaChallenges.userId, u)),
    db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, u)),
    db.delete(staffMfa).where(eq(staffMfa.userId, u)),
    db.delete(loginSessions).where(eq(loginSessions.userId, u)),
    db.delete(membershipStatusHistory).where(eq(membershipStatusHistory.userId, u)),
    // What a Skool sync staged about them (name, bio, photo by email); a later sync that still finds them a member makes a new placeholder.
    db.delete(skoolSyncMembers).where(inArray(skoolSyncMembers.email, emails)),
    db.delete(profiles).where(eq(profiles.userId, u)),
    db.delete(pendingErasures).where(eq(pendingErasures.userId, u)),
    db.delete(users).where(eq(users.id, u)),
  ];
}

/** Refused because the guard no longer held (the deletion was cancelled meanwhile). */
const isGuardRefusal = (err: unknown): boolean => {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message.includes('NOT NULL constraint failed: users.email')) return true;
  return false;
};

/** The person's sessions whose object no erasure has wiped yet. */
const unwiped = (userId: string) => and(eq(coachingSessions.clientId, userId), isNull(coachingSessions.objectErasedAt));

async function unwipedCount(db: Db, userId: string): Promise<number> {
  const row = await db.select({ n: sql<number>`count(*)` }).from(coachingSessions).where(unwiped(userId)).get();
  return row?.n ?? 0;
}

/**
 * One run of a client account's erasure: up to `maxObjects` session objects wiped (and marked), then, once
 * none is left, every row about them in one batch. Answers where it stands, or null when there was nothing
 * to erase (unknown or already erased; or, with `guard`, a deletion cancelled meanwhile). A cancelled
 * erasure keeps every row; the objects it wiped held only a finished call's state.
 */
export async function eraseAccount(
  env: Env,
  db: Db,
  userId: string,
  by: ErasureBy,
  now = new Date(),
  guard?: ReturnType<typeof sql>,
  maxObjects = ERASURE_OBJECTS_PER_RUN,
): Promise<ErasureProgress | null> {
  const findUser = () =>
    db
      .select({ id: users.id, email: users.email, skoolUltraEmail: users.skoolUltraEmail, skoolVagusEmail: users.skoolVagusEmail })
      .from(users)
      // The guard checked here too, so a deletion cancelled before the run starts keeps even its objects.
      .where(guard ? and(eq(users.id, userId), guard) : eq(users.id, userId))
      .get();
  const user = await findUser();
  if (!user) return null;
  // A call still open is ended as any other (minutes charged, the room deleted) before its rows go.
  await endLiveSessions(env, db, userId);
  const todo = await db
    .select({ id: coachingSessions.id })
    .from(coachingSessions)
    .where(unwiped(userId))
    .orderBy(coachingSessions.id)
    .limit(maxObjects + 1)
    .all();
  const chunk = todo.slice(0, maxObjects).map((s) => s.id);
  // The objects first: if one fails, nothing in D1 has gone yet and the next run finds the same sessions.
  for (const part of chunked(chunk)) {
    for (const id of part) await sessionRoom(env, id).erase();
    await db.update(coachingSessions).set({ objectErasedAt: now }).where(inArray(coachingSessions.id, part));
  }
  const wiped = chunk.length;
  if (todo.length > maxObjects) {
    const remaining = await unwipedCount(db, userId);
    log('info', 'account erasure continues at the next run', { userId, requestId: by.requestId ?? undefined, wiped, remaining });
    return { done: false, wiped, remaining };
  }
  const emails = [user.email, user.skoolUltraEmail, user.skoolVagusEmail].filter((e): e is string => e !== null);
  const emailHashes = await Promise.all(emails.map(async (e) => (await keyedHashes(env, 'erased-email', normalizeEmail(e)))[0]!));
  // Only once every object is wiped: a session started meanwhile (none should be: the account is disabled) waits for the next run.
  const allWiped = sql`NOT EXISTS (SELECT 1 FROM ${coachingSessions} WHERE ${unwiped(userId)})`;
  const [first, ...rest] = erasureWrites(db, user, by, now, emailHashes, guard ? sql`(${guard}) AND ${allWiped}` : allWiped);
  try {
    await db.batch([first!, ...rest]);
  } catch (err) {
    if (!isGuardRefusal(err)) throw err;
    if (guard && !(await findUser())) return null;
    return { done: false, wiped, remaining: await unwipedCount(db, userId) };
  }
  const row = await db
    .select({ after: auditLog.after })
    .from(auditLog)
    .where(and(eq(auditLog.action, 'user.erase'), eq(auditLog.targetId, userId)))
    .get();
  const after = row?.after as ErasureCounts | undefined;
  // Every session's object is wiped by now, in this run or an earlier one.
  const counts = { ...after, sessionObjects: after?.sessions ?? 0 };
  log('info', 'account erased', { userId, requestId: by.requestId ?? undefined, by: by.actorId ? 'admin' : 'grace-period', ...counts });
  return { done: true, wiped, counts };
}

/**
 * An admin's "Erase" (routes/data-rights.ts). An account with more sessions than one run wipes is first
 * disabled and signed out everywhere, and recorded in `pending_erasures` (audited as `user.erase-start`):
 * the hourly cron carries it on, and its final audit row names this admin and reason. A repeated request
 * carries it on too.
 */
export async function eraseByAdmin(
  env: Env,
  db: Db,
  userId: string,
  by: ErasureBy & { actorId: string },
  now = new Date(),
  maxObjects = ERASURE_OBJECTS_PER_RUN,
) {
  const left = await unwipedCount(db, userId);
  if (left > maxObjects) {
    await db.batch([
      db
        .insert(pendingErasures)
        .values({ userId, actorId: by.actorId, reason: by.reason, requestId: by.requestId ?? null, startedAt: now })
        .onConflictDoNothing(),
      db
        .update(users)
        .set({ disabledAt: sql`coalesce(${users.disabledAt}, ${now.getTime()})` })
        .where(eq(users.id, userId)),
      ...signOutWrites(db, userId, now),
      auditInsert(db, {
        actorId: by.actorId,
        action: 'user.erase-start',
        target: { type: 'user', id: userId },
        reason: by.reason,
        after: { sessionObjectsLeft: left, perRun: maxObjects },
        requestId: by.requestId ?? null,
        at: now,
      }),
    ]);
  }
  return eraseAccount(env, db, userId, by, now, undefined, maxObjects);
}

/**
 * Ends the person's sessions still WAITING or ACTIVE, as the client's own "End" does (the minutes
 * charged, the LiveKit room deleted, everyone told): an account being deleted or erased keeps no call.
 * Answers how many it ended.
 */
export async function endLiveSessions(env: Env, db: Db, userId: string): Promise<number> {
  const live = await db
    .select({ id: coachingSessions.id })
    .from(coachingSessions)
    .where(and(eq(coachingSessions.clientId, userId), inArray(coachingSessions.status, ['WAITING', 'ACTIVE'])))
    .all();
  let ended = 0;
  for (const { id } of live) {
    const room = sessionRoom(env, id);
    if (!(await room.getState())) continue;
    await room.end('client');
    ended++;
  }
  return ended;
}

/**
 * Of `emails`, those an erasure suppressed (the Skool sync makes no account for them). Hashes under the
 * previous key too, during a rotation; after one, rows hashed under a retired key no longer match.
 */
export async function suppressedEmails(env: Env, db: Db, emails: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (emails.length === 0 || !(await db.select({ h: erasureSuppressions.emailHash }).from(erasureSuppressions).limit(1).get())) return found;
  const byHash = new Map<string, string>();
  for (const e of emails) for (const h of await keyedHashes(env, 'erased-email', normalizeEmail(e))) byHash.set(h, e);
  for (const part of chunked([...byHash.keys()], 90)) {
    const rows = await db.select({ h: erasureSuppressions.emailHash }).from(erasureSuppressions).where(inArray(erasureSuppressions.emailHash, part)).all();
    for (const r of rows) found.add(byHash.get(r.h)!);
  }
  return found;
}

/** The accounts whose deletion was asked for at least DELETION_GRACE_MS before `now`, with or without the role check. */
const pastGrace = (now: Date) => and(isNotNull(users.deletionRequestedAt), lte(users.deletionRequestedAt, new Date(now.getTime() - DELETION_GRACE_MS)));

/**
 * The client accounts whose deletion was asked for at least DELETION_GRACE_MS before `now`. Only clients:
 * a coach's or admin's rows belong to their clients too (sessions, appointments), as the admin erasure says.
 */
export const dueForErasure = (now: Date) => and(pastGrace(now), eq(users.role, 'CLIENT'));

/**
 * The cron: carries on the erasures an admin started (`pending_erasures`), then erases every account whose
 * grace period has passed by `now` (the cron's scheduled time), at most `objectsPerRun` session objects
 * in all; an account left unfinished, or one that fails (logged), is carried on at the next cron.
 */
export async function runDueErasures(
  env: Env,
  db: Db,
  now: Date,
  objectsPerRun = ERASURE_OBJECTS_PER_RUN,
): Promise<{ erased: number; failed: number; unfinished: number }> {
  const due = await db
    .select({ id: users.id, pending: pendingErasures })
    .from(users)
    .leftJoin(pendingErasures, eq(pendingErasures.userId, users.id))
    .where(and(eq(users.role, 'CLIENT'), or(isNotNull(pendingErasures.userId), pastGrace(now))))
    .orderBy(sql`${pendingErasures.startedAt} IS NULL`, users.deletionRequestedAt)
    .all();
  // A client promoted to staff during the grace period: left pending (not cancelled, since the person asked
  // for it; not erased, since that would cascade into their clients' data) until an admin makes them a client
  // again or cancels it. Logged each run so it is not forgotten.
  const staff = await db
    .select({ id: users.id })
    .from(users)
    .where(and(pastGrace(now), ne(users.role, 'CLIENT')))
    .all();
  for (const { id } of staff) log('warn', 'deletion pending for a staff account: not erased; an admin decides', { userId: id });
  const cutoff = now.getTime() - DELETION_GRACE_MS;
  let erased = 0;
  let failed = 0;
  let unfinished = 0;
  let budget = objectsPerRun;
  for (const { id, pending } of due) {
    // Each session object is a subrequest: the rest waits for the next cron rather than pass the Worker's limit.
    if (budget <= 0) {
      unfinished++;
      continue;
    }
    const isClient = sql`(SELECT role FROM users WHERE id = ${id}) = 'CLIENT'`;
    const [by, stillDue] = pending
      ? [
          { actorId: pending.actorId, reason: pending.reason, requestId: pending.requestId },
          sql`EXISTS (SELECT 1 FROM pending_erasures WHERE user_id = ${id}) AND ${isClient}`,
        ]
      : [
          { actorId: null, reason: 'The client asked to delete the account; the grace period ended' },
          sql`(SELECT deletion_requested_at FROM users WHERE id = ${id}) <= ${cutoff} AND ${isClient}`,
        ];
    try {
      const progress = await eraseAccount(env, db, id, by, now, stillDue, budget);
      if (progress) budget -= progress.wiped;
      if (progress?.done) erased++;
      else if (progress) unfinished++;
    } catch (err) {
      failed++;
      log('error', 'account erasure failed; the next cron tries again', { userId: id, ...describeError(err) });
    }
  }
  if (due.length > 0) log('info', 'erasure run', { due: due.length, erased, failed, unfinished, asOf: now.toISOString() });
  return { erased, failed, unfinished };
}
