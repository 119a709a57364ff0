/**
 * One live session per client. The database holds the rule (a partial unique index over WAITING and
 * ACTIVE sessions, so two starts at the same moment cannot both create one); this module answers the
 * start that finds one with 409 and the session to rejoin, after making sure that session is truly
 * live: a session whose room died must not block its client for ever.
 */

import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { CoachingSession } from '../db/schema';
import { coachingSessions } from '../db/schema';
import { AppError } from './errors';
import { roomService } from './livekit';
import { sessionRoom } from './rooms';

export const LIVE_STATUSES = ['WAITING', 'ACTIVE'] as const;

/**
 * How long a new session may stand before its object and room are set up: a start that finds a
 * younger one trusts it (the start that made it may still be creating its room).
 */
export const SETTING_UP_MS = 60_000;

const liveOf = (db: Db, clientId: string) =>
  db
    .select()
    .from(coachingSessions)
    .where(and(eq(coachingSessions.clientId, clientId), inArray(coachingSessions.status, [...LIVE_STATUSES])))
    .get();

/**
 * Ends a live session in D1 whose room is gone, and answers whether it did. The session object ends
 * an empty room after 3 minutes and writes COMPLETED to D1 (retried until it lands); that leaves
 * three holes, closed here: the object has ended it but its D1 write is still queued; the object was
 * never set up (a start failed half way, so nothing will ever end it); or LiveKit lost the room
 * without a webhook while the object still counts a human in it.
 */
async function endIfDead(env: Env, db: Db, s: CoachingSession, now: number): Promise<boolean> {
  const stillLive = and(eq(coachingSessions.id, s.id), inArray(coachingSessions.status, [...LIVE_STATUSES]));
  const room = sessionRoom(env, s.id);
  const state = await room.getState();
  if (state?.status === 'COMPLETED') {
    // The object's own write (duration, usage) follows; it does not depend on the status.
    await db.update(coachingSessions).set({ status: 'COMPLETED' }).where(stillLive);
    return true;
  }
  if (now - s.createdAt.getTime() < SETTING_UP_MS) return false;
  if (!state) {
    await db
      .update(coachingSessions)
      .set({ status: 'CANCELLED', endedAt: new Date(now) })
      .where(stillLive);
    log('warn', 'live session without a room object cancelled', { sessionId: s.id, userId: s.clientId });
    return true;
  }
  try {
    if ((await roomService(env).listRooms([s.roomName])).length > 0) return false;
  } catch (err) {
    // LiveKit not answering proves nothing: the session stays the live one.
    log('warn', 'could not check a live session’s room', { sessionId: s.id, ...describeError(err) });
    return false;
  }
  // Recorded as LiveKit's room_finished webhook would have: end, duration and usage, once.
  await room.end('room_finished');
  log('warn', 'live session whose room was gone ended', { sessionId: s.id, userId: s.clientId });
  const after = await db.select({ status: coachingSessions.status }).from(coachingSessions).where(eq(coachingSessions.id, s.id)).get();
  return !after || !(LIVE_STATUSES as readonly string[]).includes(after.status);
}

/**
 * Throws 409 CONFLICT with `details.sessionId` (and `details.appointmentId`) when the client has a
 * live session: the portal rejoins it through POST /api/rooms/:id/join. A dead one is ended first.
 */
export async function assertNoLiveSession(env: Env, db: Db, clientId: string): Promise<void> {
  const live = await liveOf(db, clientId);
  if (!live || (await endIfDead(env, db, live, Date.now()))) return;
  throw new AppError('CONFLICT', 'You already have a session under way. Return to it, or end it before starting another.', {
    details: { sessionId: live.id, appointmentId: live.appointmentId },
  });
}
