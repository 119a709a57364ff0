import { runDurableObjectAlarm, runInDurableObject, env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PASSWORD, body, createUser, post } from '../test/helpers';
import { loginLimits } from './rate-limiter';

afterEach(() => {
  vi.useRealTimers();
});

const attempt = (email: string, ip: string, password = 'wrong password') =>
  post('/api/auth/login', { email, password }, { 'CF-Connecting-IP': ip });

describe('login rate limits', () => {
  it('allows 10 attempts per account in 15 minutes, then 429 with Retry-After, then resets', async () => {
    const user = await createUser();
    const t0 = new Date('2027-02-01T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    for (let i = 0; i < 10; i++) {
      // Each from its own IP: the account limit alone is at work.
      expect((await attempt(user.email, `198.51.100.${i}`)).status).toBe(401);
    }
    vi.setSystemTime(t0.getTime() + 60_000);
    const limited = await attempt(user.email, '198.51.100.200', PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe(String(14 * 60));
    expect(await body(limited)).toMatchObject({ success: false, error: { code: 'RATE_LIMITED' } });

    // Even the right password is refused while limited; after the window it works again.
    vi.setSystemTime(t0.getTime() + 15 * 60 * 1000 + 1);
    expect((await attempt(user.email, '198.51.100.201', PASSWORD)).status).toBe(200);
  });

  it('allows 20 attempts per IP in 15 minutes across accounts, then 429', async () => {
    const ip = '192.0.2.55';
    const t0 = new Date('2027-02-02T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    for (let i = 0; i < 20; i++) {
      expect((await attempt(`ip-probe-${i}@example.com`, ip)).status).toBe(401);
    }
    const user = await createUser();
    const limited = await attempt(user.email, ip, PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBe(15 * 60);
    // Another IP is not affected.
    expect((await attempt(user.email, '192.0.2.56', PASSWORD)).status).toBe(200);
    vi.setSystemTime(t0.getTime() + 15 * 60 * 1000 + 1);
    expect((await attempt(user.email, ip, PASSWORD)).status).toBe(200);
  });

  it('counts attempts case-insensitively per account', async () => {
    const user = await createUser();
    for (let i = 0; i < 10; i++) {
      await attempt(i % 2 ? user.email.toUpperCase() : user.email, `203.0.113.${i}`);
    }
    expect((await attempt(user.email, '203.0.113.99', PASSWORD)).status).toBe(429);
  });
});

describe('loginLimits', () => {
  it('keeps the real limits unless a whole-number override is set', () => {
    const base = { ...env } as unknown as Env;
    expect(loginLimits(base)).toEqual({ windowMs: 15 * 60 * 1000, perAccount: 10, perIp: 20 });
    const raised = { ...base, LOGIN_LIMIT_PER_IP: '5000', LOGIN_LIMIT_PER_ACCOUNT: '300' } as unknown as Env;
    expect(loginLimits(raised)).toMatchObject({ perIp: 5000, perAccount: 300 });
    for (const junk of ['', '0', '-3', '2.5', 'lots', '1000000']) {
      expect(loginLimits({ ...base, LOGIN_LIMIT_PER_IP: junk } as unknown as Env).perIp, junk).toBe(20);
    }
  });
});

describe('RateLimiter object', () => {
  it('keeps counting after eviction: the attempts live in storage', async () => {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('test:evict'));
    for (let i = 0; i < 3; i++) await stub.hit(3, 60_000);
    // A fresh instance over the same storage (as after eviction) still refuses.
    const refused = await runInDurableObject(stub, async (_instance, state) => {
      const { RateLimiter } = await import('./rate-limiter');
      return new RateLimiter(state, env).hit(3, 60_000);
    });
    expect(refused.allowed).toBe(false);
  });

  it('forgets a key once its window has passed (alarm)', async () => {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('test:alarm'));
    // Alarms run on the real clock: keep the fake clock ahead of it so nothing fires by itself.
    const t0 = new Date('2027-02-03T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    await stub.hit(5, 60_000);
    vi.setSystemTime(t0.getTime() + 61_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const keys = await runInDurableObject(stub, async (_i, state) => [...(await state.storage.list()).keys()]);
    expect(keys).toEqual([]);
  });
});
