import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearer, bindingCookie, body, completeSignIn, createUser, exchange, get, ipHeader, login, PASSWORD, post, signIn, testDb } from '../../test/helpers';
import { authGrants, loginSessions, users } from '../db/schema';
import { sha256Hex } from '../lib/crypto';
import { needsRehash, PASSWORD_PARAMS } from '../lib/password';

afterEach(() => {
  vi.useRealTimers();
});

describe('POST /api/auth/login', () => {
  it('answers a grant and the client portal callback for a client', async () => {
    const user = await createUser({ role: 'CLIENT' });
    const { res, json } = await login(user.email);
    expect(res.status).toBe(200);
    expect(json.success).toBe(true);
    expect(json.data.role).toBe('CLIENT');
    expect(json.data.grant.length).toBeGreaterThanOrEqual(40);
    expect(json.data.redirectUrl).toBe(`http://localhost:5172/auth/callback?grant=${json.data.grant}`);
  });

  it('sends coaches and admins to the coach portal', async () => {
    for (const role of ['COACH', 'ADMIN'] as const) {
      const user = await createUser({ role });
      const { json, cookie } = await login(user.email);
      // Admins set up MFA first (routes/mfa.test.ts); the grant they then get leads to the same place.
      const grant = await completeSignIn(user.email, json.data, cookie);
      const redeemed = await body<{ user: { role: string } }>(await exchange(grant, cookie));
      expect(redeemed.data.user.role).toBe(role);
      if (role === 'COACH') expect(json.data.redirectUrl.startsWith('http://localhost:5171/auth/callback?grant=')).toBe(true);
    }
  });

  it('follows the role stored in D1 at login time', async () => {
    const user = await createUser({ role: 'CLIENT' });
    await testDb().update(users).set({ role: 'COACH' }).where(eq(users.id, user.id));
    const { json } = await login(user.email);
    expect(json.data.redirectUrl.startsWith('http://localhost:5171/')).toBe(true);
  });

  it('matches the email whatever its case and surrounding spaces', async () => {
    const user = await createUser();
    const { res } = await login(`  ${user.email.toUpperCase()} `);
    expect(res.status).toBe(200);
  });

  it('gives the same 401 for a wrong password and for an unknown email', async () => {
    const user = await createUser();
    const wrong = await login(user.email, 'not the password');
    const unknown = await login(`nobody-${crypto.randomUUID()}@example.com`, PASSWORD);
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
    expect(wrong.json).toEqual({
      success: false,
      error: { code: 'UNAUTHORIZED', message: 'Email or password is incorrect' },
    });
  });

  it('refuses an account that has no password yet, with the same 401', async () => {
    const user = await createUser({ passwordHash: null });
    const { res, json } = await login(user.email, '');
    expect(res.status).toBe(400);
    const attempt = await login(user.email, PASSWORD);
    expect(attempt.res.status).toBe(401);
    expect(attempt.json.error.message).toBe('Email or password is incorrect');
    expect(json.error.fields).toHaveProperty('password');
  });

  it('refuses a deleted account', async () => {
    const user = await createUser();
    await testDb().update(users).set({ deletedAt: new Date() }).where(eq(users.id, user.id));
    expect((await login(user.email)).res.status).toBe(401);
  });

  it('verifies unknown emails against a dummy hash at today’s parameters, so it costs the same', () => {
    expect(needsRehash('$argon2id$v=19$m=19456,t=2,p=1$lqGSBpaMpqYxLylzax8h6Q$DLR5dgvq0opFYxovgQ+y47NCBk6seNXlEO+DJ+D0D9Y')).toBe(false);
  });

  it('re-hashes a stored hash made with older parameters, and the password still works', async () => {
    const { default: Argon2, Argon2Type } = await import('@phi-ag/argon2');
    const { default: wasm } = await import('@phi-ag/argon2/argon2.wasm');
    const a = new Argon2(await WebAssembly.instantiate(wasm));
    const weak = a.hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1, hashLength: 32, type: Argon2Type.Argon2id }).encoded;
    const user = await createUser({ passwordHash: weak });
    expect((await login(user.email)).res.status).toBe(200);
    const stored = await testDb().select().from(users).where(eq(users.id, user.id)).get();
    expect(stored?.passwordHash).not.toBe(weak);
    expect(stored?.passwordHash).toContain(`m=${PASSWORD_PARAMS.memoryCost},t=${PASSWORD_PARAMS.timeCost},p=1`);
    expect((await login(user.email)).res.status).toBe(200);
  });

  it('stores only a hash of the grant, with the requesting IP and user agent', async () => {
    const user = await createUser();
    const res = await post(
      '/api/auth/login',
      { email: user.email, password: PASSWORD },
      { 'CF-Connecting-IP': '203.0.113.7', 'User-Agent': 'TestBrowser/1.0' },
    );
    const { data } = await body<{ grant: string }>(res);
    const rows = await testDb().select().from(authGrants).where(eq(authGrants.userId, user.id)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.grantHash).toBe(await sha256Hex(data.grant));
    expect(JSON.stringify(rows)).not.toContain(data.grant);
    expect(rows[0]).toMatchObject({ ip: '203.0.113.7', userAgent: 'TestBrowser/1.0', usedAt: null });
  });
});

describe('POST /api/auth/exchange', () => {
  it('exchanges a grant for a session token, a user and an HttpOnly Secure SameSite cookie', async () => {
    const user = await createUser({ role: 'CLIENT', tier: 'PREMIUM', displayName: 'Pat Client' });
    const { json, cookie } = await login(user.email);
    const res = await exchange(json.data.grant, cookie);
    expect(res.status).toBe(200);
    const out = await body<{ token: string; user: Record<string, string> }>(res);
    expect(out.data.user).toEqual({ id: user.id, email: user.email, displayName: 'Pat Client', role: 'CLIENT', tier: 'PREMIUM' });
    const session = res.headers.get('Set-Cookie') ?? '';
    expect(session).toContain(`hc_session=${out.data.token}`);
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/Secure/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).toMatch(/Max-Age=604800/);
  });

  it('refuses a grant the second time it is exchanged, even from the browser that signed in', async () => {
    const user = await createUser();
    const { json, cookie } = await login(user.email);
    expect((await exchange(json.data.grant, cookie)).status).toBe(200);
    const again = await exchange(json.data.grant, cookie);
    expect(again.status).toBe(401);
    expect((await body(again)).error.code).toBe('UNAUTHORIZED');
  });

  it('lets exactly one of several concurrent exchanges of one grant succeed', async () => {
    const user = await createUser();
    const { json, cookie } = await login(user.email);
    const results = await Promise.all(Array.from({ length: 6 }, () => exchange(json.data.grant, cookie)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401, 401]);
    const sessions = await testDb().select().from(loginSessions).where(eq(loginSessions.userId, user.id)).all();
    expect(sessions).toHaveLength(1);
  });

  it('refuses a grant more than 5 minutes old, and takes one just under', async () => {
    const user = await createUser();
    const t0 = new Date('2027-03-10T12:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const fresh = await login(user.email);
    const stale = await login(user.email);
    vi.setSystemTime(t0.getTime() + 5 * 60 * 1000 - 1000);
    expect((await exchange(fresh.json.data.grant, fresh.cookie)).status).toBe(200);
    vi.setSystemTime(t0.getTime() + 5 * 60 * 1000 + 1);
    expect((await exchange(stale.json.data.grant, stale.cookie)).status).toBe(401);
  });

  it('refuses an unknown grant and a missing one', async () => {
    const user = await createUser();
    const { cookie } = await login(user.email);
    expect((await exchange('not-a-grant', cookie)).status).toBe(401);
    const missing = await post('/api/auth/exchange', {});
    expect(missing.status).toBe(400);
    expect((await body(missing)).error.fields).toHaveProperty('grant');
  });
});

describe('grants are bound to the browser that signed in (login CSRF)', () => {
  const OTHER_BROWSER = 'This sign-in link was opened in a different browser from the one that signed in.';

  it('sets an HttpOnly, Secure, SameSite=Lax __Host- cookie at login and stores only its hash', async () => {
    const user = await createUser();
    const { res, json, cookie } = await login(user.email);
    const set = res.headers.getSetCookie().find((c) => c.startsWith('__Host-hc_login=')) ?? '';
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/Secure/i);
    expect(set).toMatch(/SameSite=Lax/i);
    expect(set).toMatch(/Path=\/(;|$)/);
    expect(set).not.toMatch(/Domain=/i);
    expect(set).toMatch(/Max-Age=600/);
    const value = cookie.Cookie.split('=')[1] ?? '';
    expect(value.length).toBeGreaterThanOrEqual(43);
    const row = await testDb()
      .select()
      .from(authGrants)
      .where(eq(authGrants.grantHash, await sha256Hex(json.data.grant)))
      .get();
    expect(row?.bindingHash).toBe(await sha256Hex(value));
    expect(JSON.stringify(row)).not.toContain(value);
  });

  it('refuses a grant exchanged without the binding cookie, or with another browser’s, and takes the right one', async () => {
    const victim = await createUser();
    const attacker = await createUser();
    // The victim's browser has signed in before: it holds a binding of its own.
    const victimBrowser = (await login(victim.email)).cookie;

    const a = await login(attacker.email);
    const missing = await post('/api/auth/exchange', { grant: a.json.data.grant });
    expect(missing.status).toBe(401);
    expect(await body(missing)).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: OTHER_BROWSER } });

    const b = await login(attacker.email);
    const wrong = await exchange(b.json.data.grant, victimBrowser);
    expect(wrong.status).toBe(401);
    expect((await body(wrong)).error.message).toBe(OTHER_BROWSER);
    // The refused browser's binding cookie is cleared.
    expect(wrong.headers.getSetCookie().join('\n')).toMatch(/__Host-hc_login=;.*Max-Age=0/i);
    const forged = await exchange(b.json.data.grant, { Cookie: `__Host-hc_login=${'A'.repeat(43)}` });
    expect(forged.status).toBe(401);

    // No session was issued for the attacker's account.
    expect(await testDb().select().from(loginSessions).where(eq(loginSessions.userId, attacker.id)).all()).toEqual([]);

    const c = await login(attacker.email);
    expect((await exchange(c.json.data.grant, c.cookie)).status).toBe(200);
    // Single use still holds with the right binding.
    expect((await exchange(c.json.data.grant, c.cookie)).status).toBe(401);
  });

  it('spends a grant refused for its binding: the browser that signed in cannot use it afterwards', async () => {
    const user = await createUser();
    const { json, cookie } = await login(user.email);
    expect((await post('/api/auth/exchange', { grant: json.data.grant })).status).toBe(401);
    const late = await exchange(json.data.grant, cookie);
    expect(late.status).toBe(401);
    expect((await body(late)).error.message).toBe('This sign-in link is invalid, used or expired.');
  });

  it('keeps one binding per browser, so two sign-ins in two tabs both work', async () => {
    const user = await createUser();
    const first = await login(user.email);
    const second = await post('/api/auth/login', { email: user.email, password: PASSWORD }, { ...ipHeader(), ...first.cookie });
    const secondGrant = (await body<{ grant: string }>(second)).data.grant;
    expect(bindingCookie(second)).toEqual(first.cookie);
    const done = await exchange(first.json.data.grant, first.cookie);
    expect(done.status).toBe(200);
    // A successful exchange leaves the binding for the other tab, and so does reloading the spent link.
    expect(done.headers.getSetCookie().join('\n')).not.toContain('__Host-hc_login');
    const reload = await exchange(first.json.data.grant, first.cookie);
    expect(reload.status).toBe(401);
    expect(reload.headers.getSetCookie().join('\n')).not.toContain('__Host-hc_login');
    expect((await exchange(secondGrant, first.cookie)).status).toBe(200);
  });

  it('makes a new binding when the cookie it is sent is not one it could have made', async () => {
    const user = await createUser();
    const res = await post('/api/auth/login', { email: user.email, password: PASSWORD }, { ...ipHeader(), Cookie: '__Host-hc_login=short' });
    expect(bindingCookie(res).Cookie).toMatch(/^__Host-hc_login=[A-Za-z0-9_-]{43}$/);
  });
});

describe('session tokens', () => {
  it('are accepted as a bearer token and as the cookie', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    expect((await get('/api/users/me', bearer(token))).status).toBe(200);
    expect((await get('/api/users/me', { Cookie: `hc_session=${token}` })).status).toBe(200);
    expect((await get('/api/users/me')).status).toBe(401);
  });

  it('stop working after logout, as bearer and as cookie', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    const out = await post('/api/auth/logout', {}, bearer(token));
    expect(out.status).toBe(200);
    expect(out.headers.get('Set-Cookie')).toMatch(/hc_session=;.*Max-Age=0/i);
    expect((await get('/api/users/me', bearer(token))).status).toBe(401);
    expect((await get('/api/users/me', { Cookie: `hc_session=${token}` })).status).toBe(401);
    expect((await post('/api/auth/logout', {}, bearer(token))).status).toBe(401);
  });

  it('logging out one session leaves the user’s other sessions alone', async () => {
    const user = await createUser();
    const phone = await signIn(user.email);
    const laptop = await signIn(user.email);
    await post('/api/auth/logout', {}, bearer(phone));
    expect((await get('/api/users/me', bearer(laptop))).status).toBe(200);
  });

  it('expire after 7 days', async () => {
    const user = await createUser();
    const t0 = new Date('2027-05-01T08:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const token = await signIn(user.email);
    vi.setSystemTime(t0.getTime() + 7 * 24 * 3600 * 1000 - 60_000);
    expect((await get('/api/users/me', bearer(token))).status).toBe(200);
    vi.setSystemTime(t0.getTime() + 7 * 24 * 3600 * 1000 + 1000);
    expect((await get('/api/users/me', bearer(token))).status).toBe(401);
  });

  it('refuse a tampered token', async () => {
    const user = await createUser({ tier: 'FREE' });
    const token = await signIn(user.email);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(atob(p.replace(/-/g, '+').replace(/_/g, '/')));
    const forged = btoa(JSON.stringify({ ...claims, role: 'ADMIN' }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    expect((await get('/api/users/me', bearer(`${h}.${forged}.${s}`))).status).toBe(401);
    const flipped = s.slice(0, -2) + (s.endsWith('AA') ? 'BB' : 'AA');
    expect((await get('/api/users/me', bearer(`${h}.${p}.${flipped}`))).status).toBe(401);
  });

  it('refuse a token signed with another key, and one with alg none', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    const otherKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-of-sufficient-length-000000'));
    expect((await get('/api/users/me', bearer(otherKey))).status).toBe(401);
    const none = new UnsecuredJWT(claims).encode();
    expect((await get('/api/users/me', bearer(none))).status).toBe(401);
    expect((await get('/api/users/me', bearer('garbage'))).status).toBe(401);
    expect((await get('/api/users/me', { Authorization: 'Basic abc' })).status).toBe(401);
  });

  it('refuse a validly signed token whose session was never recorded', async () => {
    const user = await createUser();
    const forged = await new SignJWT({ role: 'CLIENT', tier: 'FREE' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setJti(crypto.randomUUID())
      .setIssuer('hybrid-coach')
      .setAudience('hybrid-coach')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(env.JWT_SECRET));
    expect((await get('/api/users/me', bearer(forged))).status).toBe(401);
  });
});

describe('login input', () => {
  async function grantCount() {
    return (await testDb().select().from(authGrants).all()).length;
  }

  it('names the missing and wrong-typed fields with 400, writing nothing', async () => {
    const before = await grantCount();
    const missing = await post('/api/auth/login', {}, ipHeader());
    expect(missing.status).toBe(400);
    const m = await body(missing);
    expect(m.error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(m.error.fields ?? {}).sort()).toEqual(['email', 'password']);
    const wrongTypes = await post('/api/auth/login', { email: 42, password: ['x'] }, ipHeader());
    expect(wrongTypes.status).toBe(400);
    expect(Object.keys((await body(wrongTypes)).error.fields ?? {}).sort()).toEqual(['email', 'password']);
    const notEmail = await post('/api/auth/login', { email: 'not-an-email', password: 'x' }, ipHeader());
    expect((await body(notEmail)).error.fields).toHaveProperty('email');
    expect(await grantCount()).toBe(before);
  });

  it('answers malformed JSON and a non-JSON body with 400 in the one shape', async () => {
    const bad = await post('/api/auth/login', '{"email": "a@b.c", ', ipHeader());
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.code).toBe('VALIDATION_ERROR');
    const text = await SELF_text('/api/auth/login', 'email=a@b.c');
    expect(text.status).toBe(400);
    expect((await body(text)).error).toMatchObject({ code: 'VALIDATION_ERROR', fields: { body: expect.any(String) } });
  });

  it('answers a body over 64 KiB with 413, writing nothing', async () => {
    const before = await grantCount();
    const user = await createUser();
    const res = await post('/api/auth/login', { email: user.email, password: PASSWORD, pad: 'x'.repeat(70 * 1024) }, ipHeader());
    expect(res.status).toBe(413);
    expect((await body(res)).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await grantCount()).toBe(before);
  });
});

async function SELF_text(path: string, text: string) {
  const { SELF } = await import('cloudflare:test');
  return SELF.fetch(`http://api.test${path}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text });
}
