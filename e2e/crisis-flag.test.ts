/**
 * A crisis flag from the spoken word to its close (issue 16), in real Chromium against the real stack: a
 * client says a crisis phrase in a call (an rtc-node participant whose microphone speaks; the AI is the
 * agent-host's worker on the offline stand-ins); the coach portals of two signed-in coaches show the live
 * alert within 10 s, pushed by the staff desk; one coach acknowledges the flag and the other's alert goes;
 * the first resolves it with a note, the dashboard's figures move with it, and the Resolved tab shows who
 * resolved it, when and how. Reopened from there by the other coach, it alerts the first again.
 * Screenshots at desktop and phone widths in e2e/artifacts/crisis-flag/.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_CHAT, OFFLINE_PHRASES } from '../agent-host/dev/offline-script';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { phrases } from '../agent-host/src/agent/persona';
import {
  apiOk,
  browserTestFiles,
  closeCall,
  coachPortalUrl,
  createClient,
  createCoach,
  DESKTOP,
  eventually,
  login,
  openCoachPortal,
  signInCoachPortal,
  skipAfterFirstFailure,
  TestParticipant,
  transcriptOf,
} from './helpers';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const CLIENT_EMAIL = 'crisis-flag-client@example.com';
const CLIENT_NAME = 'Robin Crisisflag';
const COACH_EMAIL = 'crisis-flag-coach@example.com';
const OTHER_COACH_EMAIL = 'crisis-flag-other-coach@example.com';
/** Matches shared/src/crisis.ts ("want to die"); the stand-in speech-to-text knows it as one more sentence. */
const CRISIS_LINE = 'Some days I just want to die.';
const NOTE = 'Called Robin at once: safe at home with her partner; GP appointment tomorrow.';
const COACH_PORTAL_URL = coachPortalUrl();
const PHONE = { width: 390, height: 844 };

describe('a crisis flag: raised in a call, alerted live, acknowledged and resolved by a coach', () => {
  let standins: Standins;
  let agent: AgentProcess | undefined;
  let browser: Browser;
  let page: Page;
  /** The other coach on duty, signed in in a browser context of their own. */
  let other: Page;
  const files = browserTestFiles('crisis-flag');
  let clientToken = '';
  let sessionId = '';
  let client: TestParticipant | undefined;
  let mic: Microphone | undefined;
  let openBefore = 0;

  /** Both widths of the screen as it is now. */
  const screenshots = async (screen: string, on: Page = page) => {
    await files.screenshot(on, `${screen}-desktop`);
    await on.setViewport(PHONE);
    await files.screenshot(on, `${screen}-phone`);
    await on.setViewport(DESKTOP);
  };
  const figure = (name: string) => page.$eval(`[data-testid=figure-${name}] dd`, (el) => el.textContent ?? '');
  const waitForFigure = (name: string, value: string) =>
    page.waitForFunction((n, v) => document.querySelector(`[data-testid=figure-${n}] dd`)?.textContent === v, { timeout: 10_000 }, name, value);
  const item = () => `[data-testid=flagged-sessions] [data-testid=flag-item][data-session-id="${sessionId}"]`;
  const alertOf = () => `[data-testid=flag-alert][data-session-id="${sessionId}"]`;
  const gone = (on: Page, selector: string) => on.waitForFunction((sel) => !document.querySelector(sel), { timeout: 10_000 }, selector);

  beforeAll(async () => {
    standins = await startStandins({ stt: DISTINCT_PHRASES, sttPhrases: [...OFFLINE_PHRASES, CRISIS_LINE], chatScript: OFFLINE_CHAT });
    agent = await AgentProcess.startOffline(standins, files.path('outbox'));
    await Promise.all([
      createClient(CLIENT_EMAIL, CLIENT_NAME, 'PREMIUM'),
      createCoach(COACH_EMAIL, 'Dana Deskduty'),
      createCoach(OTHER_COACH_EMAIL, 'Omar Otherdesk'),
      files.portals('coach'),
    ]);
    clientToken = await login(CLIENT_EMAIL);

    // Both coaches signed in on the dashboard, their live alerts connected before anything is said.
    ({ browser, page } = await openCoachPortal(files, COACH_EMAIL));
    other = await (await browser.createBrowserContext()).newPage();
    await other.setViewport(DESKTOP);
    await signInCoachPortal(other, OTHER_COACH_EMAIL);
    openBefore = Number(await figure('open'));
  }, 240_000);

  afterAll(() => closeCall({ mic, client, session: { id: sessionId, clientToken }, browser, agent, standins }));

  skipAfterFirstFailure();

  it('shows the alert in the coach portal, pushed, after the client says a crisis phrase, and counts it open', async () => {
    const ticket = await apiOk<{ sessionId: string; token: string; livekitUrl: string }>('POST', '/api/rooms', { token: clientToken }, 201);
    sessionId = ticket.sessionId;
    client = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    mic = await Microphone.publish(client.room);
    const greeting = phrases.greeting(CLIENT_NAME);
    await eventually('the AI to greet the client', async () => (await transcriptOf(sessionId, clientToken)).some((l) => l.text === greeting), {
      timeoutMs: 45_000,
      describe: () => agent?.output.slice(-10).join(''),
    });

    await mic.say(CRISIS_LINE);
    const spoken = Date.now();
    // The issue asks for the alert within 10 s. Tests never assert timings (a loaded CI machine is not a
    // latency measurement; bench/crisis-alert.ts measures it): this waits with a backstop and prints how long it took.
    await page.waitForSelector(alertOf(), { timeout: 30_000 });
    console.info(`crisis alert shown ${Date.now() - spoken} ms after the crisis line was spoken`);
    for (const on of [page, other]) {
      await on.waitForSelector(alertOf(), { timeout: 10_000 });
      const said = await on.$eval(alertOf(), (el) => el.textContent ?? '');
      expect(said).toContain(CLIENT_NAME);
      // Neither coach has coached this client: the client's words are not theirs to read.
      await on.waitForFunction(
        (sel) => document.querySelector(sel)?.textContent === 'Crisis language detected',
        { timeout: 10_000 },
        `${alertOf()} [data-testid=flag-alert-reason]`,
      );
      expect(said).not.toContain('want to die');
    }

    // The dashboard heard of it too: one more open flag, ours first among them, with nobody on it yet.
    await waitForFigure('open', String(openBefore + 1));
    await page.waitForSelector(`${item()}[data-state=OPEN]`);
    expect(await page.$eval(item(), (el) => el.textContent ?? '')).toContain('Open');
    await screenshots('alert-and-dashboard');
  });

  it('acknowledges the flag (the coach owns it now) and resolves it with a note; the figures change', async () => {
    const median = () =>
      page.$eval('[data-testid=figure-median-ack]', (el) => ({ ms: el.getAttribute('data-ms'), count: Number(el.getAttribute('data-count')) }));
    const medianBefore = await median();
    await page.click(`${item()} [data-testid=flag-acknowledge]`);
    await page.waitForSelector(`${item()}[data-state=ACKNOWLEDGED]`, { timeout: 10_000 });
    expect(await page.$eval(item(), (el) => el.textContent ?? '')).toContain('Yours to follow up');
    // Its owner may read the transcript now, so sees what the client said; the other coach still does not.
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('want to die'), { timeout: 10_000 }, `${item()} .hc-flag-reason`);
    // Taken: the alert has done its work, here and in the other coach's portal, which shows who has it;
    // no longer open; a time to acknowledge on the books.
    await gone(page, alertOf());
    await gone(other, alertOf());
    await other.waitForSelector(`${item()}[data-state=ACKNOWLEDGED]`, { timeout: 10_000 });
    expect(await other.$eval(item(), (el) => el.textContent ?? '')).toContain('With Dana Deskduty');
    expect(await other.$eval(`${item()} .hc-flag-reason`, (el) => el.textContent ?? '')).toBe('Crisis language detected');
    await waitForFigure('open', String(openBefore));
    // One more acknowledgement in the median, which moved from what it was before.
    const medianAfter = await median();
    expect(medianAfter.count).toBe(medianBefore.count + 1);
    expect(medianAfter.ms).not.toBe('');
    expect(medianAfter.ms).not.toBe(medianBefore.ms);
    expect(await figure('median-ack')).not.toBe('—');
    await screenshots('acknowledged');

    await page.click(`${item()} [data-testid=flag-resolve-open]`);
    await page.type(`${item()} textarea[name=resolution]`, NOTE);
    await screenshots('resolving');
    await page.click(`${item()} [data-testid=flag-resolve]`);
    // Resolved flags leave the list of those needing a coach, for the Resolved tab: who, when, what was done.
    await gone(page, item());
    await page.click('input[name=flags-shown][value=resolved]');
    const resolved = `[data-testid=resolved-flag][data-session-id="${sessionId}"]`;
    await page.waitForSelector(resolved, { timeout: 10_000 });
    const told = await page.$eval(resolved, (el) => el.textContent ?? '');
    expect(told).toContain('Resolved by Dana Deskduty');
    expect(told).toContain(NOTE);
    await screenshots('resolved-tab');

    // Its review page tells the whole story: who did what, when, and what was done.
    await page.goto(`${COACH_PORTAL_URL}/sessions/${sessionId}`);
    await page.waitForSelector('[data-testid=flag-history] li:nth-child(3)', { timeout: 15_000 });
    const history = await page.$$eval('[data-testid=flag-history] li', (els) => els.map((el) => el.textContent ?? ''));
    expect(history[0]).toContain('Flagged by the system');
    expect(history[1]).toContain('Acknowledged by Dana Deskduty');
    expect(history[2]).toContain('Resolved by Dana Deskduty');
    expect(history[2]).toContain(NOTE);
    expect(await page.$eval('[data-testid=session-flag]', (el) => el.textContent ?? '')).toContain('Resolved');
    expect(await page.$('[data-testid=flag-reopen]')).not.toBeNull();
    await screenshots('session-flag-resolved');
  });

  it('alerts the first coach again when the other reopens the flag from the Resolved tab, and the alert goes once taken', async () => {
    await other.goto(`${COACH_PORTAL_URL}/dashboard`);
    await other.waitForSelector('input[name=flags-shown][value=resolved]', { timeout: 15_000 });
    await other.click('input[name=flags-shown][value=resolved]');
    const reopen = `[data-testid=resolved-flag][data-session-id="${sessionId}"] [data-testid=flag-reopen]`;
    await other.waitForSelector(reopen, { timeout: 10_000 });
    await other.click(reopen);
    // On the session page, the first coach hears of it: open again, nobody on it.
    await page.waitForSelector(`${alertOf()}[data-action=reopen]`, { timeout: 10_000 });
    expect(await page.$eval(alertOf(), (el) => el.textContent ?? '')).toContain('A flag is open again, with no coach on it');
    await screenshots('reopened-alert');
    await page.click(`${alertOf()} [data-testid=flag-acknowledge]`);
    await gone(page, alertOf());
    await gone(other, alertOf());
    await page.waitForSelector('[data-testid=flag-resolve-open]', { timeout: 10_000 });
  });
});
