/**
 * The public site and the client portal in real Chromium, each built by Vite and served by
 * `vite preview` on its own origin, against the real Worker of the e2e stack: sign in on one origin,
 * land on the other through the grant (only in the browser that signed in), and start sessions within
 * the FREE tier's month.
 * A screenshot of every screen goes to e2e/artifacts/portal-login/.
 */
import { CONSENT_POINTS } from '@hybrid-coach/shared/consent';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiOk, browserTestFiles, endSessionInCall, eventually } from './helpers';
import { queryLocalD1 } from './stack';

const apiOrigin = inject('apiOrigin');
const portals = inject('portalUrls');
const password = inject('demoPassword');

const files = browserTestFiles('portal-login');
let browser: Browser;
let page: Page;
/** Saves a full-page screenshot named after the screen, numbered in the order visited. */
const screenshot = (name: string, on: Page = page) => files.screenshot(on, name);

const textOf = (p: Page, selector: string) => p.$eval(selector, (el) => el.textContent ?? '');

describe('signing in across origins and starting a FREE session', () => {
  let grantUrl = '';

  beforeAll(async () => {
    await files.portals('public', 'client');
    // The call room asks for the microphone and plays the coach's voice: no prompt, no click first.
    browser = await files.chromium({ media: true });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  it('shows what Hybrid Coach is and the three plans from the tier table', async () => {
    await page.goto(`${portals.public}/`, { waitUntil: 'networkidle0' });
    expect(await textOf(page, 'h1')).toContain('Voice coaching');
    await screenshot('public-home');

    await page.goto(`${portals.public}/pricing`, { waitUntil: 'networkidle0' });
    const plans = await page.$$eval('[aria-label="Membership plans"] > li h2', (els) => els.map((e) => e.textContent));
    expect(plans).toEqual(['Free', 'Vagus Member', 'Premium']);
    await screenshot('public-pricing');
  });

  it('says what a session records and for how long on the privacy page, linked from the sign-in page and the footer', async () => {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    expect(await page.$eval('footer ::-p-text(Privacy)', (a) => (a as HTMLAnchorElement).href)).toBe(`${portals.public}/privacy`);
    await page.click('::-p-text(What we record in a session)');
    await page.waitForSelector('#privacy-title');
    expect(page.url()).toBe(`${portals.public}/privacy`);
    // The same words the client portal asks a client to agree to.
    const points = await page.$$eval('[data-testid=consent-points] li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(points).toEqual([...CONSENT_POINTS]);
    expect(points.join(' ')).toContain('12 months');
    await screenshot('public-privacy');
  });

  it('shows a wrong password in place, without leaving the page', async () => {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await page.type('input[name=email]', 'free@example.com');
    await page.type('input[name=password]', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('[role=alert]');
    expect(await textOf(page, '[role=alert]')).toContain('Email or password is incorrect');
    expect(page.url()).toBe(`${portals.public}/login`);
    await screenshot('public-login-error');
  });

  it('signs in on the public site and lands on the client portal dashboard with the tier banner', async () => {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await screenshot('public-login');
    await page.type('input[name=email]', 'free@example.com');
    await page.type('input[name=password]', password);
    // The grant URL the public site sent the browser to (the callback replaces it once exchanged).
    const visited: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) visited.push(frame.url());
    });
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
    grantUrl = visited.find((u) => u.includes('/auth/callback')) ?? '';
    expect(grantUrl.startsWith(`${portals.client}/auth/callback?grant=`)).toBe(true);

    expect(page.url()).toBe(`${portals.client}/dashboard`);
    const banner = await textOf(page, '[data-testid=tier-banner]');
    expect(banner).toContain('Free plan');
    expect(banner).toContain('20 minutes left this month');
    expect(banner).toMatch(/Resets on/);
    expect(await textOf(page, '#main')).toContain('No sessions yet');
    await screenshot('client-dashboard');
  });

  it('refuses the same grant URL the second time, with a way back to sign in', async () => {
    const second = await browser.newPage();
    try {
      await second.goto(grantUrl, { waitUntil: 'networkidle0' });
      await second.waitForSelector('::-p-text(We could not sign you in)', { timeout: 15_000 });
      const back = await second.$eval('::-p-text(Back to sign in)', (a) => (a as HTMLAnchorElement).href);
      expect(back).toBe(`${portals.public}/login`);
      expect(second.url()).toContain('/auth/callback');
      await screenshot('client-callback-used-grant', second);
    } finally {
      await second.close();
    }
  });

  it('refuses a grant opened in another browser: a sign-in link cannot sign a victim into the attacker’s account', async () => {
    // The attacker signs in on the public site in a browser of their own, and keeps the grant URL
    // instead of following it.
    const attackerBrowser = await browser.createBrowserContext();
    const victimBrowser = await browser.createBrowserContext();
    try {
      const attacker = await attackerBrowser.newPage();
      await attacker.setRequestInterception(true);
      let captured = '';
      attacker.on('request', (request) => {
        // A request still pending when the page closes can no longer be resolved: nothing to do then.
        const settled = () => undefined;
        if (request.isNavigationRequest() && request.url().includes('/auth/callback')) {
          captured = request.url();
          request.abort().catch(settled);
        } else {
          request.continue().catch(settled);
        }
      });
      await attacker.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
      await attacker.type('input[name=email]', 'member@example.com');
      await attacker.type('input[name=password]', password);
      await attacker.click('button[type=submit]');
      const attackersGrantUrl = await eventually('the public site to send the attacker to the callback', () => captured || undefined);
      expect(attackersGrantUrl.startsWith(`${portals.client}/auth/callback?grant=`)).toBe(true);

      // The victim opens the link in their own browser (a fresh one, signed in to nothing).
      const victim = await victimBrowser.newPage();
      await victim.goto(attackersGrantUrl, { waitUntil: 'networkidle0' });
      await victim.waitForSelector('::-p-text(We could not sign you in)', { timeout: 15_000 });
      expect(await textOf(victim, '#main')).toContain('This sign-in link was opened in a different browser from the one that signed in.');
      await screenshot('client-callback-other-browser', victim);
      // Not signed in as anyone: no token in the page, and the API answers the victim's browser 401.
      expect(await victim.evaluate(() => sessionStorage.getItem('hc_token'))).toBeNull();
      const me = await victim.evaluate(async (api) => (await fetch(`${api}/api/users/me`, { credentials: 'include' })).status, apiOrigin);
      expect(me).toBe(401);
      await victim.goto(`${portals.client}/dashboard`, { waitUntil: 'networkidle0' });
      expect(await victim.$('[data-testid=tier-banner]')).toBeNull();

      // The refused grant is spent: not even the attacker's browser can use it now.
      await attacker.close();
      const again = await attackerBrowser.newPage();
      await again.goto(attackersGrantUrl, { waitUntil: 'networkidle0' });
      await again.waitForSelector('::-p-text(We could not sign you in)', { timeout: 15_000 });
      expect(await textOf(again, '#main')).toContain('This sign-in link is invalid, used or expired.');
    } finally {
      await attackerBrowser.close();
      await victimBrowser.close();
    }
  });

  it('starts a session for a FREE client, goes back to it while it lasts, and refuses one more this month with the upgrade prompt', async () => {
    // Onboarding comes first (client-journey.test.ts goes through it in the browser); here it is done through the API.
    const onboardingToken = await page.evaluate(() => sessionStorage.getItem('hc_token'));
    const onboarded = await fetch(`${apiOrigin}/api/users/me/profile`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${onboardingToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ coachingGoals: 'Feel calmer', initialMood: 3 }),
    });
    expect(onboarded.status).toBe(200);
    await page.reload({ waitUntil: 'networkidle0' });
    await page.click('::-p-text(Start a session)');
    await page.waitForSelector('[data-testid=session-id]', { timeout: 20_000 });
    const sessionId = await textOf(page, '[data-testid=session-id]');
    expect(page.url()).toBe(`${portals.client}/call/${sessionId}`);
    // The session the page shows is the one the API recorded for this client.
    const token = await page.evaluate(() => sessionStorage.getItem('hc_token'));
    expect(token).toBeTruthy();
    const history = await apiOk<{ id: string; status: string }[]>('GET', '/api/sessions', { token: token ?? '' });
    expect(history.map((s) => s.id)).toEqual([sessionId]);
    await screenshot('client-call-preparing');

    await Promise.all([page.waitForSelector('[data-testid=tier-banner]'), page.locator('::-p-text(Back to your dashboard)').click()]);
    expect(await textOf(page, '[data-testid=tier-banner]')).toContain('1 of 1 session used');
    // One session at a time: while it lasts, "Start a session" goes back to it (the API answers 409 naming it).
    await page.click('::-p-text(Start a session)');
    await page.waitForFunction((id: string) => location.pathname === `/call/${id}`, { timeout: 15_000 }, sessionId);
    await page.waitForSelector('[data-testid=session-id]', { timeout: 20_000 });
    expect(await textOf(page, '[data-testid=session-id]')).toBe(sessionId);
    expect((await apiOk<{ id: string }[]>('GET', '/api/sessions', { token: token ?? '' })).map((s) => s.id)).toEqual([sessionId]);

    // End it from the call route, as the client would.
    await endSessionInCall(page);
    await page.waitForSelector('::-p-text(Session ended)', { timeout: 15_000 });
    await screenshot('client-call-ended');
    const after = await apiOk<{ id: string; status: string }[]>('GET', '/api/sessions', { token: token ?? '' });
    expect(after[0]?.status).not.toBe('WAITING');

    // It never started, so the month's session came back; once one has run, the month is used up.
    await queryLocalD1(inject('persistDir'), `UPDATE users SET monthly_sessions_used = 1 WHERE email = 'free@example.com'`);
    try {
      await page.goto(`${portals.client}/dashboard`, { waitUntil: 'networkidle0' });
      expect(await textOf(page, '[data-testid=tier-banner]')).toContain('1 of 1 session used');
      await page.click('::-p-text(Start a session)');
      await page.waitForSelector('::-p-text(Upgrade your plan)', { timeout: 15_000 });
      const upgrade = await page.$eval('::-p-text(Upgrade your plan)', (a) => (a as HTMLAnchorElement).href);
      expect(upgrade).toBe(`${portals.public}/pricing`);
      expect(page.url()).toBe(`${portals.client}/dashboard`);
      await screenshot('client-dashboard-upgrade-prompt');
    } finally {
      await queryLocalD1(inject('persistDir'), `UPDATE users SET monthly_sessions_used = 0 WHERE email = 'free@example.com'`);
    }
  });
});
