/**
 * Crisis flags in D1 and on the staff desk (issue 16): who belongs to a flagged client's circle (may read
 * the transcript), the writes that raise a flag, and the live alert to the signed-in coaches.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import type { FlagEvent } from '@hybrid-coach/shared/staff-events';
import { and, eq, exists, or, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { appointments, coachingSessions, crisisFlagEvents, crisisFlags } from '../db/schema';
import type { StaffSocketCloseReason } from '../staff-desk';

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
