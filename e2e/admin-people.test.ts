/**
 * The coach portal's Admin section in real Chromium against the e2e stack: an admin of this file's own
 * (two-step sign-in set up at its first sign-in, as admins must) finds a FREE client of this file's own
 * in People, makes them PREMIUM with a reason on their page, and the client's portal, open in another
 * browser context, shows the Premium plan on its next load; the change is in the person's history and
 * in the audit log. A coach sees no Admin section and the API refuses them.
 * Screenshots of each admin screen, at desktop and phone widths, go to e2e/artifacts/admin-people/.
 */
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  apiOk,
  browserTestFiles,
  coachPortalUrl,
  createClient,
  createCoach,
  login,
  openWithGrant,
  portalPage,
  signInClientPortal,
  skipAfterFirstFailure,
} from './helpers';
import { queryLocalD1 } from './stack';

const stamp = Date.now().toString(36);
const CLIENT_EMAIL = `admin-people-client-${stamp}@example.com`;
const CLIENT_NAME = `Parker Upgrade ${stamp}`;
const ADMIN_EMAIL = `admin-people-admin-${stamp}@example.com`;
const COACH_EMAIL = `admin-people-coach-${stamp}@example.com`;
const REASON = 'Bought the twelve-week coaching package';
const DESKTOP = { width: 1200, height: 860 };

describe('the Admin section: an admin makes a client Premium', () => {
  const files = browserTestFiles('admin-people');
  let browser: Browser;
  let page: Page;
  let clientContext: BrowserContext;
  let clientPage: Page;
  let clientId = '';

  /** A screenshot at desktop width, then at phone width (back to desktop after). */
  const screens = (name: string, on: Page = page) => files.screens(on, name, DESKTOP);
  const textOf = (selector: string, on: Page = page) => on.$eval(selector, (el) => el.textContent ?? '');

  beforeAll(async () => {
    await Promise.all([createClient(CLIENT_EMAIL, CLIENT_NAME, 'FREE'), createCoach(ADMIN_EMAIL, 'Ada Admin'), createCoach(COACH_EMAIL, 'Cory Coach')]);
    await queryLocalD1(inject('persistDir'), `UPDATE users SET role = 'ADMIN' WHERE email = '${ADMIN_EMAIL}'`);
    clientId = (await apiOk<{ id: string }>('GET', '/api/users/me', { token: await login(CLIENT_EMAIL) })).id;
    await files.portals('client', 'coach');
    browser = await files.chromium();
    page = await portalPage(browser, 'coach');
    // The client in a browser context of their own: another person's cookies and storage.
    clientContext = await browser.createBrowserContext();
    clientPage = await portalPage(clientContext, 'client');
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  skipAfterFirstFailure();

  it('shows the client their Free plan before', async () => {
    await signInClientPortal(clientPage, CLIENT_EMAIL);
    expect(await textOf('[data-testid=tier-banner]', clientPage)).toContain('Free plan');
  });

  it('gives the admin an Admin section, and finds the client in People by name', async () => {
    await openWithGrant(page, coachPortalUrl(), ADMIN_EMAIL);
    await page.waitForSelector('nav[aria-label=Main] a[href="/admin"]', { timeout: 15_000 });
    await Promise.all([page.waitForSelector('[data-testid=people-filters]'), page.click('nav[aria-label=Main] a[href="/admin"]')]);
    expect(page.url()).toBe(`${coachPortalUrl()}/admin/people`);
    await page.waitForSelector('[data-testid=people]', { timeout: 15_000 });
    await screens('admin-people');

    await page.type('input[name=q]', CLIENT_NAME);
    await page.select('select[name=tier]', 'FREE');
    await page.click('[data-testid=people-filters] button[type=submit]');
    // The unfiltered list may hold the client too: wait for the list the search answered (one row).
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=person-row]').length === 1, { timeout: 15_000 });
    const row = `[data-testid=person-row][data-person-id="${clientId}"]`;
    expect(await page.$(row)).not.toBeNull();
    expect(await textOf(`${row} [data-field=tier]`)).toBe('Free');
    await screens('admin-people-found');
  });

  it('makes the client Premium with a reason, shown in their history', async () => {
    await Promise.all([page.waitForSelector('[data-testid=person-actions]', { timeout: 15_000 }), page.click(`[data-person-id="${clientId}"] a`)]);
    expect(await textOf('h1')).toBe(CLIENT_NAME);
    expect(await textOf('[data-testid=person-tier]')).toBe('Free');
    await screens('admin-person');

    // A reason of two letters is no reason: refused in place, nothing sent.
    await page.select('select[name=tier]', 'PREMIUM');
    await page.type('textarea[name=reason]', 'ok');
    await page.click('[data-testid=person-actions] button[type=submit]');
    await page.waitForSelector('[data-testid=person-actions] [role=alert]');
    expect(await textOf('[data-testid=person-tier]')).toBe('Free');

    // The real reason in place of the two letters.
    await page.focus('textarea[name=reason]');
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.type(REASON);
    await page.click('[data-testid=person-actions] button[type=submit]');
    await page.waitForFunction(() => document.querySelector('[data-testid=person-tier]')?.textContent === 'Premium', { timeout: 15_000 });
    const latest = await textOf('[data-testid=person-history] li:first-child');
    expect(latest).toContain('Tier: Free → Premium');
    expect(latest).toContain('Ada Admin');
    expect(latest).toContain(REASON);
    await screens('admin-person-premium');
  });

  it('shows the client the Premium plan on their next load', async () => {
    await clientPage.reload();
    await clientPage.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
    expect(await textOf('[data-testid=tier-banner]', clientPage)).toContain('Premium plan');
    await files.screenshot(clientPage, 'client-dashboard-premium');
  });

  it('lists the change in the audit log, with who, whom and why', async () => {
    await Promise.all([page.waitForSelector('[data-testid=audit-filters]'), page.click('nav[aria-label=Admin] a[href="/admin/audit"]')]);
    await page.select('select[name=action]', 'user.set-tier');
    await page.click('[data-testid=audit-filters] button[type=submit]');
    // The filtered list (every row a set-tier), and the client's row read in the same look: the list
    // before the filter can hold that row too, and goes while the filtered one loads.
    const found = await page.waitForFunction(
      (name) => {
        const rows = Array.from(document.querySelectorAll('[data-testid=audit-row]'));
        if (!rows.every((r) => r.getAttribute('data-action') === 'user.set-tier')) return undefined;
        return rows.find((r) => r.textContent?.includes(name))?.textContent ?? undefined;
      },
      { timeout: 15_000 },
      CLIENT_NAME,
    );
    const entry = String(await found.jsonValue());
    expect(entry).toContain('Ada Admin');
    expect(entry).toContain(REASON);
    expect(entry).toContain('"PREMIUM"');
    await screens('admin-audit');
  });

  it("shows the AI's latency per UTC day, a day slower than the target marked", async () => {
    // Two finished sessions of this file's client, measured on days no other file's session falls on.
    const DAY_MS = 86_400_000;
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const days = [
      { id: `admin-latency-${stamp}-quick`, at: today - 20 * DAY_MS + 3_600_000, turns: 6, p50: 780, worst: 1_100 },
      { id: `admin-latency-${stamp}-slow`, at: today - 21 * DAY_MS + 3_600_000, turns: 9, p50: 1_900, worst: 4_200 },
    ];
    await queryLocalD1(
      inject('persistDir'),
      days
        .map(
          (d) =>
            `INSERT INTO coaching_sessions (id, room_name, client_id, status, tier_at_start, started_at, ended_at, created_at) VALUES ('${d.id}', 'session-${d.id}', '${clientId}', 'COMPLETED', 'PREMIUM', ${d.at - 600_000}, ${d.at}, ${d.at - 600_000});
INSERT INTO session_turn_timings (session_id, job_id, measured_at, turns, end_of_utterance_p50_ms, llm_first_token_p50_ms, tts_first_byte_p50_ms, total_p50_ms, total_worst_ms) VALUES ('${d.id}', 'AJ_e2e', ${d.at}, ${d.turns}, 600, 300, 200, ${d.p50}, ${d.worst});`,
        )
        .join('\n'),
    );
    await Promise.all([page.waitForSelector('select[name=days]'), page.click('nav[aria-label=Admin] a[href="/admin/latency"]')]);
    await page.select('select[name=days]', '30');
    const row = (at: number) => `[data-testid=latency-day][data-day="${new Date(at).toISOString().slice(0, 10)}"]`;
    await page.waitForSelector(row(days[1]!.at), { timeout: 15_000 });
    expect(await page.$eval(row(days[0]!.at), (r) => r.getAttribute('data-slow'))).toBe('false');
    expect(await page.$eval(row(days[1]!.at), (r) => r.getAttribute('data-slow'))).toBe('true');
    // Whatever the browser's digit grouping: the median session's p50 and the worst reply of the day.
    const digits = async (field: string) => (await textOf(`${row(days[1]!.at)} [data-field=${field}]`)).replace(/\D/g, '');
    expect(await digits('p50')).toBe('1900');
    expect(await digits('worst')).toBe('4200');
    expect(await textOf(`${row(days[1]!.at)} [data-field=turns]`)).toBe('9');
    // Which stage: the median p50 of each, beside the total.
    expect(await textOf(`${row(days[1]!.at)} [data-field=stages]`)).toBe('turn end 600 ms · model 300 ms · voice 200 ms');
    await screens('admin-latency');
  });

  it('shows a coach no Admin section, and the API refuses them', async () => {
    const coachContext = await browser.createBrowserContext();
    const coachPage = await coachContext.newPage();
    await coachPage.setViewport(DESKTOP);
    await openWithGrant(coachPage, coachPortalUrl(), COACH_EMAIL);
    await coachPage.waitForSelector('[data-testid=flagged-sessions]', { timeout: 15_000 });
    expect(await coachPage.$('nav[aria-label=Main] a[href="/admin"]')).toBeNull();
    await coachPage.goto(`${coachPortalUrl()}/admin/people`);
    await coachPage.waitForFunction(() => document.body.textContent?.includes('This section is for admins'), { timeout: 15_000 });
    expect(await coachPage.$('[data-testid=people-filters]')).toBeNull();
    await screens('admin-refused-to-a-coach', coachPage);
    await coachContext.close();
    const coachToken = await login(COACH_EMAIL);
    expect((await api('GET', '/api/admin/people', { token: coachToken })).status).toBe(403);
    expect((await api('POST', `/api/admin/people/${clientId}/tier`, { token: coachToken, body: { tier: 'FREE', reason: 'Not mine to do' } })).status).toBe(403);
  });
});
