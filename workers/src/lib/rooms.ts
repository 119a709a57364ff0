import { nextMonthStart, TIERS } from '@hybrid-coach/shared/tiers';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import type { CoachingSession } from '../db/schema';
import { coachingSessions, users } from '../db/schema';
import { AppError } from './errors';

/** The session's Durable Object. */
export const sessionRoom = (env: Env, sessionId: string) => env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(sessionId));

export async function loadSession(db: Db, sessionId: string): Promise<CoachingSession> {
  const row = await db.select().from(coachingSessions).where(eq(coachingSessions.id, sessionId)).get();
  if (!row) throw new AppError('NOT_FOUND', 'No such session');
  return row;
}

export const isCoachLike = (user: AuthUser) => user.role === 'COACH' || user.role === 'ADMIN';

/** The session's own client, or the coach who joined it. Others get 403. */
export function assertMember(user: AuthUser, session: CoachingSession): 'client' | 'coach' {
  if (user.id === session.clientId) return 'client';
  if (isCoachLike(user) && session.coachId === user.id) return 'coach';
  throw new AppError('FORBIDDEN', 'You are not part of this session');
}

/**
 * Claims one of the month's sessions in a single conditional UPDATE, so two concurrent starts by a
 * FREE client cannot both pass. Answers false when the month's sessions are used up.
 */
export async function claimMonthlySession(db: Db, userId: string, now: Date): Promise<boolean> {
  const user = await db.select({ tier: users.membershipTier }).from(users).where(eq(users.id, userId)).get();
  if (!user) return false;
  const limit = TIERS[user.tier].limits.sessionsPerMonth;
  const current = sql`(${users.usageResetsAt} IS NOT NULL AND ${users.usageResetsAt} > ${now.getTime()})`;
  const used = sql`(CASE WHEN ${current} THEN ${users.monthlySessionsUsed} ELSE 0 END)`;
  const claimed = await db
    .update(users)
    .set({
      monthlySessionsUsed: sql`${used} + 1`,
      monthlyMinutesUsed: sql`CASE WHEN ${current} THEN ${users.monthlyMinutesUsed} ELSE 0 END`,
      usageResetsAt: nextMonthStart(now),
    })
    .where(and(eq(users.id, userId), isNull(users.deletedAt), limit === null ? sql`1 = 1` : sql`${used} < ${limit}`))
    .returning({ id: users.id })
    .get();
  return claimed !== undefined;
}

/** Gives a claimed session back (the room could not be created). */
export async function releaseMonthlySession(db: Db, userId: string): Promise<void> {
  await db
    .update(users)
    .set({ monthlySessionsUsed: sql`MAX(0, ${users.monthlySessionsUsed} - 1)` })
    .where(eq(users.id, userId));
}
