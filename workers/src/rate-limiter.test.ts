import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { body, createUser, PASSWORD, post } from '../test/helpers';
import { loginLimitKeys, loginLimits } from './rate-limiter';

afterEach(() => {
  vi.useRealTimers();
});

const attempt = (email: string, ip: string, password = 'wrong password') => post('/api/auth/login', { email, password }, { 'CF-Connecting-IP': ip });

describe('login rate limits', () => {
  it('refuses an 11th failure for one account from one IP, while the owner still signs in from another', async () => {
    const user = await createUser({ role: 'COACH' });
    const t0 = new Date('2027-02-01T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const attacker = '198.51.100.66';
    for (let i = 0; i < 10; i++) expect((await attempt(user.email, attacker)).status).toBe(401);
    vi.setSystemTime(t0.getTime() + 60_000);
    for (let i = 0; i < 3; i++) {
      const limited = await attempt(user.email, attacker, PASSWORD);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('Retry-After')).toBe(String(14 * 60));
      expect(await body(limited)).toMatchObject({ success: false, error: { code: 'RATE_LIMITED' } });
    }
    // The coach, from home, is not locked out by someone guessing elsewhere.
    expect((await attempt(user.email, '203.0.113.10', PASSWORD)).status).toBe(200);
    // After the window the attacker's network may try again.
    vi.setSystemTime(t0.getTime() + 15 * 60 * 1000 + 1);
    expect((await attempt(user.email, attacker, PASSWORD)).status).toBe(200);
  });

  it('counts only failures towards the per-account limits: signing in often never locks the owner', async () => {
    const user = await createUser();
    const ip = '198.51.100.77';
    for (let i = 0; i < 9; i++) expect((await attempt(user.email, ip)).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await attempt(user.email, ip, PASSWORD)).status).toBe(200);
    expect((await attempt(user.email, ip)).status).toBe(401);
    expect((await attempt(user.email, ip, PASSWORD)).status).toBe(429);
  });

  it('keeps a per-account ceiling of 100 failures across networks', async () => {
    const user = await createUser({ role: 'ADMIN' });
    const t0 = new Date('2027-02-04T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    // 90 failures from 90 networks already (recorded straight into the account's count: a password
    // check each would make this test slow), then 10 more through the API from 10 more networks.
    const account = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(loginLimitKeys.account(user.email)));
    for (let i = 0; i < 90; i++) expect((await account.hit(100, 15 * 60 * 1000)).allowed).toBe(true);
    for (let i = 0; i < 10; i++) expect((await attempt(user.email, `100.64.0.${i}`)).status).toBe(401);
    // Each network is far under its own limit, but the account has had 100 failures.
    const limited = await attempt(user.email, '100.64.9.9', PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('Retry-After'))).toBe(15 * 60);
    vi.setSystemTime(t0.getTime() + 15 * 60 * 1000 + 1);
    expect((await attempt(user.email, '100.64.9.9', PASSWORD)).status).toBe(200);
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

  it('counts IPv6 clients by their /64: two addresses in one /64 share the per-IP limit', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await attempt(`v6-probe-${i}@example.com`, `2001:db8:a:b::${(i + 1).toString(16)}`)).status).toBe(401);
    }
    const user = await createUser();
    expect((await attempt(user.email, '2001:db8:a:b:ffff:1:2:3', PASSWORD)).status).toBe(429);
    expect((await attempt(user.email, '2001:db8:a:c::1', PASSWORD)).status).toBe(200);
  });

  it('counts IPv6 clients by their /64 for an account’s failures too', async () => {
    const owner = await createUser();
    for (let i = 0; i < 10; i++) expect((await attempt(owner.email, `2001:db8:beef:1::${i + 1}`)).status).toBe(401);
    expect((await attempt(owner.email, '2001:db8:beef:1:abcd::9', PASSWORD)).status).toBe(429);
    expect((await attempt(owner.email, '2001:db8:beef:2::1', PASSWORD)).status).toBe(200);
  });

  it('counts attempts case-insensitively per account', async () => {
    const user = await createUser();
    for (let i = 0; i < 10; i++) {
      await attempt(i % 2 ? user.email.toUpperCase() : user.email, '203.0.113.50');
    }
    expect((await attempt(user.email, '203.0.113.50', PASSWORD)).status).toBe(429);
  });
});

describe('loginLimits', () => {
  it('keeps the real limits unless a whole-number override is set', () => {
    const base = { ...env } as unknown as Env;
    expect(loginLimits(base)).toEqual({ windowMs: 15 * 60 * 1000, perAccountIp: 10, perAccount: 100, perIp: 20 });
    const raised = { ...base, LOGIN_LIMIT_PER_IP: '5000', LOGIN_LIMIT_PER_ACCOUNT: '300' } as unknown as Env;
    expect(loginLimits(raised)).toMatchObject({ perIp: 5000, perAccountIp: 300, perAccount: 300 });
    expect(loginLimits({ ...base, LOGIN_LIMIT_PER_ACCOUNT: '20' } as unknown as Env)).toMatchObject({ perAccountIp: 20, perAccount: 100 });
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

  it('takes back a released attempt, and only that one', async () => {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName('test:release'));
    const first = await stub.hit(2, 60_000);
    const second = await stub.hit(2, 60_000);
    expect((await stub.hit(2, 60_000)).allowed).toBe(false);
    await stub.release(second.at ?? -1);
    await stub.release(12345);
    expect(first.allowed && second.allowed).toBe(true);
    expect((await stub.hit(2, 60_000)).allowed).toBe(true);
    expect((await stub.hit(2, 60_000)).allowed).toBe(false);
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
