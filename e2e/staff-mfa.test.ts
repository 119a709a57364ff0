/**
 * Two-step sign-in for staff, in real Chromium against the e2e stack: a coach of this file's own sets
 * it up in the coach portal's settings (the test reads the key the page shows and computes codes from
 * it with otpauth, as an authenticator app would), signs out, signs in on the public site with a code
 * after a wrong one is refused, then with a recovery code, which works once. An admin without it
 * cannot reach the portal before setting it up on the public site's sign-in.
 * A screenshot of every screen goes to e2e/artifacts/staff-mfa/.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiOk, browserTestFiles, coachPortalUrl, createCoach, eventually, skipAfterFirstFailure, totpCode, totpStep } from './helpers';
import { queryLocalD1 } from './stack';

const COACH_EMAIL = `mfa-coach-${Date.now().toString(36)}@example.com`;
const ADMIN_EMAIL = `mfa-admin-${Date.now().toString(36)}@example.com`;
const portals = inject('portalUrls');
const COACH_PORTAL_URL = coachPortalUrl();

describe('two-step sign-in for a coach', () => {
  let browser: Browser;
  let page: Page;
  const files = browserTestFiles('staff-mfa');
  /** What the coach set up: the key read from the page, the recovery codes shown, the last TOTP step used. */
  const mfa = { secret: '', recoveryCodes: [] as string[], lastStep: 0 };

  const screenshot = (name: string) => files.screenshot(page, name);
  const textOf = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

  /** Email and password on the public site's sign-in page. */
  async function password(email = COACH_EMAIL): Promise<void> {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await page.type('input[name=email]', email);
    await page.type('input[name=password]', inject('demoPassword'));
    await page.click('button[type=submit]');
  }

  /** Signed in: the coach portal's dashboard with its navigation. */
  const onCoachDashboard = async () => {
    // The callback shows the navigation too, before it exchanges the grant and moves on.
    await page.waitForFunction((url) => location.href === url, { timeout: 15_000 }, `${COACH_PORTAL_URL}/dashboard`);
    await page.waitForSelector('nav a[href="/settings"]', { timeout: 15_000 });
  };

  async function signOut(): Promise<void> {
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.locator('::-p-text(Sign out)').click()]);
    expect(page.url()).toBe(`${portals.public}/login`);
  }

  /** Signs out, then in with the password, and switches the second step to a recovery code. */
  async function signOutAndInToRecoveryCode(): Promise<void> {
    await signOut();
    await password();
    await page.waitForSelector('[data-testid=mfa-proof] input[name=code]', { timeout: 15_000 });
    await page.locator('::-p-text(Use a recovery code instead)').click();
    await page.waitForSelector('[data-testid=mfa-proof] input[name=recoveryCode]');
  }

  /**
   * A code the Worker has not seen yet: codes are accepted once, so after one was used in this 30-second
   * step, wait for the next step to begin (a computed instant, at most 30 s away) and use its code.
   */
  async function freshCode(): Promise<string> {
    const step = Math.max(totpStep(), mfa.lastStep + 1);
    await eventually(`TOTP step ${step} to begin`, () => Date.now() >= step * 30_000, { timeoutMs: 31_000, intervalMs: 100 });
    mfa.lastStep = step;
    return totpCode(mfa.secret, step);
  }

  /** A six-digit code that is none of the codes the Worker accepts now (one step either side). */
  function wrongCode(): string {
    const accepted = new Set([-1, 0, 1, 2].map((d) => totpCode(mfa.secret, totpStep() + d)));
    let n = 314159;
    while (accepted.has(String(n))) n += 1;
    return String(n);
  }

  beforeAll(async () => {
    await Promise.all([createCoach(COACH_EMAIL, 'Morgan Mfa'), createCoach(ADMIN_EMAIL, 'Ada Admin'), files.portals('public', 'coach')]);
    await queryLocalD1(inject('persistDir'), `UPDATE users SET role = 'ADMIN' WHERE email = '${ADMIN_EMAIL}'`);
    browser = await files.chromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    page.on('pageerror', (e) => console.error(`staff-mfa page error: ${e instanceof Error ? e.message : String(e)}`));
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  skipAfterFirstFailure();

  it('sets up two-step sign-in in the settings: QR code and key, confirmed by a first code, recovery codes shown once', async () => {
    await password();
    await onCoachDashboard();
    await Promise.all([page.waitForSelector('[data-testid=coach-mfa] [data-testid=mfa-status]', { timeout: 15_000 }), page.click('nav a[href="/settings"]')]);
    expect(await textOf('[data-testid=mfa-status]')).toContain('Off.');
    await page.locator('[data-testid=coach-mfa] ::-p-text(Set up two-step sign-in)').click();
    await page.waitForSelector('[data-testid=mfa-secret]', { timeout: 15_000 });
    expect(await page.$('[data-testid=mfa-setup] svg[role=img][aria-label="QR code for your authenticator app"] path')).not.toBeNull();
    // The key as a person would type it into their app: the groups of four, spaces dropped.
    mfa.secret = (await textOf('[data-testid=mfa-secret]')).replace(/\s/g, '');
    expect(mfa.secret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshot('settings-mfa-setup');

    mfa.lastStep = totpStep();
    await page.type('[data-testid=mfa-setup] input[name=code]', totpCode(mfa.secret, mfa.lastStep));
    await page.locator('[data-testid=mfa-setup] ::-p-text(Turn on two-step sign-in)').click();
    await page.waitForSelector('[data-testid=recovery-codes] li', { timeout: 15_000 });
    mfa.recoveryCodes = await page.$$eval('[data-testid=recovery-codes] li code', (els) => els.map((e) => e.textContent ?? ''));
    expect(mfa.recoveryCodes).toHaveLength(10);
    await screenshot('settings-mfa-recovery-codes');
    await page.locator('::-p-text(I have saved them)').click();
    await page.waitForSelector('::-p-text(10 of 10 recovery codes left)', { timeout: 15_000 });
    expect(await textOf('[data-testid=mfa-status]')).toMatch(/^On since /);
    // The codes are shown once: they are gone from the page, and the API never answers them again.
    expect(await page.$('[data-testid=recovery-codes]')).toBeNull();
    const token = await page.evaluate(() => sessionStorage.getItem('hc_token'));
    const status = await apiOk<Record<string, unknown>>('GET', '/api/users/me/mfa', { token: token ?? '' });
    expect(status).toEqual({ enabled: true, enabledAt: expect.any(String), required: false, recoveryCodesLeft: 10 });
    await screenshot('settings-mfa-on');
  });

  it('signs out, then in on the public site with a code from the app, after refusing a wrong one in place', async () => {
    await signOut();
    await password();
    await page.waitForSelector('[data-testid=mfa-proof] input[name=code]', { timeout: 15_000 });
    expect(await textOf('h1')).toBe('Two-step sign-in');
    expect(page.url()).toBe(`${portals.public}/login`);
    await screenshot('public-login-code');

    await page.type('input[name=code]', wrongCode());
    await page.click('[data-testid=mfa-proof] button[type=submit]');
    await page.waitForSelector('[data-testid=mfa-proof] [role=alert]', { timeout: 15_000 });
    expect(await textOf('[data-testid=mfa-proof] [role=alert]')).toContain('That code is not right. Check your authenticator app and try again.');
    expect(page.url()).toBe(`${portals.public}/login`);
    await screenshot('public-login-wrong-code');

    const code = await freshCode();
    // Select what is in the field and type over it, as a person would.
    await page.click('input[name=code]', { count: 3 });
    await page.type('input[name=code]', code);
    await page.click('[data-testid=mfa-proof] button[type=submit]');
    await onCoachDashboard();
    await screenshot('coach-dashboard-after-code');
  });

  it('signs in with a recovery code once; the same code is refused the second time', async () => {
    const [first = '', second = ''] = mfa.recoveryCodes;
    await signOutAndInToRecoveryCode();
    await page.type('input[name=recoveryCode]', first);
    await screenshot('public-login-recovery-code');
    await page.click('[data-testid=mfa-proof] button[type=submit]');
    await onCoachDashboard();

    await signOutAndInToRecoveryCode();
    await page.type('input[name=recoveryCode]', first);
    await page.click('[data-testid=mfa-proof] button[type=submit]');
    await page.waitForSelector('[data-testid=mfa-proof] [role=alert]', { timeout: 15_000 });
    expect(await textOf('[data-testid=mfa-proof] [role=alert]')).toContain('That code is not right.');
    expect(page.url()).toBe(`${portals.public}/login`);
    await screenshot('public-login-recovery-code-used');

    // Another of the codes still works, and the settings count what is left.
    await page.click('input[name=recoveryCode]', { count: 3 });
    await page.type('input[name=recoveryCode]', second);
    await page.click('[data-testid=mfa-proof] button[type=submit]');
    await onCoachDashboard();
    await Promise.all([page.waitForSelector('[data-testid=mfa-status]', { timeout: 15_000 }), page.click('nav a[href="/settings"]')]);
    await page.waitForSelector('::-p-text(8 of 10 recovery codes left)', { timeout: 15_000 });
  });

  it('makes an admin without two-step sign-in set it up on the public site before reaching the portal', async () => {
    await signOut();
    await password(ADMIN_EMAIL);
    await page.waitForSelector('[data-testid=mfa-secret]', { timeout: 15_000 });
    expect(await textOf('h1')).toBe('Set up two-step sign-in');
    expect(page.url()).toBe(`${portals.public}/login`);
    const secret = (await textOf('[data-testid=mfa-secret]')).replace(/\s/g, '');
    await screenshot('public-login-admin-setup');
    await page.type('[data-testid=mfa-setup] input[name=code]', totpCode(secret));
    await page.locator('[data-testid=mfa-setup] ::-p-text(Turn on two-step sign-in)').click();
    await page.waitForSelector('[data-testid=recovery-codes] li', { timeout: 15_000 });
    expect(await page.$$eval('[data-testid=recovery-codes] li', (els) => els.length)).toBe(10);
    await screenshot('public-login-admin-recovery-codes');
    await page.locator('::-p-text(Continue to your portal)').click();
    await onCoachDashboard();
    await Promise.all([page.waitForSelector('[data-testid=mfa-status]', { timeout: 15_000 }), page.click('nav a[href="/settings"]')]);
    await page.waitForSelector('::-p-text(Required for your account)', { timeout: 15_000 });
    expect(await page.$('[data-testid=coach-mfa] ::-p-text(Turn off)')).toBeNull();
    await screenshot('settings-admin-mfa-required');
  });
});
