import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { body, createUser, deliverMail, ipHeader, login, post, testDb } from '../../test/helpers';
import { mailTo } from '../../test/mailpit';
import { claimTokens, emailOutbox } from '../db/schema';
import { sha256Hex } from '../lib/crypto';
import { openOutboxRow } from '../mail/outbox';

afterEach(() => {
  vi.useRealTimers();
});

const GOOD = 'slow breathing by the sea';

async function requestLink(email: string) {
  const res = await post('/api/auth/claim/request', { email }, ipHeader());
  return { res, json: await body<{ message: string }>(res) };
}

const queuedFor = (email: string) => testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, email)).all();

/** The claim token in the last email delivered to `email` (Mailpit), read from its text as a person would. */
async function linkFor(email: string, count = 1): Promise<string> {
  await deliverMail();
  const mail = (await mailTo(email, { count })).at(-1);
  const m = /\/claim\?token=([A-Za-z0-9_-]+)/.exec(mail?.Text ?? '');
  if (!m?.[1]) throw new Error('no claim link in the mail');
  return decodeURIComponent(m[1]);
}

describe('claiming a placeholder account', () => {
  it('answers the same whatever the email, and queues a link only for an unclaimed account', async () => {
    const placeholder = await createUser({ passwordHash: null });
    const claimed = await createUser();
    const a = await requestLink(placeholder.email.toUpperCase());
    const b = await requestLink(claimed.email);
    const c = await requestLink(`nobody-${crypto.randomUUID()}@example.com`);
    expect(a.res.status).toBe(200);
    expect(a.json).toEqual(b.json);
    expect(b.json).toEqual(c.json);
    expect(await testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, claimed.email)).all()).toEqual([]);
    const token = await linkFor(placeholder.email);
    const rows = await testDb().select().from(claimTokens).where(eq(claimTokens.userId, placeholder.id)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tokenHash).toBe(await sha256Hex(token));
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBeGreaterThan(7 * 24 * 3600 * 1000 - 1000);
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBeLessThanOrEqual(7 * 24 * 3600 * 1000);
  });

  it('sets the password once; then normal login works and the link is spent', async () => {
    const user = await createUser({ passwordHash: null });
    expect((await login(user.email, GOOD)).res.status).toBe(401);
    await requestLink(user.email);
    const token = await linkFor(user.email);
    const res = await post('/api/auth/claim', { token, password: GOOD });
    expect(res.status).toBe(200);
    // Claimed and signed in: a grant for this browser, to the client portal.
    expect((await body<{ redirectUrl: string; role: string }>(res)).data).toMatchObject({
      role: 'CLIENT',
      redirectUrl: expect.stringMatching(/^http:\/\/localhost:5172\/auth\/callback\?grant=/),
    });
    expect((await login(user.email, GOOD)).res.status).toBe(200);
    expect((await post('/api/auth/claim', { token, password: `${GOOD}!` })).status).toBe(401);
    expect((await login(user.email, `${GOOD}!`)).res.status).toBe(401);
  });

  it('refuses short, common and email-based passwords without spending the link', async () => {
    const user = await createUser({ passwordHash: null, email: `maria.lopez-${crypto.randomUUID().slice(0, 4)}@example.com` });
    await requestLink(user.email);
    const token = await linkFor(user.email);
    for (const password of ['short', 'password1234', '111111111111', `${user.email.split('@')[0]}-rocks`]) {
      const res = await post('/api/auth/claim', { token, password });
      expect(res.status).toBe(400);
      expect((await body(res)).error.fields).toHaveProperty('password');
    }
    expect((await post('/api/auth/claim', { token, password: GOOD })).status).toBe(200);
  });

  it('refuses an expired link with 401', async () => {
    const user = await createUser({ passwordHash: null });
    const t0 = new Date('2027-04-01T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    await requestLink(user.email);
    const token = await linkFor(user.email);
    vi.setSystemTime(t0.getTime() + 7 * 24 * 3600 * 1000 + 1000);
    expect((await post('/api/auth/claim', { token, password: GOOD })).status).toBe(401);
  });

  it('answers bad input with 400 and an unknown token with 401, writing nothing', async () => {
    expect((await post('/api/auth/claim/request', { email: 'nope' }, ipHeader())).status).toBe(400);
    const missing = await post('/api/auth/claim', { password: GOOD });
    expect(missing.status).toBe(400);
    expect((await body(missing)).error.fields).toHaveProperty('token');
    expect((await post('/api/auth/claim', { token: 'made-up', password: GOOD })).status).toBe(401);
  });

  it('limits claim-link requests per IP', async () => {
    const ip = { 'CF-Connecting-IP': '198.18.0.9' };
    for (let i = 0; i < 10; i++) expect((await post('/api/auth/claim/request', { email: `x${i}@example.com` }, ip)).status).toBe(200);
    const limited = await post('/api/auth/claim/request', { email: 'x@example.com' }, ip);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBeTruthy();
  });

  it('keeps neither the token nor the link in the outbox in plain text; the email carries them', async () => {
    const user = await createUser({ passwordHash: null, displayName: 'Robin Placeholder' });
    // A clock ahead of the real one: the MailOutbox alarm (real clock) leaves the row queued for us to read.
    vi.useFakeTimers({ now: new Date('2027-05-01T10:00:00Z'), toFake: ['Date'] });
    await requestLink(user.email);
    const [row] = await queuedFor(user.email);
    expect(row).toMatchObject({ state: 'queued', kind: 'security', template: 'claim-account', userId: user.id });
    const opened = await openOutboxRow(env, row!);
    const token = await linkFor(user.email);
    const link = `http://localhost:5170/claim?token=${token}`;
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain('/claim?');
    expect(stored).not.toContain('Robin Placeholder');
    expect(row?.bodySealed).toMatch(/^v1\./);
    expect(opened.subject).toBe('Set your Hybrid Coach password');
    expect(opened.text).toContain(link);
    expect(opened.text).toContain('Hello Robin Placeholder');
    // Offered until the link expires, and no longer.
    const ttl = row!.expiresAt.getTime() - row!.createdAt.getTime();
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 * 1000 - 1000);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600 * 1000);
    // Once sent, the row keeps no content.
    expect(await queuedFor(user.email)).toMatchObject([{ state: 'sent', bodySealed: '' }]);
  });

  it('queues at most 3 claim mails per address an hour, from any IP, with the same answer every time', async () => {
    const user = await createUser({ passwordHash: null });
    const stranger = `nobody-${crypto.randomUUID()}@example.com`;
    const t0 = new Date('2027-04-02T10:00:00Z');
    vi.useFakeTimers({ now: t0, toFake: ['Date'] });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await requestLink(user.email)).json);
    for (let i = 0; i < 5; i++) answers.push((await requestLink(stranger)).json);
    // ipHeader() gives each request its own IP: the per-address limit is at work, and it says nothing.
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(await queuedFor(user.email)).toHaveLength(3);
    expect(await testDb().select().from(claimTokens).where(eq(claimTokens.userId, user.id)).all()).toHaveLength(3);
    vi.setSystemTime(t0.getTime() + 60 * 60 * 1000 + 1000);
    await requestLink(user.email);
    expect(await queuedFor(user.email)).toHaveLength(4);
  });
});
