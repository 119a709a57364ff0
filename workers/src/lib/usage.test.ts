import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createUser, testDb } from '../../test/helpers';
import { users } from '../db/schema';
import { AppError, errorBody } from './errors';
import { assertCanStartSession } from './usage';

async function clientWith(tier: MembershipTier, sessions: number, minutes: number, resetsAt: string | null) {
  const user = await createUser({ tier });
  await testDb()
    .update(users)
    .set({ monthlySessionsUsed: sessions, monthlyMinutesUsed: minutes, usageResetsAt: resetsAt ? new Date(resetsAt) : null })
    .where(eq(users.id, user.id));
  return user;
}

const mid = new Date('2026-10-15T12:00:00Z');

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('the session was allowed');
}

describe('the tier check before a new session', () => {
  it('lets a FREE client with nothing used this month start one session of at most 20 minutes', async () => {
    const user = await clientWith('FREE', 0, 0, null);
    expect(await assertCanStartSession(testDb(), user.id, mid)).toMatchObject({ tier: 'FREE', capMinutes: 20 });
  });

  it('caps a FREE session at the minutes left this month', async () => {
    const user = await clientWith('FREE', 0, 15, '2026-11-01T00:00:00Z');
    expect((await assertCanStartSession(testDb(), user.id, mid)).capMinutes).toBe(5);
  });

  it('refuses a FREE client who has had this month’s session: 403 TIER_LIMIT_REACHED with the upgrade path', async () => {
    const user = await clientWith('FREE', 1, 7, '2026-11-01T00:00:00Z');
    const err = await refusal(assertCanStartSession(testDb(), user.id, mid));
    expect(err.status).toBe(403);
    expect(errorBody(err)).toEqual({
      success: false,
      error: {
        code: 'TIER_LIMIT_REACHED',
        message: expect.stringContaining('2026-11-01'),
        details: { tier: 'FREE', upgradeUrl: '/pricing', resetsAt: '2026-11-01T00:00:00.000Z' },
      },
    });
  });

  it('refuses a FREE client whose 20 minutes are spent', async () => {
    const user = await clientWith('FREE', 0, 20, '2026-11-01T00:00:00Z');
    expect((await refusal(assertCanStartSession(testDb(), user.id, mid))).code).toBe('TIER_LIMIT_REACHED');
  });

  it('resets at the first instant of the calendar month in UTC', async () => {
    const user = await clientWith('FREE', 1, 20, '2026-11-01T00:00:00Z');
    await refusal(assertCanStartSession(testDb(), user.id, new Date('2026-10-31T23:59:59.999Z')));
    const allowed = await assertCanStartSession(testDb(), user.id, new Date('2026-11-01T00:00:00.000Z'));
    expect(allowed.capMinutes).toBe(20);
    expect(allowed.usage.resetsAt.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('lets paid tiers start sessions without limit', async () => {
    for (const tier of ['VAGUS_MEMBER', 'PREMIUM'] as const) {
      const user = await clientWith(tier, 250, 9000, '2026-11-01T00:00:00Z');
      expect(await assertCanStartSession(testDb(), user.id, mid)).toMatchObject({ tier, capMinutes: null });
    }
  });

  it('reads the tier from D1: a downgrade applies at once', async () => {
    const user = await clientWith('VAGUS_MEMBER', 3, 60, '2026-11-01T00:00:00Z');
    await assertCanStartSession(testDb(), user.id, mid);
    await testDb().update(users).set({ membershipTier: 'FREE' }).where(eq(users.id, user.id));
    expect((await refusal(assertCanStartSession(testDb(), user.id, mid))).code).toBe('TIER_LIMIT_REACHED');
  });
});
