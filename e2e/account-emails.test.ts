/**
 * Email, end to end: the Worker's MailOutbox sends over SMTP to the stack's Mailpit, and a person follows
 * the link in the email's own text in real Chromium. A forgotten password from the sign-in page to a new
 * one (the used link then fails visibly); and mail queued while the mail server refuses is delivered,
 * once, when it accepts again.
 * A screenshot of every screen goes to e2e/artifacts/account-emails/.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, browserTestFiles, createClient, eventually, skipAfterFirstFailure } from './helpers';
import { clearChaos, countByMessageId, linkIn, listMailTo, setChaos, waitForMail } from './mail';
import { queryLocalD1 } from './stack';

const portals = inject('portalUrls');
const password = inject('demoPassword');
const NEW_PASSWORD = 'kelp forests sway in slow water';
const RESETTER = { email: `reset-${Date.now()}@example.com`, name: 'Rowan Reset' };

const files = browserTestFiles('account-emails');
let browser: Browser;
let page: Page;
const screenshot = (name: string) => files.screenshot(page, name);
const textOf = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
/** Submits a new password on a claim or reset page whose link was used: the page says so. */
async function useLinkAgain(on: Page): Promise<void> {
  await on.waitForSelector('[data-testid=set-password] input[name=newPassword]');
  await on.type('[data-testid=set-password] input[name=newPassword]', `${NEW_PASSWORD} again`);
  await on.type('[data-testid=set-password] input[name=confirmPassword]', `${NEW_PASSWORD} again`);
  await on.click('[data-testid=set-password] button[type=submit]');
  await on.waitForSelector('::-p-text(This link does not work)', { timeout: 15_000 });
}
const loginStatus = async (email: string, pw: string) => (await api('POST', '/api/auth/login', { body: { email, password: pw } })).status;

describe('a forgotten password, from the sign-in page to signed in again', () => {
  skipAfterFirstFailure();
  let resetLink: URL;

  beforeAll(async () => {
    await createClient(RESETTER.email, RESETTER.name, 'VAGUS_MEMBER');
    await files.portals('public', 'client');
    browser = await files.chromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  it('asks for a link on the sign-in page and gets the same answer a stranger would', async () => {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await page.click('::-p-text(Forgot your password?)');
    await page.waitForSelector('[data-testid=forgot-password] input[name=email]');
    await page.type('[data-testid=forgot-password] input[name=email]', RESETTER.email);
    await screenshot('login-forgot');
    await page.click('[data-testid=forgot-password] button[type=submit]');
    await page.waitForSelector('[data-testid=forgot-password] [role=status]:not(:empty)', { timeout: 15_000 });
    const answer = await textOf('[data-testid=forgot-password] [role=status]');
    expect(answer).toContain('If that email belongs to an account');
    await screenshot('login-forgot-sent');
    const stranger = await api<{ message: string }>('POST', '/api/auth/password/forgot', { body: { email: `nobody-${Date.now()}@example.com` } });
    expect(stranger.body.success && answer.includes(stranger.body.data.message)).toBe(true);
  });

  it('gets the email, follows its link, chooses a new password and lands in the client portal signed in', async () => {
    const mail = await waitForMail(RESETTER.email, { subject: 'Reset your Hybrid Coach password', timeoutMs: 20_000 });
    expect(mail.HTML).toContain('Choose a new password');
    resetLink = linkIn(mail.Text, '/reset');
    expect(resetLink.origin).toBe(portals.public);
    await page.goto(resetLink.href, { waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid=set-password] input[name=newPassword]');
    // The token leaves the address bar at once.
    expect(page.url()).not.toContain('token=');
    await page.type('[data-testid=set-password] input[name=newPassword]', NEW_PASSWORD);
    await page.type('[data-testid=set-password] input[name=confirmPassword]', NEW_PASSWORD);
    await screenshot('reset-choose');
    await Promise.all([page.waitForSelector('[data-testid=tier-banner]', { timeout: 20_000 }), page.click('[data-testid=set-password] button[type=submit]')]);
    expect(page.url().startsWith(portals.client)).toBe(true);
    await screenshot('reset-signed-in');
    // The old password is refused, the new one works; and the account was told.
    expect(await loginStatus(RESETTER.email, password)).toBe(401);
    expect(await loginStatus(RESETTER.email, NEW_PASSWORD)).toBe(200);
    await waitForMail(RESETTER.email, { subject: 'Your Hybrid Coach password was changed' });
  });

  it('signs out, signs in with the new password, and the used link fails visibly', async () => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('::-p-text(Sign out)')]);
    expect(page.url()).toBe(`${portals.public}/login`);
    await page.type('input[name=email]', RESETTER.email);
    await page.type('input[name=password]', NEW_PASSWORD);
    await Promise.all([page.waitForSelector('[data-testid=tier-banner]', { timeout: 20_000 }), page.click('button[type=submit]')]);

    // Opened again, the link still shows the form; using it is refused, visibly.
    await page.goto(resetLink.href, { waitUntil: 'networkidle0' });
    await useLinkAgain(page);
    expect(await textOf('[role=alert]')).toContain('This link is invalid, used or expired');
    await screenshot('reset-link-used');
  });
});

describe('mail while the mail server refuses', () => {
  it('is kept and retried, then delivered exactly once when the server accepts again', async () => {
    const email = `outage-${Date.now()}@example.com`;
    await createClient(email, 'Oakley Outage');
    // A placeholder: never claimed, so a request gets the claim link.
    await queryLocalD1(inject('persistDir'), `UPDATE users SET password_hash = NULL WHERE email = '${email}';`);
    await setChaos({ Recipient: { ErrorCode: 451, Probability: 100 } });
    try {
      expect((await api('POST', '/api/auth/claim/request', { body: { email } })).status).toBe(200);
      // Refused (451, "try again later") at least twice: the row stays queued with its attempts counted.
      const row = await eventually(
        'two refused attempts',
        async () => {
          const [r] = await queryLocalD1<{ id: string; state: string; attempts: number; last_error: string | null }>(
            inject('persistDir'),
            `SELECT e.id, e.state, e.attempts, e.last_error FROM email_outbox e JOIN users u ON u.id = e.user_id WHERE u.email = '${email}';`,
          );
          return r && r.attempts >= 2 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(row.state).toBe('queued');
      expect(row.last_error).toMatch(/^rcpt 451/);
      expect(await listMailTo(email)).toEqual([]);
    } finally {
      await clearChaos();
    }
    const mail = await waitForMail(email, { subject: 'Set your Hybrid Coach password', timeoutMs: 30_000 });
    expect(await countByMessageId(mail.MessageID)).toBe(1);
    const [sent] = await queryLocalD1<{ state: string; body_sealed: string }>(
      inject('persistDir'),
      `SELECT e.state, e.body_sealed FROM email_outbox e JOIN users u ON u.id = e.user_id WHERE u.email = '${email}';`,
    );
    expect(sent).toEqual({ state: 'sent', body_sealed: '' });
  });
});
