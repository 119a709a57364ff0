/**
 * Crisis flags in D1 and on the staff desk (issue 16): who belongs to a flagged client's circle (may read
 * the transcript), the writes that raise a flag, and the live alert to the signed-in coaches.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import type { FlagEvent } from '@hybrid-coach/shared/staff-events';
import { and, eq, exists, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { appointments, auditLog, coachingSessions, crisisFlagEvents, crisisFlags, users } from '../db/schema';
import type { StaffSocketCloseReason } from '../staff-desk';

/**
 * What a flag's live alert, and a reader who may not read the transcript, are told of why it was raised:
 * the reason quotes the client, and only those who may read the transcript see it (issue 16).
 */
export const FLAG_ALERT_REASON = 'Crisis language detected';

/** The one staff desk (workers/src/staff-desk.ts). */
export const staffDesk = (env: Env) => env.STAFF_DESK.get(env.STAFF_DESK.idFromName('staff'));

const coachedSession = alias(coachingSessions, 'coached_session');
const coachedAppointment = alias(appointments, 'coached_appointment');

/** SQL: `coachId` has had a session or an appointment with the client in `clientId` (a column of the outer query). */
export const hasCoached = (db: Db, coachId: string, clientId: SQLiteColumn): SQL =>
  or(
    exists(
      db
        .select({ one: sql`1` })
        .from(coachedSession)
        .where(and(eq(coachedSession.clientId, clientId), eq(coachedSession.coachId, coachId))),
    ),
    exists(
      db
        .select({ one: sql`1` })
        .from(coachedAppointment)
        .where(and(eq(coachedAppointment.clientId, clientId), eq(coachedAppointment.coachId, coachId))),
    ),
  ) as SQL;

/**
 * SQL over `coaching_sessions`: a flagged session whose transcript `user` may read besides their own
 * sessions: the flag's owner, and coaches who have had a session or appointment with its client
 * (admins read every session; that is not decided here).
 */
export const inFlagCircle = (db: Db, user: AuthUser): SQL =>
  exists(
    db
      .select({ one: sql`1` })
      .from(crisisFlags)
      .where(and(eq(crisisFlags.sessionId, coachingSessions.id), or(eq(crisisFlags.ownerId, user.id), hasCoached(db, user.id, coachingSessions.clientId)))),
  );

/**
 * The writes that raise the flag of `sessionId` (state OPEN, version 1, its `raise` event): for the batch
 * that sets `coaching_sessions.flagged_at`. A flag is raised once per session: a second time is a no-op.
 */
export function flagRaiseWrites(db: Db, sessionId: string, raised: { at: Date; reason: string }) {
  return [
    db
      .insert(crisisFlags)
      .values({ sessionId, state: 'OPEN', raisedAt: raised.at, reason: raised.reason, version: 1, updatedAt: raised.at })
      .onConflictDoNothing(),
    db
      .insert(crisisFlagEvents)
      .values({ sessionId, seq: 1, at: raised.at, actorId: null, action: 'raise', fromState: null, toState: 'OPEN' })
      .onConflictDoNothing(),
  ] as const;
}

/**
 * Pushes a flag's change to every signed-in coach portal. The change is stored and (for a raise) emailed
 * already: a desk that cannot be reached costs the live alert only, so this logs and carries on.
 */
export async function alertStaff(env: Env, event: FlagEvent, requestId: string): Promise<void> {
  try {
    const reached = await staffDesk(env).publish(event);
    log('info', 'flag change pushed to the staff desk', { requestId, sessionId: event.sessionId, action: event.action, reached });
  } catch (err) {
    log('error', 'flag change not pushed to the staff desk', { requestId, sessionId: event.sessionId, action: event.action, ...describeError(err) });
  }
}

/**
 * Closes the staff sockets of `userId` at once (their account was just disabled, signed out everywhere or
 * made a client). The change is stored already and their tokens revoked: a desk that cannot be reached
 * leaves the socket open until the portal next reconnects, so this logs and carries on.
 */
export async function closeStaffSockets(env: Env, userId: string, requestId: string, reason?: StaffSocketCloseReason): Promise<void> {
  try {
    const closed = await staffDesk(env).closeSocketsOf(userId, reason);
    log('info', 'staff sockets closed', { requestId, userId, closed, reason: reason ?? 'account disabled' });
  } catch (err) {
    log('error', 'staff sockets not closed', { requestId, userId, ...describeError(err) });
  }
}

const heldBy = (ownerId: string) => and(eq(crisisFlags.ownerId, ownerId), eq(crisisFlags.state, 'ACKNOWLEDGED'));

/** The sessions whose flags `ownerId` has acknowledged and not resolved: read before `flagReleaseWrites`, for `alertReleased`. */
export const heldFlags = async (db: Db, ownerId: string): Promise<string[]> =>
  (await db.select({ sessionId: crisisFlags.sessionId }).from(crisisFlags).where(heldBy(ownerId)).all()).map((r) => r.sessionId);

/**
 * The writes that put every flag `ownerId` acknowledged back to OPEN, owned by no one (their account is
 * being disabled or made a client, and no other coach could act on a flag they own): per flag a version
 * bump, a `reopen` event and an audit row, each with the actor and why. For the batch of that change,
 * which decides which flags (the events and audit rows are written before the flags change).
 */
export function flagReleaseWrites(db: Db, ownerId: string, by: { actorId: string; note: string; requestId: string; at: Date }) {
  const at = by.at.getTime();
  const held = sql`FROM crisis_flags WHERE owner_id = ${ownerId} AND state = 'ACKNOWLEDGED'`;
  return [
    // drizzle inserts a SELECT into every column in the schema's order.
    db
      .insert(crisisFlagEvents)
      .select(sql`SELECT lower(hex(randomblob(16))), session_id, version + 1, ${at}, ${by.actorId}, 'reopen', 'ACKNOWLEDGED', 'OPEN', ${by.note} ${held}`),
    db
      .insert(auditLog)
      .select(
        sql`SELECT lower(hex(randomblob(16))), ${at}, ${by.actorId}, 'flag.reopen', 'session', session_id, ${by.note}, json_object('state', 'ACKNOWLEDGED', 'ownerId', owner_id), json_object('state', 'OPEN', 'ownerId', NULL), ${by.requestId} ${held}`,
      ),
    db
      .update(crisisFlags)
      .set({ state: 'OPEN', ownerId: null, acknowledgedAt: null, version: sql`${crisisFlags.version} + 1`, updatedAt: by.at })
      .where(heldBy(ownerId)),
  ] as const;
}

/** Tells the signed-in coaches that the flags of `sessionIds` (released by `flagReleaseWrites`) are open again. */
export async function alertReleased(env: Env, db: Db, sessionIds: string[], actor: { id: string; name: string }, at: Date, requestId: string) {
  if (sessionIds.length === 0) return;
  const open = await db
    .select({ flag: crisisFlags, clientName: users.displayName })
    .from(crisisFlags)
    .innerJoin(coachingSessions, eq(coachingSessions.id, crisisFlags.sessionId))
    .leftJoin(users, eq(users.id, coachingSessions.clientId))
    .where(and(inArray(crisisFlags.sessionId, sessionIds), eq(crisisFlags.state, 'OPEN'), isNull(crisisFlags.ownerId)))
    .all();
  for (const { flag, clientName } of open) {
    await alertStaff(
      env,
      {
        type: 'flag',
        action: 'reopen',
        sessionId: flag.sessionId,
        clientName: clientName ?? '',
        reason: FLAG_ALERT_REASON,
        state: flag.state,
        raisedAt: flag.raisedAt.getTime(),
        owner: null,
        at: at.getTime(),
        actor,
      },
      requestId,
    );
  }
}
