import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearer, body, createUser, get, signIn, testDb } from '../../test/helpers';
import { users } from '../db/schema';

afterEach(() => {
  vi.useRealTimers();
});

interface Me {
  id: string;
  email: string;
  displayName: string;
  role: string;
  tier: string;
  limits: Record<string, unknown>;
  usage: { sessionsThisMonth: number; minutesThisMonth: number; remainingMinutes: number | null; resetsAt: string };
}

describe('GET /api/users/me', () => {
  it('describes a FREE client: limits, usage, remaining minutes and the reset date', async () => {
    const t0 = new Date('2027-06-14T09:30:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const user = await createUser({ tier: 'FREE', displayName: 'Fran Free' });
    await testDb()
      .update(users)
      .set({ monthlySessionsUsed: 1, monthlyMinutesUsed: 12, usageResetsAt: new Date('2027-07-01T00:00:00Z') })
      .where(eq(users.id, user.id));
    const res = await get('/api/users/me', bearer(await signIn(user.email)));
    expect(res.status).toBe(200);
    const { data } = await body<Me>(res);
    expect(data).toEqual({
      id: user.id,
      email: user.email,
      displayName: 'Fran Free',
      role: 'CLIENT',
      tier: 'FREE',
      limits: { sessionsPerMonth: 1, minutesPerMonth: 20, humanCoachAccess: false, aiReportsEnabled: false, prioritySupport: false },
      usage: { sessionsThisMonth: 1, minutesThisMonth: 12, remainingMinutes: 8, resetsAt: '2027-07-01T00:00:00.000Z' },
    });
  });

  it('shows last month’s usage as zero once the month has rolled over', async () => {
    const user = await createUser({ tier: 'FREE' });
    await testDb()
      .update(users)
      .set({ monthlySessionsUsed: 1, monthlyMinutesUsed: 20, usageResetsAt: new Date('2027-07-01T00:00:00Z') })
      .where(eq(users.id, user.id));
    vi.useFakeTimers({ now: new Date('2027-06-30T23:59:59.999Z'), toFake: ['Date'] });
    const token = await signIn(user.email);
    expect((await body<Me>(await get('/api/users/me', bearer(token)))).data.usage.remainingMinutes).toBe(0);
    vi.setSystemTime(new Date('2027-07-01T00:00:00.000Z'));
    const { data } = await body<Me>(await get('/api/users/me', bearer(token)));
    expect(data.usage).toEqual({ sessionsThisMonth: 0, minutesThisMonth: 0, remainingMinutes: 20, resetsAt: '2027-08-01T00:00:00.000Z' });
  });

  it('reads tier and role from D1 at each call, not from the token', async () => {
    const user = await createUser({ tier: 'FREE' });
    const token = await signIn(user.email);
    await testDb().update(users).set({ membershipTier: 'PREMIUM', role: 'COACH' }).where(eq(users.id, user.id));
    const { data } = await body<Me>(await get('/api/users/me', bearer(token)));
    expect(data.tier).toBe('PREMIUM');
    expect(data.role).toBe('COACH');
    expect(data.usage.remainingMinutes).toBeNull();
    expect(data.limits).toMatchObject({ humanCoachAccess: true, sessionsPerMonth: null });
  });

  it('refuses a user deleted after signing in', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    await testDb().update(users).set({ deletedAt: new Date() }).where(eq(users.id, user.id));
    expect((await get('/api/users/me', bearer(token))).status).toBe(401);
  });

  it('asks who is asking: no token, 401 in the one shape', async () => {
    const res = await get('/api/users/me');
    expect(res.status).toBe(401);
    expect(await body(res)).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'Sign in to continue' } });
  });
});
