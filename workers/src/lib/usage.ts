import type { MembershipTier, MonthlyUsage } from '@hybrid-coach/shared/tiers';
import { monthlyUsage, sessionAllowance, TIERS, UPGRADE_URL } from '@hybrid-coach/shared/tiers';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { AppError } from './errors';

/** A live (not deleted) account, or 404. */
export async function loadUser(db: Db, userId: string) {
  const user = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .get();
  if (!user) throw new AppError('NOT_FOUND', 'User not found');
  return user;
}

/** A user's tier and this month's usage, read from D1 now. */
export async function usageOf(db: Db, userId: string, now = new Date()) {
  const user = await loadUser(db, userId);
  return { user, tier: user.membershipTier, usage: monthlyUsage(user.membershipTier, user, now) };
}

/**
 * The tier check before a new session: reads tier and counters from D1 (never from the client or
 * the token) and throws 403 TIER_LIMIT_REACHED when the month is used up. Answers the session cap.
 */
export async function assertCanStartSession(
  db: Db,
  userId: string,
  now = new Date(),
): Promise<{ tier: MembershipTier; capMinutes: number | null; usage: MonthlyUsage }> {
  const user = await loadUser(db, userId);
  const allowance = sessionAllowance(user.membershipTier, user, now);
  if (!allowance.allowed) {
    const what = allowance.reason === 'SESSIONS_EXHAUSTED' ? 'sessions' : 'minutes';
    throw new AppError(
      'TIER_LIMIT_REACHED',
      `You have used this month's ${what} on the ${TIERS[user.membershipTier].name} plan. Upgrade for unlimited sessions, or wait until ${allowance.usage.resetsAt.toISOString().slice(0, 10)}.`,
      { details: { tier: user.membershipTier, upgradeUrl: UPGRADE_URL, resetsAt: allowance.usage.resetsAt.toISOString() } },
    );
  }
  return { tier: user.membershipTier, capMinutes: allowance.capMinutes, usage: allowance.usage };
}
