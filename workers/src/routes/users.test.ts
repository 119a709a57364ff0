import { SELF } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API, bearer, body, createUser, get, signIn, testDb } from '../../test/helpers';
import { profiles, users } from '../db/schema';

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
      isAvailable: false,
      emailReminders: true,
      timeZone: 'UTC',
      timeZoneConfirmed: false,
      passwordChangedAt: null,
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

interface Profile {
  coachingGoals: string | null;
  symptoms: string | null;
  initialMood: number | null;
  favouriteTrackUrl: string | null;
  onboardingCompleted: boolean;
  onboardingCompletedAt: string | null;
}

const patch = (token: string | null, payload: unknown) =>
  SELF.fetch(`${API}/api/users/me/profile`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', ...(token ? bearer(token) : {}) },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('/api/users/me/profile', () => {
  it('is empty before onboarding, completes it once when goals and mood are given, and keeps that moment', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    const empty = await body<Profile>(await get('/api/users/me/profile', bearer(token)));
    expect(empty.data).toEqual({
      coachingGoals: null,
      symptoms: null,
      initialMood: null,
      favouriteTrackUrl: null,
      onboardingCompleted: false,
      onboardingCompletedAt: null,
    });

    const partial = await patch(token, { coachingGoals: '  Sleep through the night ' });
    expect(partial.status).toBe(200);
    expect((await body<Profile>(partial)).data).toMatchObject({ coachingGoals: 'Sleep through the night', onboardingCompleted: false });

    const first = (await body<Profile>(await patch(token, { symptoms: 'Racing heart', initialMood: 2 }))).data;
    expect(first).toMatchObject({ coachingGoals: 'Sleep through the night', symptoms: 'Racing heart', initialMood: 2, onboardingCompleted: true });
    expect(first.onboardingCompletedAt).not.toBeNull();

    await new Promise((r) => setTimeout(r, 5));
    const later = (await body<Profile>(await patch(token, { initialMood: 4, favouriteTrackUrl: 'https://music.example.com/calm.mp3' }))).data;
    expect(later).toMatchObject({ initialMood: 4, favouriteTrackUrl: 'https://music.example.com/calm.mp3', onboardingCompleted: true });
    expect(later.onboardingCompletedAt).toBe(first.onboardingCompletedAt);

    // Clearing the goals later does not undo onboarding; a null track means the bundled one.
    const cleared = (await body<Profile>(await patch(token, { coachingGoals: '', favouriteTrackUrl: null }))).data;
    expect(cleared).toMatchObject({
      coachingGoals: null,
      favouriteTrackUrl: null,
      onboardingCompleted: true,
      onboardingCompletedAt: first.onboardingCompletedAt,
    });
    expect((await body<Profile>(await get('/api/users/me/profile', bearer(token)))).data).toEqual(cleared);
  });

  it('refuses bad input with 400 naming the fields, and writes nothing', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    const cases: [unknown, string[]][] = [
      [{}, ['body']],
      [{ initialMood: 0 }, ['initialMood']],
      [{ initialMood: 6 }, ['initialMood']],
      [{ initialMood: 2.5, coachingGoals: 7 }, ['coachingGoals', 'initialMood']],
      [{ favouriteTrackUrl: 'javascript:alert(1)' }, ['favouriteTrackUrl']],
      [{ favouriteTrackUrl: 'not a url' }, ['favouriteTrackUrl']],
      [{ symptoms: 'x'.repeat(2001) }, ['symptoms']],
      [{ coachingGoals: 'ok', role: 'ADMIN' }, ['body']],
    ];
    for (const [input, fields] of cases) {
      const res = await patch(token, input);
      expect(res.status, JSON.stringify(input)).toBe(400);
      const err = (await body(res)).error;
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(err.fields ?? {}).sort(), JSON.stringify(input)).toEqual(fields);
    }
    expect((await patch(token, '{oops')).status).toBe(400);
    expect(await testDb().select().from(profiles).where(eq(profiles.userId, user.id)).all()).toEqual([]);
  });

  it('asks who is asking, and each user sees only their own', async () => {
    expect((await get('/api/users/me/profile')).status).toBe(401);
    expect((await patch(null, { initialMood: 3 })).status).toBe(401);
    const a = await createUser();
    const b = await createUser();
    await patch(await signIn(a.email), { coachingGoals: 'A’s goal', initialMood: 3 });
    const seen = (await body<Profile>(await get('/api/users/me/profile', bearer(await signIn(b.email))))).data;
    expect(seen.coachingGoals).toBeNull();
  });
});
