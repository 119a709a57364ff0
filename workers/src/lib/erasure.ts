/**
 * Erasing a client's account (issue 17): what "Delete my account" leads to once the grace period has
 * passed (the hourly cron, `runDueErasures`), and what an admin's "Erase" on People does at once. One run
 * per account, auditable: every session Durable Object's stored state first (idempotent: a failed run is
 * simply run again by the next cron), then ONE D1 batch that writes the audit row (with what it is about
 * to delete, counted inside the batch) and deletes every row about the person, or nothing at all.
 *
 * What stays, and why, is listed in docs/operations.md ("Account erasure"): the audit log (ids only; the
 * free-text reasons of rows about the person are emptied here), `erased_sessions` (billing counts
 * and the ids that let routes/webhooks.ts drop the agent-host's late deliveries), and `erasure_suppressions`
 * (keyed hashes of the addresses, so the Skool sync does not make the person a new account).
 */
import { DELETION_GRACE_MS } from '@hybrid-coach/shared/data-export';
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, inArray, isNotNull, lte, ne, or, sql } from 'drizzle-orm';
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
  profiles,
  sessionRatings,
  sessionTurnTimings,
  skoolSyncMembers,
  staffMfa,
  users,
} from '../db/schema';
import { normalizeEmail } from './crypto';
import { keyedHashes } from './encryption';
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
 * Session objects one cron run erases at most before it leaves the remaining accounts to the next run
 * (each is a subrequest, and a Worker invocation has 1,000).
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
    db.delete(users).where(eq(users.id, u)),
  ];
}

/** Refused because the guard no longer held (the deletion was cancelled meanwhile). */
const isGuardRefusal = (err: unknown): boolean => {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message.includes('NOT NULL constraint failed: users.email')) return true;
  return false;
};

/**
 * Erases one client account: each session object's storage, then every row about them in one batch.
 * Answers what was deleted, or null when there was nothing to erase (unknown or already erased; or, with
 * `guard`, a deletion cancelled meanwhile).
 */
export async function eraseAccount(env: Env, db: Db, userId: string, by: ErasureBy, now = new Date(), guard?: ReturnType<typeof sql>) {
  const user = await db
    .select({ id: users.id, email: users.email, skoolUltraEmail: users.skoolUltraEmail, skoolVagusEmail: users.skoolVagusEmail })
    .from(users)
    // The guard checked here too, so a deletion cancelled before the run starts keeps even its objects.
    .where(guard ? and(eq(users.id, userId), guard) : eq(users.id, userId))
    .get();
  if (!user) return null;
  // A call still open is ended as any other (minutes charged, the room deleted) before its rows go.
  await endLiveSessions(env, db, userId);
  const sessionIds = (await db.select({ id: coachingSessions.id }).from(coachingSessions).where(eq(coachingSessions.clientId, userId)).all()).map((s) => s.id);
  // The objects first: if one fails, nothing in D1 has gone yet and the next run finds the same sessions.
  for (const id of sessionIds) await sessionRoom(env, id).erase();
  const emails = [user.email, user.skoolUltraEmail, user.skoolVagusEmail].filter((e): e is string => e !== null);
  const emailHashes = await Promise.all(emails.map(async (e) => (await keyedHashes(env, 'erased-email', normalizeEmail(e)))[0]!));
  const [first, ...rest] = erasureWrites(db, user, by, now, emailHashes, guard);
  try {
    await db.batch([first!, ...rest]);
  } catch (err) {
    if (guard && isGuardRefusal(err)) return null;
    throw err;
  }
  const row = await db
    .select({ after: auditLog.after })
    .from(auditLog)
    .where(and(eq(auditLog.action, 'user.erase'), eq(auditLog.targetId, userId)))
    .get();
  const counts = { ...(row?.after as ErasureCounts | undefined), sessionObjects: sessionIds.length };
  log('info', 'account erased', { userId, requestId: by.requestId ?? undefined, by: by.actorId ? 'admin' : 'grace-period', ...counts });
  return counts;
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
 * The cron: erases every account whose grace period has passed by `now` (the cron's scheduled time), one
 * run each; one that fails is logged and tried again at the next cron.
 */
export async function runDueErasures(env: Env, db: Db, now: Date): Promise<{ erased: number; failed: number }> {
  const due = await db.select({ id: users.id }).from(users).where(dueForErasure(now)).all();
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
  let objects = 0;
  for (const { id } of due) {
    // Each session object is a subrequest: the rest waits for the next cron rather than pass the Worker's limit.
    if (objects >= ERASURE_OBJECTS_PER_RUN) break;
    const stillDue = sql`(SELECT deletion_requested_at FROM users WHERE id = ${id}) <= ${cutoff} AND (SELECT role FROM users WHERE id = ${id}) = 'CLIENT'`;
    try {
      const counts = await eraseAccount(
        env,
        db,
        id,
        { actorId: null, reason: 'The client asked to delete the account; the grace period ended' },
        now,
        stillDue,
      );
      if (counts) {
        erased++;
        objects += counts.sessionObjects;
      }
    } catch (err) {
      failed++;
      log('error', 'account erasure failed; the next cron tries again', { userId: id, ...describeError(err) });
    }
  }
  if (due.length > 0) log('info', 'erasure run', { due: due.length, erased, failed, asOf: now.toISOString() });
  return { erased, failed };
}
