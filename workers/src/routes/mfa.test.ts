import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API, bearer, body, createUser, currentStep, exchange, get, ipHeader, knownMfa, login, post, signIn, testDb, totpCode } from '../../test/helpers';
import { authGrants, mfaChallenges, mfaRecoveryCodes, staffMfa, users } from '../db/schema';
import worker from '../index';
import { DecryptionError, decryptText } from '../lib/encryption';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

type Cookie = { Cookie: string };
interface Step {
  grant?: string;
  redirectUrl?: string;
  mfaRequired?: true;
  mfaEnrollmentRequired?: true;
  challenge?: string;
}

/** Sets MFA up in the coach portal's settings, as a signed-in coach or admin would. */
async function enrolInSettings(token: string) {
  const started = await body<{ secret: string; otpauthUri: string }>(await post('/api/users/me/mfa/enrol', {}, bearer(token)));
  const step = currentStep();
  const confirmed = await post('/api/users/me/mfa/confirm', { code: totpCode(started.data.secret, step) }, bearer(token));
  expect(confirmed.status).toBe(200);
  const { recoveryCodes } = (await body<{ recoveryCodes: string[] }>(confirmed)).data;
  return { secret: started.data.secret, otpauthUri: started.data.otpauthUri, recoveryCodes, step };
}

/** A coach with MFA on: their account, secret, recovery codes and the step of the code they last used. */
async function enrolledCoach() {
  const coach = await createUser({ role: 'COACH' });
  const token = await signIn(coach.email);
  return { coach, token, ...(await enrolInSettings(token)) };
}

/** Step one of a sign-in: the login's answer and the browser's binding cookie. */
async function passwordStep(email: string): Promise<{ status: number; data: Step; cookie: Cookie }> {
  const { res, json, cookie } = await login(email);
  return { status: res.status, data: json.data as Step, cookie };
}

const verify = (challenge: string, proof: { code: string } | { recoveryCode: string }, cookie: Cookie) =>
  post('/api/auth/mfa', { challenge, ...proof }, cookie);

/** A six-digit code that is none of the codes the Worker accepts now (the window is one step either side). */
function wrongCodeFor(secret: string): string {
  const accepted = new Set([-1, 0, 1, 2].map((d) => totpCode(secret, currentStep() + d)));
  let n = 123456;
  while (accepted.has(String(n))) n = (n + 1) % 1_000_000;
  return String(n).padStart(6, '0');
}

const grantsOf = (userId: string) => testDb().select().from(authGrants).where(eq(authGrants.userId, userId)).all();

describe('signing in with MFA on', () => {
  it('gives an enrolled coach a challenge and no grant for the password alone', async () => {
    const { coach } = await enrolledCoach();
    const before = (await grantsOf(coach.id)).length;
    const { status, data, cookie } = await passwordStep(coach.email);
    expect(status).toBe(200);
    expect(data).toEqual({ mfaRequired: true, challenge: expect.any(String), expiresAt: expect.any(String) });
    expect(data.grant).toBeUndefined();
    expect(await grantsOf(coach.id)).toHaveLength(before);
    expect(cookie.Cookie).toMatch(/^__Host-hc_login=/);
    // The challenge is no grant: the exchange refuses it.
    expect((await exchange(data.challenge ?? '', cookie)).status).toBe(401);
  });

  it('answers the grant for the right code, and the grant signs the coach in', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    // The code of the step after the one used at enrolment (the Worker accepts one step either side).
    const res = await verify(data.challenge ?? '', { code: totpCode(secret, step + 1) }, cookie);
    expect(res.status).toBe(200);
    const granted = (await body<{ grant: string; redirectUrl: string; role: string }>(res)).data;
    expect(granted.redirectUrl).toBe(`http://localhost:5171/auth/callback?grant=${granted.grant}`);
    expect(granted.role).toBe('COACH');
    const session = await exchange(granted.grant, cookie);
    expect(session.status).toBe(200);
    const { token } = (await body<{ token: string }>(session)).data;
    expect((await get('/api/users/me', bearer(token))).status).toBe(200);
  });

  it('refuses a wrong code with a clear 401 and the tries left, and no grant', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    const before = (await grantsOf(coach.id)).length;
    const wrong = await verify(data.challenge ?? '', { code: wrongCodeFor(secret) }, cookie);
    expect(wrong.status).toBe(401);
    expect(await body(wrong)).toEqual({
      success: false,
      error: { code: 'UNAUTHORIZED', message: 'That code is not right. Check your authenticator app and try again.', details: { attemptsLeft: 4 } },
    });
    expect(await grantsOf(coach.id)).toHaveLength(before);
    // The same sign-in goes on with the right code.
    expect((await verify(data.challenge ?? '', { code: totpCode(secret, step + 1) }, cookie)).status).toBe(200);
  });

  it('accepts a code once: the same code again within its time step is refused', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const code = totpCode(secret, step + 1);
    const first = await passwordStep(coach.email);
    expect((await verify(first.data.challenge ?? '', { code }, first.cookie)).status).toBe(200);
    const second = await passwordStep(coach.email);
    const replayed = await verify(second.data.challenge ?? '', { code }, second.cookie);
    expect(replayed.status).toBe(401);
    expect((await body(replayed)).error.message).toBe('That code has been used already. Wait for the next code in your authenticator app.');
    // The code the enrolment used is refused too (older steps never come back).
    expect((await verify(second.data.challenge ?? '', { code: totpCode(secret, step) }, second.cookie)).status).toBe(401);
    const row = await testDb().select().from(staffMfa).where(eq(staffMfa.userId, coach.id)).get();
    expect(row?.lastUsedStep).toBe(step + 1);
  });

  it('takes a challenge only from the browser that signed in, and only once', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    const elsewhere = await passwordStep(coach.email);
    const code = { code: totpCode(secret, step + 1) };
    const otherBrowser = await verify(data.challenge ?? '', code, elsewhere.cookie);
    expect(otherBrowser.status).toBe(401);
    expect((await body(otherBrowser)).error.message).toBe('This sign-in has expired or was already used. Sign in again.');
    expect((await verify(data.challenge ?? '', code, { Cookie: '' })).status).toBe(401);
    expect((await verify(data.challenge ?? '', code, cookie)).status).toBe(200);
    // Used: a second code (the next step's) cannot make a second grant from it.
    expect((await verify(data.challenge ?? '', { code: totpCode(secret, step + 2) }, cookie)).status).toBe(401);
  });

  it('lets a challenge expire after 5 minutes', async () => {
    const t0 = new Date('2027-03-01T09:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const { coach, secret } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    vi.setSystemTime(t0.getTime() + 5 * 60 * 1000 + 1);
    const late = await verify(data.challenge ?? '', { code: totpCode(secret, currentStep()) }, cookie);
    expect(late.status).toBe(401);
    expect((await body(late)).error.message).toBe('This sign-in has expired or was already used. Sign in again.');
  });
});

describe('limits on code attempts', () => {
  it('kills a challenge after 5 wrong codes: the right code then needs the password again', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    const wrong = wrongCodeFor(secret);
    for (let left = 4; left >= 0; left--) {
      const res = await verify(data.challenge ?? '', { code: wrong }, cookie);
      expect(res.status).toBe(401);
      expect((await body(res)).error.details).toEqual({ attemptsLeft: left });
    }
    const res = await verify(data.challenge ?? '', { code: totpCode(secret, step + 1) }, cookie);
    expect(res.status).toBe(401);
    expect((await body(res)).error.message).toBe('This sign-in has had too many wrong codes. Sign in again.');
    const again = await passwordStep(coach.email);
    expect((await verify(again.data.challenge ?? '', { code: totpCode(secret, step + 1) }, again.cookie)).status).toBe(200);
  });

  it('refuses codes with 429 and Retry-After after 10 wrong ones in 15 minutes for one account, across sign-ins', async () => {
    const t0 = new Date('2027-03-02T09:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const { coach, secret } = await enrolledCoach();
    for (let signIn = 0; signIn < 2; signIn++) {
      const { data, cookie } = await passwordStep(coach.email);
      for (let i = 0; i < 5; i++) expect((await verify(data.challenge ?? '', { code: wrongCodeFor(secret) }, cookie)).status).toBe(401);
    }
    vi.setSystemTime(t0.getTime() + 60_000);
    const { data, cookie } = await passwordStep(coach.email);
    const limited = await verify(data.challenge ?? '', { code: totpCode(secret, currentStep()) }, cookie);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe(String(14 * 60));
    expect(await body(limited)).toMatchObject({ success: false, error: { code: 'RATE_LIMITED', message: 'Too many wrong codes. Try again later.' } });
    // Until the window has passed, whatever the code.
    vi.setSystemTime(t0.getTime() + 4 * 60 * 1000);
    expect((await verify(data.challenge ?? '', { code: totpCode(secret, currentStep()) }, cookie)).status).toBe(429);
    vi.setSystemTime(t0.getTime() + 15 * 60 * 1000 + 1);
    const fresh = await passwordStep(coach.email);
    expect((await verify(fresh.data.challenge ?? '', { code: totpCode(secret, currentStep()) }, fresh.cookie)).status).toBe(200);
  });

  it('counts only wrong codes: signing in often with right ones never locks the owner out', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    for (let i = 0; i < 4; i++) expect((await verify(data.challenge ?? '', { code: wrongCodeFor(secret) }, cookie)).status).toBe(401);
    expect((await verify(data.challenge ?? '', { code: totpCode(secret, step + 1) }, cookie)).status).toBe(200);
    const second = await passwordStep(coach.email);
    for (let i = 0; i < 5; i++) expect((await verify(second.data.challenge ?? '', { code: wrongCodeFor(secret) }, second.cookie)).status).toBe(401);
    // 9 wrong codes so far: one more sign-in with a recovery code still works.
    const third = await passwordStep(coach.email);
    expect((await verify(third.data.challenge ?? '', { recoveryCode: 'aaaa-aaaa-aaaa-aaaa' }, third.cookie)).status).toBe(401);
    const fourth = await passwordStep(coach.email);
    expect((await verify(fourth.data.challenge ?? '', { code: totpCode(secret, step + 2) }, fourth.cookie)).status).toBe(429);
  });
});

describe('recovery codes', () => {
  it('signs in with a recovery code once; the second use is refused', async () => {
    const { coach, token, recoveryCodes } = await enrolledCoach();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const [code = ''] = recoveryCodes;
    expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    const first = await passwordStep(coach.email);
    // Typed in capitals and without dashes: still the same code.
    const used = await verify(first.data.challenge ?? '', { recoveryCode: code.toUpperCase().replaceAll('-', '') }, first.cookie);
    expect(used.status).toBe(200);
    expect((await exchange((await body<{ grant: string }>(used)).data.grant, first.cookie)).status).toBe(200);

    const second = await passwordStep(coach.email);
    const again = await verify(second.data.challenge ?? '', { recoveryCode: code }, second.cookie);
    expect(again.status).toBe(401);
    expect((await body(again)).error.message).toBe('That code is not right. Check your authenticator app and try again.');
    const status = await body<{ recoveryCodesLeft: number }>(await get('/api/users/me/mfa', bearer(token)));
    expect(status.data.recoveryCodesLeft).toBe(9);
  });

  it('replaces every recovery code when new ones are made (with a current code): the old ones stop working', async () => {
    const { coach, token, secret, step, recoveryCodes } = await enrolledCoach();
    const refused = await post('/api/users/me/mfa/recovery-codes', { code: wrongCodeFor(secret) }, bearer(token));
    expect(refused.status).toBe(400);
    expect((await body(refused)).error.fields).toEqual({ code: 'That code is not right. Check your authenticator app and try again.' });
    const res = await post('/api/users/me/mfa/recovery-codes', { code: totpCode(secret, step + 1) }, bearer(token));
    expect(res.status).toBe(200);
    const fresh = (await body<{ recoveryCodes: string[]; status: { recoveryCodesLeft: number } }>(res)).data;
    expect(fresh.recoveryCodes).toHaveLength(10);
    expect(fresh.status.recoveryCodesLeft).toBe(10);
    expect(fresh.recoveryCodes.some((c) => recoveryCodes.includes(c))).toBe(false);
    const old = await passwordStep(coach.email);
    expect((await verify(old.data.challenge ?? '', { recoveryCode: recoveryCodes[0] ?? '' }, old.cookie)).status).toBe(401);
    expect((await verify(old.data.challenge ?? '', { recoveryCode: fresh.recoveryCodes[0] ?? '' }, old.cookie)).status).toBe(200);
  });
});

describe('what is stored', () => {
  it('keeps the TOTP secret sealed for its own user, and recovery codes only as hashes', async () => {
    const { coach, secret, otpauthUri, recoveryCodes } = await enrolledCoach();
    expect(otpauthUri).toBe(
      `otpauth://totp/Hybrid%20Coach:${encodeURIComponent(coach.email)}?issuer=Hybrid%20Coach&secret=${secret}&algorithm=SHA1&digits=6&period=30`,
    );
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const row = await testDb().select().from(staffMfa).where(eq(staffMfa.userId, coach.id)).get();
    const rowText = JSON.stringify(row);
    expect(rowText).not.toContain(secret);
    expect(rowText.toLowerCase()).not.toContain(secret.toLowerCase());
    expect(row?.secretSealed).toMatch(/^v1\./);
    expect(row?.pendingSecretSealed).toBeNull();
    // Sealed for MFA secrets and this user: it opens only so.
    expect(await decryptText(env, 'mfa-secret', row?.secretSealed ?? '', coach.id)).toBe(secret);
    const other = await createUser({ role: 'COACH' });
    await expect(decryptText(env, 'mfa-secret', row?.secretSealed ?? '', other.id)).rejects.toBeInstanceOf(DecryptionError);
    await expect(decryptText(env, 'email-outbox', row?.secretSealed ?? '', coach.id)).rejects.toBeInstanceOf(DecryptionError);

    const codes = await testDb().select().from(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, coach.id)).all();
    expect(codes).toHaveLength(10);
    const stored = JSON.stringify(codes);
    for (const code of recoveryCodes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replaceAll('-', ''));
    }
    // Challenges too are kept only as hashes.
    const { data } = await passwordStep(coach.email);
    const challenges = JSON.stringify(await testDb().select().from(mfaChallenges).where(eq(mfaChallenges.userId, coach.id)).all());
    expect(challenges).not.toContain(data.challenge);
  });

  it('logs setting up, recovery code use and turning off, never a code or the secret', async () => {
    const lines: string[] = [];
    const keep = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    for (const level of ['log', 'warn', 'error', 'info'] as const) vi.spyOn(console, level).mockImplementation(keep);
    const { coach, token, secret, step, recoveryCodes } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    expect((await verify(data.challenge ?? '', { recoveryCode: recoveryCodes[0] ?? '' }, cookie)).status).toBe(200);
    expect((await post('/api/users/me/mfa/disable', { code: totpCode(secret, step + 1) }, bearer(token))).status).toBe(200);
    const events = lines.map((l) => JSON.parse(l) as { msg: string; userId?: string });
    const about = (msg: string) => events.filter((e) => e.msg === msg && e.userId === coach.id);
    expect(about('mfa enabled')).toHaveLength(1);
    expect(about('mfa recovery code used')).toEqual([expect.objectContaining({ recoveryCodesLeft: 9 })]);
    expect(about('mfa disabled')).toHaveLength(1);
    const all = lines.join('\n');
    expect(all).not.toContain(secret);
    for (const code of [...recoveryCodes, totpCode(secret, step), totpCode(secret, step + 1)]) expect(all).not.toContain(code);
  });
});

describe('admins must have MFA', () => {
  it('gives an admin without MFA no session until they have set it up at sign-in', async () => {
    const admin = await createUser({ role: 'ADMIN' });
    const { data, cookie } = await passwordStep(admin.email);
    expect(data).toEqual({ mfaEnrollmentRequired: true, challenge: expect.any(String), expiresAt: expect.any(String) });
    expect(await grantsOf(admin.id)).toHaveLength(0);
    const challenge = data.challenge ?? '';
    // The enrolment challenge is good for enrolment only: not as a code step, not as a grant.
    expect((await verify(challenge, { code: '123456' }, cookie)).status).toBe(401);
    expect((await exchange(challenge, cookie)).status).toBe(401);
    // From another browser, nothing.
    expect((await post('/api/auth/mfa/enrol', { challenge }, { Cookie: '' })).status).toBe(401);

    const started = await post('/api/auth/mfa/enrol', { challenge }, cookie);
    expect(started.status).toBe(200);
    const { secret, otpauthUri } = (await body<{ secret: string; otpauthUri: string }>(started)).data;
    expect(otpauthUri).toContain(`secret=${secret}`);
    const wrong = await post('/api/auth/mfa/enrol/confirm', { challenge, code: wrongCodeFor(secret) }, cookie);
    expect(wrong.status).toBe(401);
    expect(await grantsOf(admin.id)).toHaveLength(0);
    // Still off: a new sign-in still asks for setup, not for a code.
    expect((await passwordStep(admin.email)).data.mfaEnrollmentRequired).toBe(true);

    const step = currentStep();
    const confirmed = await post('/api/auth/mfa/enrol/confirm', { challenge, code: totpCode(secret, step) }, cookie);
    expect(confirmed.status).toBe(200);
    const done = (await body<{ grant: string; redirectUrl: string; role: string; recoveryCodes: string[] }>(confirmed)).data;
    expect(done.recoveryCodes).toHaveLength(10);
    expect(done.role).toBe('ADMIN');
    expect(done.redirectUrl).toBe(`http://localhost:5171/auth/callback?grant=${done.grant}`);
    const session = await exchange(done.grant, cookie);
    expect(session.status).toBe(200);
    const { token } = (await body<{ token: string }>(session)).data;
    // The challenge is spent.
    expect((await post('/api/auth/mfa/enrol/confirm', { challenge, code: totpCode(secret, step + 1) }, cookie)).status).toBe(401);

    // From now on the admin signs in with a code.
    const next = await passwordStep(admin.email);
    expect(next.data.mfaRequired).toBe(true);
    expect((await verify(next.data.challenge ?? '', { code: totpCode(secret, step + 1) }, next.cookie)).status).toBe(200);

    // Required for admins: it cannot be turned off, even with a right code; moving to a new app can.
    const status = await body<{ enabled: boolean; required: boolean }>(await get('/api/users/me/mfa', bearer(token)));
    expect(status.data).toMatchObject({ enabled: true, required: true });
    const off = await post('/api/users/me/mfa/disable', { recoveryCode: done.recoveryCodes[0] ?? '' }, bearer(token));
    expect(off.status).toBe(403);
    expect((await body(off)).error.message).toContain('required for your account');
    expect((await testDb().select().from(staffMfa).where(eq(staffMfa.userId, admin.id)).get())?.enabledAt).toBeInstanceOf(Date);
  });

  it('moves an admin to a new app only with a current code, and keeps the old app working until the new one is confirmed', async () => {
    const t0 = new Date('2027-03-03T09:00:10Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    /** On to the next 30-second step, so a new code is due. */
    const nextStep = () => vi.setSystemTime(Date.now() + 30_000);
    const admin = await createUser({ role: 'ADMIN' });
    const token = await signIn(admin.email);
    const oldSecret = knownMfa(admin.email)?.secret ?? '';
    const noProof = await post('/api/users/me/mfa/enrol', {}, bearer(token));
    expect(noProof.status).toBe(400);
    expect((await body(noProof)).error.fields).toHaveProperty('code');
    nextStep();
    const moving = await post('/api/users/me/mfa/enrol', { code: totpCode(oldSecret) }, bearer(token));
    expect(moving.status).toBe(200);
    const newSecret = (await body<{ secret: string }>(moving)).data.secret;
    expect(newSecret).not.toBe(oldSecret);
    // Until the new app is confirmed, the old one signs in and the new one does not.
    const before = await passwordStep(admin.email);
    expect((await verify(before.data.challenge ?? '', { code: totpCode(newSecret) }, before.cookie)).status).toBe(401);
    nextStep();
    expect((await verify(before.data.challenge ?? '', { code: totpCode(oldSecret) }, before.cookie)).status).toBe(200);
    expect((await post('/api/users/me/mfa/confirm', { code: totpCode(newSecret) }, bearer(token))).status).toBe(200);
    nextStep();
    const after = await passwordStep(admin.email);
    expect((await verify(after.data.challenge ?? '', { code: totpCode(oldSecret) }, after.cookie)).status).toBe(401);
    expect((await verify(after.data.challenge ?? '', { code: totpCode(newSecret) }, after.cookie)).status).toBe(200);
  });
});

describe('coaches', () => {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  /** POST to the Worker with MFA_REQUIRED_FOR_COACHES on. */
  const strictPost = (path: string, payload: unknown, headers: Record<string, string> = {}) =>
    worker.fetch(
      new Request(`${API}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(payload) }),
      { ...env, MFA_REQUIRED_FOR_COACHES: 'true' },
      ctx,
    );

  it('signs a coach without MFA in with the password alone, unless MFA_REQUIRED_FOR_COACHES is on', async () => {
    const coach = await createUser({ role: 'COACH' });
    expect((await passwordStep(coach.email)).data.grant).toEqual(expect.any(String));

    const strict = await strictPost('/api/auth/login', { email: coach.email, password: 'correct horse battery staple' }, ipHeader());
    const data = (await body<Step>(strict)).data;
    expect(data).toMatchObject({ mfaEnrollmentRequired: true });
    expect(data.grant).toBeUndefined();
    const cookie = {
      Cookie:
        strict.headers
          .getSetCookie()
          .find((c) => c.startsWith('__Host-hc_login='))
          ?.split(';')[0] ?? '',
    };
    const started = (await body<{ secret: string }>(await strictPost('/api/auth/mfa/enrol', { challenge: data.challenge }, cookie))).data;
    const step = currentStep();
    const done = await strictPost('/api/auth/mfa/enrol/confirm', { challenge: data.challenge, code: totpCode(started.secret, step) }, cookie);
    expect(done.status).toBe(200);
    const { grant } = (await body<{ grant: string }>(done)).data;
    const { token } = (await body<{ token: string }>(await exchange(grant, cookie))).data;
    // Required while the setting is on: not to be turned off.
    const off = await strictPost('/api/users/me/mfa/disable', { code: totpCode(started.secret, step + 1) }, bearer(token));
    expect(off.status).toBe(403);
  });

  it('lets a coach turn MFA off with a current code (not without), after which the password alone signs in', async () => {
    const { coach, token, secret, step } = await enrolledCoach();
    const status = await body<{ enabled: boolean; required: boolean; recoveryCodesLeft: number }>(await get('/api/users/me/mfa', bearer(token)));
    expect(status.data).toMatchObject({ enabled: true, required: false, recoveryCodesLeft: 10 });
    expect((await post('/api/users/me/mfa/disable', {}, bearer(token))).status).toBe(400);
    const wrong = await post('/api/users/me/mfa/disable', { code: wrongCodeFor(secret) }, bearer(token));
    expect(wrong.status).toBe(400);
    expect((await passwordStep(coach.email)).data.mfaRequired).toBe(true);
    const off = await post('/api/users/me/mfa/disable', { code: totpCode(secret, step + 1) }, bearer(token));
    expect(off.status).toBe(200);
    expect((await body(off)).data).toEqual({ enabled: false, enabledAt: null, required: false, recoveryCodesLeft: 0 });
    expect(await testDb().select().from(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, coach.id)).all()).toEqual([]);
    expect((await passwordStep(coach.email)).data.grant).toEqual(expect.any(String));
  });

  it('keeps MFA off until the first code confirms it', async () => {
    const coach = await createUser({ role: 'COACH' });
    const token = await signIn(coach.email);
    const { secret } = (await body<{ secret: string }>(await post('/api/users/me/mfa/enrol', {}, bearer(token)))).data;
    expect((await passwordStep(coach.email)).data.grant).toEqual(expect.any(String));
    const wrong = await post('/api/users/me/mfa/confirm', { code: wrongCodeFor(secret) }, bearer(token));
    expect(wrong.status).toBe(400);
    expect((await body(wrong)).error.fields).toEqual({ code: 'That code is not right. Check your authenticator app and try again.' });
    expect((await body<{ enabled: boolean }>(await get('/api/users/me/mfa', bearer(token)))).data.enabled).toBe(false);
    expect((await post('/api/users/me/mfa/confirm', { code: totpCode(secret, currentStep()) }, bearer(token))).status).toBe(200);
    expect((await passwordStep(coach.email)).data.mfaRequired).toBe(true);
    // On already: setting up again needs a current code (a stolen session alone cannot move it).
    expect((await post('/api/users/me/mfa/enrol', {}, bearer(token))).status).toBe(400);
    expect((await post('/api/users/me/mfa/confirm', { code: totpCode(secret, currentStep() + 1) }, bearer(token))).status).toBe(409);
  });
});

describe('clients', () => {
  it('never get an MFA step, and have no MFA settings', async () => {
    const client = await createUser({ role: 'CLIENT', tier: 'PREMIUM' });
    const { data } = await passwordStep(client.email);
    expect(data.grant).toEqual(expect.any(String));
    const token = await signIn(client.email);
    expect((await get('/api/users/me/mfa', bearer(token))).status).toBe(403);
    expect((await post('/api/users/me/mfa/enrol', {}, bearer(token))).status).toBe(403);
  });

  it('are not asked for a code even with MFA left from a time they were a coach', async () => {
    const { coach } = await enrolledCoach();
    await testDb().update(users).set({ role: 'CLIENT' }).where(eq(users.id, coach.id));
    const { data } = await passwordStep(coach.email);
    expect(data.grant).toEqual(expect.any(String));
    expect(data.redirectUrl?.startsWith('http://localhost:5172/')).toBe(true);
  });

  it('and a wrong body answers 400 in the one error shape', async () => {
    const { coach, secret, step } = await enrolledCoach();
    const { data, cookie } = await passwordStep(coach.email);
    const both = await post('/api/auth/mfa', { challenge: data.challenge, code: totpCode(secret, step + 1), recoveryCode: 'x' }, cookie);
    expect(both.status).toBe(400);
    expect((await body(both)).error.code).toBe('VALIDATION_ERROR');
    expect((await post('/api/auth/mfa', { challenge: data.challenge }, cookie)).status).toBe(400);
    expect((await post('/api/auth/mfa', { code: '123456' }, cookie)).status).toBe(400);
  });
});
