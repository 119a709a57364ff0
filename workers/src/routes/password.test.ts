import { SELF } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  API,
  bearer,
  bindingCookie,
  body,
  captureLogs,
  createUser,
  deliverMail,
  exchange,
  get,
  ipHeader,
  login,
  PASSWORD,
  post,
  signIn,
  testDb,
} from '../../test/helpers';
import { mailTo } from '../../test/mailpit';
import { emailOutbox, passwordResetTokens } from '../db/schema';
import { sha256Hex } from '../lib/crypto';

afterEach(() => {
  vi.useRealTimers();
});

const NEW = 'kelp forests sway in slow water';
const FORGOT_ANSWER = { message: 'If that email belongs to an account, a link to choose a new password is on its way. It works for 30 minutes.' };

async function forgot(email: string, headers = ipHeader()) {
  const res = await post('/api/auth/password/forgot', { email }, headers);
  return { status: res.status, json: await body<{ message: string }>(res) };
}

/** The path and token of the link in the last email to `email`, read from its text. */
async function linkIn(email: string, path: '/reset' | '/claim', count = 1): Promise<string> {
  await deliverMail();
  const mail = (await mailTo(email, { count })).at(-1);
  const m = new RegExp(`${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail?.Text ?? '');
  if (!m?.[1]) throw new Error(`no ${path} link in the mail`);
  return decodeURIComponent(m[1]);
}

async function reset(token: string, password: string) {
  const res = await post('/api/auth/password/reset', { token, password }, ipHeader());
  return { res, json: await body<{ grant?: string; redirectUrl?: string; mfaRequired?: true; challenge?: string }>(res) };
}

describe('forgotten password', () => {
  it('answers the same for an account, an unknown address and a never-claimed account; each gets the right email or none', async () => {
    const known = await createUser();
    const placeholder = await createUser({ passwordHash: null });
    const unknown = `nobody-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const answers = [await forgot(known.email.toUpperCase()), await forgot(unknown), await forgot(placeholder.email)];
    for (const a of answers) expect(a).toEqual({ status: 200, json: { success: true, data: FORGOT_ANSWER } });
    await deliverMail();
    const [resetMail] = await mailTo(known.email);
    expect(resetMail?.Subject).toBe('Reset your Hybrid Coach password');
    expect(resetMail?.Text).toMatch(/\/reset\?token=/);
    expect(resetMail?.Text).toContain('works once, for 30 minutes');
    // Never claimed: there is no password to reset, so the claim link comes instead.
    const [claimMail] = await mailTo(placeholder.email);
    expect(claimMail?.Text).toMatch(/\/claim\?token=/);
    expect(await testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, unknown)).all()).toEqual([]);
  });

  it('stores the token only as a hash, for 30 minutes', async () => {
    const user = await createUser();
    await forgot(user.email);
    const token = await linkIn(user.email, '/reset');
    const [row] = await testDb().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id)).all();
    expect(row?.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(30 * 60_000);
  });

  it('resets once: signs in at once, signs every other session out, the old password stops working, and says so by email', async () => {
    const user = await createUser();
    const before = await signIn(user.email);
    expect((await get('/api/users/me', bearer(before))).status).toBe(200);
    await forgot(user.email);
    const token = await linkIn(user.email, '/reset');
    const { res, json } = await reset(token, NEW);
    expect(res.status).toBe(200);
    expect(json.data.redirectUrl).toMatch(/\/auth\/callback\?grant=/);
    // The grant is bound to this browser, like a login's.
    expect((await exchange(json.data.grant!, bindingCookie(res))).status).toBe(200);
    expect((await get('/api/users/me', bearer(before))).status).toBe(401);
    expect((await login(user.email, PASSWORD)).res.status).toBe(401);
    expect((await login(user.email, NEW)).res.status).toBe(200);
    // Used: the link fails, visibly, the second time.
    const again = await reset(token, `${NEW} again`);
    expect(again.res.status).toBe(401);
    expect(again.json.error.message).toBe('This link is invalid, used or expired. Ask for a new one.');
    await deliverMail();
    const changed = (await mailTo(user.email, { count: 2 })).find((m) => m.Subject === 'Your Hybrid Coach password was changed');
    expect(changed?.Text).toContain('every device was signed out');
  });

  it('refuses weak passwords with 400 without spending the link', async () => {
    const user = await createUser({ email: `jordan.reyes-${crypto.randomUUID().slice(0, 4)}@example.com` });
    await forgot(user.email);
    const token = await linkIn(user.email, '/reset');
    for (const password of ['short', 'password1234', '111111111111', `${user.email.split('@')[0]}-rocks`]) {
      const { res, json } = await reset(token, password);
      expect(res.status).toBe(400);
      expect(json.error.fields).toHaveProperty('password');
    }
    expect((await reset(token, NEW)).res.status).toBe(200);
  });

  it('refuses an expired link (after 30 minutes), an unknown one, and missing fields', async () => {
    const user = await createUser();
    const t0 = new Date('2027-06-01T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    await forgot(user.email);
    const token = await linkIn(user.email, '/reset');
    vi.setSystemTime(t0.getTime() + 31 * 60_000);
    expect((await reset(token, NEW)).res.status).toBe(401);
    expect((await reset('made-up', NEW)).res.status).toBe(401);
    const missing = await post('/api/auth/password/reset', { token }, ipHeader());
    expect(missing.status).toBe(400);
    expect((await body(missing)).error.fields).toHaveProperty('password');
    expect((await forgot('not an email')).status).toBe(400);
    expect((await post('/api/auth/password/forgot', {}, ipHeader())).status).toBe(400);
    expect((await login(user.email)).res.status).toBe(200);
  });

  it('keeps staff behind their second step: a reset answers the MFA step, not a grant', async () => {
    const admin = await createUser({ role: 'ADMIN' });
    await forgot(admin.email);
    const token = await linkIn(admin.email, '/reset');
    const { res, json } = await reset(token, NEW);
    expect(res.status).toBe(200);
    expect(json.data.grant).toBeUndefined();
    expect(json.data).toHaveProperty('challenge');
  });

  it('limits requests per IP (429) and per address (silently, the same answer)', async () => {
    const ip = { 'CF-Connecting-IP': '198.18.0.77' };
    for (let i = 0; i < 10; i++) expect((await forgot(`y${i}@example.com`, ip)).status).toBe(200);
    expect((await forgot('y@example.com', ip)).status).toBe(429);
    const user = await createUser();
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await forgot(user.email)).json);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(await testDb().select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, user.id)).all()).toHaveLength(3);
  });

  it('never logs the token, the link or the password', async () => {
    const user = await createUser();
    let token = '';
    const lines = await captureLogs(async () => {
      await forgot(user.email);
      token = await linkIn(user.email, '/reset');
      await reset(token, NEW);
      await deliverMail();
    });
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(token);
      expect(line).not.toContain('/reset?');
      expect(line).not.toContain(NEW);
      expect(line).not.toContain(user.email);
    }
  });
});

describe('changing the password in settings', () => {
  const change = (token: string, payload: unknown) => post('/api/users/me/password', payload, bearer(token));

  it('needs the current password; signs other sessions out and keeps this one; emails the owner', async () => {
    const user = await createUser();
    const here = await signIn(user.email);
    const elsewhere = await signIn(user.email);
    const wrong = await change(here, { currentPassword: 'not my password at all', newPassword: NEW });
    expect(wrong.status).toBe(400);
    expect((await body(wrong)).error.fields).toHaveProperty('currentPassword');
    const res = await change(here, { currentPassword: PASSWORD, newPassword: NEW });
    expect(res.status).toBe(200);
    expect((await body(res)).data).toEqual({ changed: true });
    expect((await get('/api/users/me', bearer(here))).status).toBe(200);
    expect((await get('/api/users/me', bearer(elsewhere))).status).toBe(401);
    expect((await login(user.email, NEW)).res.status).toBe(200);
    const me = await body<{ passwordChangedAt: string | null }>(await get('/api/users/me', bearer(here)));
    expect(me.data.passwordChangedAt).not.toBeNull();
    await deliverMail();
    const [mail] = await mailTo(user.email);
    expect(mail?.Subject).toBe('Your Hybrid Coach password was changed');
  });

  it('refuses a weak or unchanged new password, and missing fields, with 400 naming the field', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    for (const newPassword of ['short', PASSWORD]) {
      const res = await change(token, { currentPassword: PASSWORD, newPassword });
      expect(res.status).toBe(400);
      expect((await body(res)).error.fields).toHaveProperty('newPassword');
    }
    const missing = await change(token, { currentPassword: PASSWORD });
    expect(missing.status).toBe(400);
    expect((await body(missing)).error.fields).toHaveProperty('newPassword');
    expect((await login(user.email)).res.status).toBe(200);
  });

  it('stops guessing: 429 after 10 tries in 15 minutes', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    for (let i = 0; i < 10; i++) expect((await change(token, { currentPassword: `guess number ${i}`, newPassword: NEW })).status).toBe(400);
    expect((await change(token, { currentPassword: PASSWORD, newPassword: NEW })).status).toBe(429);
  });

  it('turns reminder emails off and on in settings', async () => {
    const user = await createUser();
    const token = await signIn(user.email);
    const patch = (emailReminders: unknown) =>
      patchMe(token, { emailReminders }).then(async (r) => ({ status: r.status, json: await body<{ emailReminders: boolean }>(r) }));
    expect((await patch(false)).json.data.emailReminders).toBe(false);
    expect((await body<{ emailReminders: boolean }>(await get('/api/users/me', bearer(token)))).data.emailReminders).toBe(false);
    expect((await patch(true)).json.data.emailReminders).toBe(true);
    expect((await patch('yes')).status).toBe(400);
  });
});

function patchMe(token: string, payload: unknown) {
  return SELF.fetch(`${API}/api/users/me`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    body: JSON.stringify(payload),
  });
}
