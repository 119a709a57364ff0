/**
 * The coach portal in real Chromium against the e2e stack (real Worker, real livekit-server; no AI
 * agent: its transcript lines and summary arrive through the agent-host's signed webhooks, as the
 * agent would post them). A PREMIUM client of this file's own has a session the seeded coach joined,
 * with a line the AI did not hear, a whisper, talk of crisis, a summary and a rating. The coach signs
 * in on the public site and lands on the coach dashboard, reviews the session, keeps notes, opens the
 * client's page (profile, sessions with summaries, notes), searches transcripts, sees a second session
 * live on the dashboard and joins it (the client sidebar, the AI hear / not-hear switch, a whisper,
 * leave, end), keeps a calendar a client books into, sees the week in the browser's time zone and hands
 * an appointment to another coach, and changes their settings (name, bookings off and
 * on: the seeded coach is left as it was found, for e2e/booking.test.ts); a client is sent back to
 * their own portal and refused by the coach API, and another coach sees none of the first coach's
 * notes.
 * A screenshot of every coach screen goes to e2e/artifacts/coach-portal/.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageText, type Standins, startStandins } from '../agent-host/dev/standins';
import { concatPcm, silence, speak, writeWav } from '../agent-host/dev/standins/audio';
import { SUMMARY_MARKER } from '../agent-host/src/agent/summary';
import {
  agentPost,
  api,
  apiOk,
  browserTestFiles,
  closeCall,
  coachBrowser,
  coachPortalUrl,
  createClient,
  createCoach,
  eventually,
  login,
  openCoachPortal,
  openWithGrant,
  portalPage,
  signInClientPortal,
  skipAfterFirstFailure,
  TestParticipant,
} from './helpers';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const CLIENT_EMAIL = 'coach-review-premium@example.com';
const CLIENT_NAME = 'Riley Review';
const COACH_EMAIL = 'coach@example.com';
const CLIENT_SAYS = 'Some nights I think about self-harm when the deadlines pile up.';
const AI_SAYS = 'Thank you for telling me. Let us slow the breathing down together.';
const COACH_ASIDE = 'Noting the shallow breathing pattern for our next session.';
const WHISPER = 'Suggest the six-count exhale next.';
const SUMMARY = 'Riley spoke about deadlines and dark thoughts; we practised a slower exhale.';

const portals = inject('portalUrls');
const COACH_PORTAL_URL = coachPortalUrl();
const SEED_COACH = { id: 'seed-coach', name: 'Casey Coach' };
const PROFILE = { coachingGoals: 'Sleep through the night before deadlines.', symptoms: 'Tight chest in the evenings.', initialMood: 2 };
const FACT = 'Works as an editor at a publisher';
const CHALLENGE = 'Deadlines at work';

/** PATCH or DELETE on the Worker (the helpers speak GET and POST); resolves with the status. */
async function send(method: 'PATCH' | 'DELETE', path: string, token: string, body?: unknown): Promise<number> {
  const res = await fetch(`${inject('apiOrigin')}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  await res.body?.cancel();
  return res.status;
}

describe('the coach portal: dashboard, session review, notes and search', () => {
  let browser: Browser;
  let page: Page;
  const files = browserTestFiles('coach-portal');
  let clientToken = '';
  let coachToken = '';
  let clientId = '';
  let sessionId = '';
  /** A second session of the client's, live while the coach joins it. */
  let liveId = '';
  /** The client in that session's room (rtc-node). */
  let liveClient: TestParticipant | undefined;
  /** The seeded coach's settings before this file changed them (put back in afterAll). */
  let coachBefore = { displayName: SEED_COACH.name, isAvailable: true };
  /** What a step made (windows, appointments, coaches open for bookings), taken back in afterAll whatever failed. */
  const undo: (() => Promise<unknown>)[] = [];

  const screenshot = (name: string, on: Page = page) => files.screenshot(on, name);
  const textOf = (selector: string, on: Page = page) => on.$eval(selector, (el) => el.textContent ?? '');

  beforeAll(async () => {
    await Promise.all([createClient(CLIENT_EMAIL, CLIENT_NAME, 'PREMIUM'), files.portals('public', 'client', 'coach')]);

    // A session the coach joined, as it would have gone live (the lines come as the agent posts them).
    [clientToken, coachToken] = await Promise.all([login(CLIENT_EMAIL), login(COACH_EMAIL)]);
    clientId = (await apiOk<{ id: string }>('GET', '/api/users/me', { token: clientToken })).id;
    // The client's onboarding answers, for the client data sidebar.
    expect(await send('PATCH', '/api/users/me/profile', clientToken, PROFILE)).toBe(200);
    ({ sessionId } = await apiOk<{ sessionId: string }>('POST', '/api/rooms', { token: clientToken }, 201));
    await apiOk('POST', `/api/rooms/${sessionId}/join`, { token: coachToken });
    const coachMe = await apiOk<{ id: string; displayName: string; isAvailable: boolean }>('GET', '/api/users/me', { token: coachToken });
    const coachId = coachMe.id;
    coachBefore = { displayName: coachMe.displayName, isAvailable: coachMe.isAvailable };
    // Spoken a minute ago: the whisper (stamped by the Worker as it arrives) comes after them.
    const t0 = Date.now() - 60_000;
    const line = (n: number, speakerIdentity: string, role: 'client' | 'coach' | 'ai', text: string, heardByAi: boolean) => ({
      idempotencyKey: `${sessionId}:e2e-coach-portal:${n}`,
      speakerIdentity,
      role,
      text,
      startedAt: t0 + n * 1000,
      endedAt: t0 + n * 1000 + 800,
      heardByAi,
    });
    await agentPost(
      '/api/webhooks/agent/transcript',
      {
        sessionId,
        lines: [
          line(1, clientId, 'client', CLIENT_SAYS, true),
          line(2, 'agent-hybrid-coach', 'ai', AI_SAYS, true),
          line(3, coachId, 'coach', COACH_ASIDE, false),
        ],
      },
      `${sessionId}:e2e-coach-portal:batch`,
    );
    await apiOk('POST', `/api/rooms/${sessionId}/whisper`, { token: coachToken, body: { text: WHISPER } }, 201);
    await apiOk('POST', `/api/rooms/${sessionId}/end`, { token: clientToken });
    await agentPost(
      '/api/webhooks/agent/summary',
      {
        sessionId,
        summary: SUMMARY,
        keyInsights: ['Deadlines bring dark thoughts'],
        nextSteps: ['Six-count exhale'],
        newFacts: [FACT],
        challenges: [CHALLENGE],
      },
      `${sessionId}:e2e-coach-portal:summary`,
    );
    await apiOk('POST', `/api/sessions/${sessionId}/rating`, { token: clientToken, body: { rating: 5, comment: 'I feel heard.' } }, 201);

    // The coach's microphone in the call room: Chromium's fake device (a tone), allowed without a prompt.
    ({ browser, page } = await coachBrowser(files, { autoplay: false }));
  }, 180_000);

  afterAll(async () => {
    await liveClient?.disconnect();
    if (liveId) await api('POST', `/api/rooms/${liveId}/end`, { token: clientToken }).catch(() => undefined);
    // The seeded coach as it was found, whatever step failed: e2e/booking.test.ts books it by name.
    if (coachToken) await send('PATCH', '/api/users/me', coachToken, coachBefore).catch(() => undefined);
    for (const step of undo.reverse()) await step().catch(() => undefined);
    await browser?.close().catch(() => undefined);
  });

  skipAfterFirstFailure();

  it('signs a coach in on the public site and lands on the coach dashboard, the flagged session first', async () => {
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await page.type('input[name=email]', COACH_EMAIL);
    await page.type('input[name=password]', inject('demoPassword'));
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=flagged-sessions]', { timeout: 15_000 });
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/dashboard`);
    expect(await textOf('h1')).toContain('Hello,');

    // Flagged sessions come before everything else, with the reason; ours is among them.
    const order = await page.$$eval('#main section', (els) => els.map((e) => e.getAttribute('data-testid')));
    expect(order[0]).toBe('flagged-sessions');
    const flagged = await page.$(`[data-testid=flagged-sessions] [data-session-id="${sessionId}"]`);
    expect(flagged).not.toBeNull();
    expect(await flagged!.evaluate((el) => el.textContent ?? '')).toContain('self-harm');
    // Sessions are listed by the client's name, not an id.
    expect(await flagged!.evaluate((el) => el.querySelector('a')?.textContent ?? '')).toContain(CLIENT_NAME);
    // Reviewed once, not twice: a flagged session is not repeated under recent sessions.
    expect(await page.$(`[data-testid=recent-sessions] [data-session-id="${sessionId}"]`)).toBeNull();
    expect(await textOf('[data-testid=upcoming-appointments]')).toContain('Upcoming appointments');
    await screenshot('coach-dashboard');
  });

  it('reviews the session: speakers, the line the AI did not hear, the whisper, the summary and the rating', async () => {
    await Promise.all([
      page.waitForSelector('[data-testid=session-transcript]', { timeout: 15_000 }),
      page.click(`[data-testid=flagged-sessions] [data-session-id="${sessionId}"] a`),
    ]);
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/sessions/${sessionId}`);
    const lines = await page.$$eval('[data-testid=transcript-line]', (els) =>
      els.map((el) => ({
        speaker: el.querySelector('.hc-speaker')?.textContent,
        text: el.querySelector('p')?.textContent,
        notHeard: el.querySelector('[data-testid=not-heard-mark]') !== null,
        whisper: el.querySelector('[data-testid=whisper-mark]') !== null,
      })),
    );
    expect(lines).toEqual([
      { speaker: 'Client', text: CLIENT_SAYS, notHeard: false, whisper: false },
      { speaker: 'AI coach', text: AI_SAYS, notHeard: false, whisper: false },
      { speaker: 'You', text: COACH_ASIDE, notHeard: true, whisper: false },
      { speaker: 'You', text: WHISPER, notHeard: false, whisper: true },
    ]);
    expect(await textOf('[data-testid=not-heard-mark]')).toBe('AI did not hear');
    expect(await textOf('[data-testid=whisper-mark]')).toBe('Whisper to the AI');
    expect(await textOf('[data-testid=session-summary]')).toContain(SUMMARY);
    expect(await textOf('[data-testid=session-rating]')).toContain('5 of 5');
    expect(await textOf('[data-testid=session-rating]')).toContain('I feel heard.');
    expect(await textOf('[data-testid=session-flag]')).toContain('self-harm');
    // The client's name leads to their page.
    expect(await textOf('[data-testid=session-client-link]')).toBe(CLIENT_NAME);
    expect(await page.$eval('[data-testid=session-client-link]', (a) => a.getAttribute('href'))).toBe(`/clients/${clientId}`);
    await screenshot('coach-session-review');

    // Find in this transcript: matches marked in place, as text.
    await page.type('[data-testid=session-transcript] input[name=find]', 'breath');
    await page.waitForSelector('[data-testid=find-count]');
    expect(await textOf('[data-testid=find-count]')).toBe('2 lines with “breath”');
    expect(await page.$$eval('[data-testid=session-transcript] mark', (els) => els.map((e) => e.textContent))).toEqual(['breath', 'breath']);
    await screenshot('coach-session-find');
    await page.click('[data-testid=session-transcript] input[name=find]', { count: 3 });
    await page.keyboard.press('Backspace');
  });

  it('keeps private notes on the session, one of them shared with the AI, and they survive a reload', async () => {
    await page.type('[data-testid=session-notes] textarea[name=note]', 'Check in about sleep next week.');
    await page.click('[data-testid=session-notes] input[name=shareableWithAi]');
    await page.click('[data-testid=session-notes] button[type=submit]');
    await page.waitForSelector('[data-testid=note][data-shareable=true]', { timeout: 15_000 });
    await page.type('[data-testid=session-notes] textarea[name=note]', 'Private: mentioned a difficult manager.');
    await page.click('[data-testid=session-notes] button[type=submit]');
    await page.waitForSelector('[data-testid=note][data-shareable=false]', { timeout: 15_000 });

    const saved = await apiOk<{ text: string; sessionId: string | null; shareableWithAi: boolean }[]>('GET', `/api/clients/${clientId}/notes`, {
      token: coachToken,
    });
    expect(saved.map((n) => ({ text: n.text, sessionId: n.sessionId, shareableWithAi: n.shareableWithAi }))).toEqual([
      { text: 'Private: mentioned a difficult manager.', sessionId, shareableWithAi: false },
      { text: 'Check in about sleep next week.', sessionId, shareableWithAi: true },
    ]);

    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid=note]', { timeout: 15_000 });
    const shown = await page.$$eval('[data-testid=note]', (els) => els.map((el) => [el.querySelector('p')?.textContent, el.getAttribute('data-shareable')]));
    expect(shown).toEqual([
      ['Private: mentioned a difficult manager.', 'false'],
      ['Check in about sleep next week.', 'true'],
    ]);
    await screenshot('coach-session-notes');
  });

  it('opens the client from the review: profile, sessions with summaries, notes; a note added there is kept', async () => {
    await Promise.all([page.waitForSelector('[data-testid=client-sidebar]', { timeout: 15_000 }), page.click('[data-testid=session-client-link]')]);
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/clients/${clientId}`);
    expect(await textOf('#main h1')).toBe(CLIENT_NAME);
    // The nav still says where the coach is: Clients.
    expect(await textOf('nav[aria-label=Main] a[aria-current=page]')).toBe('Clients');
    const field = (name: string) => textOf(`[data-testid=client-profile] dd[data-field=${name}]`);
    expect(await field('goals')).toBe(PROFILE.coachingGoals);
    expect(await field('symptoms')).toBe(PROFILE.symptoms);
    expect(await field('mood')).toBe('2 of 5 · Low');
    expect(await field('facts')).toContain(FACT);
    expect(await field('challenges')).toContain(CHALLENGE);
    expect(await field('last-summary')).toContain(SUMMARY);

    // The session, with its summary, rating and flag, and a way to its review.
    const item = `[data-testid=client-session][data-session-id="${sessionId}"]`;
    expect(await textOf(`${item} [data-testid=client-session-summary]`)).toContain(SUMMARY);
    const itemText = await textOf(item);
    for (const words of ['With you', 'Flagged', 'Rated 5/5']) expect(itemText).toContain(words);
    expect(await page.$eval(`${item} a`, (a) => a.getAttribute('href'))).toBe(`/sessions/${sessionId}`);

    // The session's notes are here too, marked with their session; a note on the client is added.
    // (The notes load on their own, after the sidebar.)
    await page.waitForSelector('[data-testid=client-notes] [data-testid=note]', { timeout: 15_000 });
    expect(await page.$$eval('[data-testid=client-notes] [data-testid=note] p', (els) => els.map((e) => e.textContent))).toEqual([
      'Private: mentioned a difficult manager.',
      'Check in about sleep next week.',
    ]);
    expect(await textOf('[data-testid=client-notes] [data-testid=note]')).toContain('on the session of');
    await page.type('[data-testid=client-notes] textarea[name=note]', 'Prefers sessions in the morning.');
    await page.click('[data-testid=client-notes] button[type=submit]');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=client-notes] [data-testid=note] p')?.textContent === 'Prefers sessions in the morning.',
      {
        timeout: 15_000,
      },
    );
    const saved = await apiOk<{ text: string; sessionId: string | null; shareableWithAi: boolean }[]>('GET', `/api/clients/${clientId}/notes`, {
      token: coachToken,
    });
    expect(saved[0]).toMatchObject({ text: 'Prefers sessions in the morning.', sessionId: null, shareableWithAi: false });
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('[data-testid=client-notes] [data-testid=note]', { timeout: 15_000 });
    expect(await page.$$eval('[data-testid=client-notes] [data-testid=note]', (els) => els.length)).toBe(3);
    await screenshot('coach-client');
  });

  it('lists the coach’s clients by name, with tier, sessions, last session and next appointment', async () => {
    await Promise.all([page.waitForSelector('[data-testid=clients]', { timeout: 15_000 }), page.click('nav a[href="/clients"]')]);
    const row = `[data-testid=client-row][data-client-id="${clientId}"]`;
    const cells = await page.$eval(row, (tr) => Array.from(tr.querySelectorAll('th, td'), (c) => c.textContent?.trim()));
    expect(cells[0]).toBe(`${CLIENT_NAME}${CLIENT_EMAIL}`);
    expect(cells.slice(1, 3)).toEqual(['Premium', '1']);
    expect(cells[3]).not.toBe('None yet');
    expect(cells[4]).toBe('None booked');
    // Other files' clients of the seeded coach may be listed too: by name, in order.
    const names = await page.$$eval('[data-testid=client-row] th a', (els) => els.map((e) => e.textContent ?? ''));
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    await screenshot('coach-clients');
    await Promise.all([page.waitForSelector('[data-testid=client-sidebar]', { timeout: 15_000 }), page.click(`${row} th a`)]);
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/clients/${clientId}`);
  });

  it('finds a transcript line and highlights the match, without HTML from the snippet', async () => {
    await Promise.all([page.waitForSelector('#main form[role=search]'), page.click('nav a[href="/search"]')]);
    await screenshot('coach-search-empty');
    await page.type('input[name=q]', 'breathing');
    await page.click('#main form[role=search] button[type=submit]');
    await page.waitForSelector('[data-testid=search-hit]', { timeout: 15_000 });
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/search?q=breathing`);
    // Other files' sessions with this coach may match too: the lines of this file's session are checked.
    const hits = await page.$$eval(`[data-testid=search-hit][data-session-id="${sessionId}"]`, (els) =>
      els.map((el) => ({ text: el.querySelector('p')?.textContent, marks: Array.from(el.querySelectorAll('p mark'), (m) => m.textContent) })),
    );
    // Both lines that say it (not the whisper, not the client's line), each match marked.
    expect(hits.map((h) => h.text).sort()).toEqual([AI_SAYS, COACH_ASIDE].sort());
    for (const hit of hits) expect(hit.marks.map((m) => m?.toLowerCase())).toEqual(['breathing']);
    expect(await textOf(`[data-testid=search-hit][data-session-id="${sessionId}"] a`)).toContain(CLIENT_NAME);
    await screenshot('coach-search-results');

    await page.goto(`${COACH_PORTAL_URL}/search?q=zebra`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('::-p-text(Nothing found)', { timeout: 15_000 });
    await screenshot('coach-search-nothing');
  });

  it('shows a PREMIUM client’s session under “Live now” as it starts: the client, no coach yet, no cap, and Join', async () => {
    await Promise.all([page.waitForSelector('[data-testid=live-sessions]', { timeout: 15_000 }), page.click('nav a[href="/dashboard"]')]);
    // The dashboard is open before the session starts: the list refreshes itself (every 10 s).
    const ticket = await apiOk<{ sessionId: string; token: string; livekitUrl: string }>('POST', '/api/rooms', { token: clientToken }, 201);
    liveId = ticket.sessionId;
    liveClient = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    const item = `[data-testid=live-sessions] [data-testid=live-session][data-session-id="${liveId}"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('Client in the room'), { timeout: 30_000 }, item);
    expect(await textOf(`${item} [data-field=client]`)).toBe(CLIENT_NAME);
    expect(await textOf(`${item} [data-field=coach]`)).toBe('No coach yet');
    expect(await textOf(`${item} [data-field=time-left]`)).toBe('no cap');
    expect(await textOf(`${item} a`)).toBe('Join');
    expect(await page.$eval(`${item} a`, (a) => a.getAttribute('href'))).toBe(`/call/${liveId}`);
    // The live session is not listed again among those to review.
    expect(await page.$(`[data-testid=recent-sessions] [data-session-id="${liveId}"]`)).toBeNull();
    await screenshot('coach-dashboard-live-premium');
  });

  it('joins a live session: the client sidebar, the hear / not-hear switch, the mark on a line the AI did not hear, a whisper, leave, end', async () => {
    const roomState = () =>
      apiOk<{ status: string; coachMutedFromAi: boolean; muteAppliedByAi: boolean }>('GET', `/api/rooms/${liveId}`, { token: coachToken });
    const toggle = '[data-testid=ai-hear-toggle]';

    await page.click(`[data-testid=live-sessions] [data-session-id="${liveId}"] a`);
    await page.waitForSelector('[data-testid=call-status] ::-p-text(Connected)', { timeout: 20_000 });
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/call/${liveId}`);
    // The client data sidebar beside the transcript: who they are, their last session's summary, this session marked.
    const sidebar = `[data-testid=client-sidebar][data-client-id="${clientId}"]`;
    await page.waitForSelector(`${sidebar} [data-testid=client-profile]`, { timeout: 15_000 });
    expect(await textOf(`${sidebar} h2`)).toContain(CLIENT_NAME);
    expect(await textOf(`${sidebar} [data-testid=client-profile] dd[data-field=goals]`)).toBe(PROFILE.coachingGoals);
    expect(await textOf(`${sidebar} [data-testid=client-session][data-session-id="${sessionId}"] [data-testid=client-session-summary]`)).toContain(SUMMARY);
    expect(await textOf(`${sidebar} [data-testid=client-session][data-session-id="${liveId}"]`)).toContain('This session');
    const beside = await page.evaluate((sel) => {
      const box = (q: string) => document.querySelector(q)!.getBoundingClientRect();
      const side = box(sel);
      const transcript = box('[data-testid=live-transcript]');
      return { sideBySide: side.right <= transcript.left || transcript.right <= side.left, sameTop: Math.abs(side.top - transcript.top) < 4 };
    }, sidebar);
    expect(beside).toEqual({ sideBySide: true, sameTop: true });
    await page.waitForSelector('[data-testid=call-status] ::-p-text(Client in the room)', { timeout: 15_000 });
    expect(await textOf(toggle)).toContain('AI can hear me');
    expect(await page.$eval(toggle, (el) => el.getAttribute('aria-checked'))).toBe('true');
    // The AI as an observer's orb (no agent runs in this file).
    expect(await page.$eval('[data-testid=ai-control] [data-testid=orb]', (el) => el.getAttribute('aria-label'))).toBe('AI coach: not in the room');
    await screenshot('coach-call-ai-hears');

    await page.click(toggle);
    await page.waitForSelector(`${toggle}[aria-checked=false]`, { timeout: 15_000 });
    expect(await textOf(toggle)).toContain('AI cannot hear me');
    expect((await roomState()).coachMutedFromAi).toBe(true);
    // The agent acknowledges the mute (version 1: the first change), as agent-host does: the panel says it applied.
    await agentPost('/api/webhooks/agent/control-ack', { sessionId: liveId, version: 1 }, `${liveId}:control:1`);
    await page.waitForFunction(() => document.querySelector('[data-testid=mute-applied]')?.textContent?.includes('it no longer hears you'), {
      timeout: 15_000,
    });
    expect((await roomState()).muteAppliedByAi).toBe(true);

    // What the coach says while muted arrives (as the agent stores it) marked as not heard, live.
    const coachId = (await apiOk<{ id: string }>('GET', '/api/users/me', { token: coachToken })).id;
    await agentPost(
      '/api/webhooks/agent/transcript',
      {
        sessionId: liveId,
        lines: [
          {
            idempotencyKey: `${liveId}:live:1`,
            speakerIdentity: clientId,
            role: 'client',
            text: 'Can we talk about my week?',
            startedAt: Date.now() - 2000,
            endedAt: null,
            heardByAi: true,
          },
          {
            idempotencyKey: `${liveId}:live:2`,
            speakerIdentity: coachId,
            role: 'coach',
            text: 'Just between us, how did the meeting go?',
            startedAt: Date.now() - 1000,
            endedAt: null,
            heardByAi: false,
          },
        ],
      },
      `${liveId}:live:batch`,
    );
    await page.waitForSelector('[data-testid=live-transcript] [data-heard=false] [data-testid=not-heard-mark]', { timeout: 15_000 });
    const live = await page.$$eval('[data-testid=live-transcript] [data-testid=transcript-line]', (els) =>
      els.map((el) => [
        el.querySelector('.hc-speaker')?.textContent,
        el.querySelector('p')?.textContent,
        el.querySelector('[data-testid=not-heard-mark]') !== null,
      ]),
    );
    expect(live).toEqual([
      ['Client', 'Can we talk about my week?', false],
      ['You', 'Just between us, how did the meeting go?', true],
    ]);

    await page.type('[data-testid=whisper-box] textarea[name=whisper]', 'Ask about sleep before the exercise.');
    await page.click('[data-testid=whisper-box] button[type=submit]');
    await page.waitForSelector('[data-testid=live-transcript] [data-kind=whisper] [data-testid=whisper-mark]', { timeout: 15_000 });
    expect(await textOf('[data-testid=live-transcript] [data-kind=whisper] p')).toBe('Ask about sleep before the exercise.');
    await screenshot('coach-call-muted-whisper');

    // On a narrow screen the client's details fold away behind a button, closed at first.
    await page.setViewport({ width: 420, height: 860 });
    const toggleDetails = '[data-testid=client-sidebar] .hc-sidebar-toggle';
    const bodyShown = () => page.$eval('[data-testid=client-sidebar] .hc-client-body', (el) => getComputedStyle(el).display !== 'none');
    await page.waitForSelector(`${toggleDetails}[aria-expanded=false]`, { visible: true });
    expect(await bodyShown()).toBe(false);
    await page.click(toggleDetails);
    await page.waitForSelector(`${toggleDetails}[aria-expanded=true]`);
    expect(await bodyShown()).toBe(true);
    await screenshot('coach-call-narrow-client-open');
    await page.setViewport({ width: 1200, height: 860 });
    expect(await page.$eval(toggleDetails, (el) => getComputedStyle(el).display)).toBe('none');
    expect(await bodyShown()).toBe(true);

    // Leaving keeps the session going; the dashboard offers it again under "Live now".
    await Promise.all([page.waitForSelector('[data-testid=live-sessions]', { timeout: 15_000 }), page.click('::-p-text(Leave (session continues))')]);
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/dashboard`);
    expect((await roomState()).status).not.toBe('COMPLETED');
    await screenshot('coach-dashboard-live-now');

    await page.waitForSelector(`[data-testid=live-sessions] [data-session-id="${liveId}"]`, { timeout: 15_000 });
    expect(await textOf(`[data-testid=live-sessions] [data-session-id="${liveId}"] [data-field=coach]`)).toMatch(
      /^(You are in the room|Your session \(you are not in the room\))$/,
    );
    await page.click(`[data-testid=live-sessions] [data-session-id="${liveId}"] a`);
    await page.waitForSelector(`${toggle}[aria-checked=false]`, { timeout: 20_000 });
    await Promise.all([page.waitForSelector('[data-testid=session-transcript]', { timeout: 15_000 }), page.click('::-p-text(End session for everyone)')]);
    expect(page.url()).toBe(`${COACH_PORTAL_URL}/sessions/${liveId}`);
    expect((await roomState()).status).toBe('COMPLETED');
    expect(await page.$$eval('[data-testid=whisper-mark]', (els) => els.length)).toBe(1);
    await screenshot('coach-session-after-call');
  });

  it('keeps availability in the calendar; a PREMIUM client books it, the coach sees and cancels the appointment', async () => {
    await Promise.all([page.waitForSelector('[data-testid=add-window]', { timeout: 15_000 }), page.click('nav a[href="/calendar"]')]);
    // A weekly window tomorrow (UTC), 09:00–12:00 (the form's default hours).
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const ymd = tomorrow.toISOString().slice(0, 10);
    await page.select('#window-day', String(tomorrow.getUTCDay()));
    await page.click('[data-testid=add-window] button[type=submit]');
    const dayName = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][tomorrow.getUTCDay()]!;
    await page.waitForFunction(
      (label) => Array.from(document.querySelectorAll('[data-testid=availability-window]')).some((el) => el.textContent?.includes(label)),
      { timeout: 15_000 },
      `Every ${dayName}, 09:00–12:00 UTC`,
    );
    const windows = await apiOk<{ id: string; dayOfWeek: number; startTime: string; endTime: string; isRecurring: boolean }[]>('GET', '/api/availability', {
      token: coachToken,
    });
    const added = windows.find((w) => w.dayOfWeek === tomorrow.getUTCDay() && w.startTime === '09:00' && w.endTime === '12:00' && w.isRecurring);
    expect(added).toBeDefined();

    // The client books a slot in it, through the API (their portal's booking screen is another piece of the issue).
    const offers = await apiOk<{ coach: { id: string }; slots: string[] }[]>('GET', '/api/coaches/slots?days=7', { token: clientToken });
    const slot = offers
      .find((o) => o.coach.id === 'seed-coach')
      ?.slots.find((t) => t.startsWith(`${ymd}T09:`) || t.startsWith(`${ymd}T10:`) || t.startsWith(`${ymd}T11:`));
    expect(slot).toBeDefined();
    const booked = await apiOk<{ id: string }>('POST', '/api/appointments', { token: clientToken, body: { coachId: 'seed-coach', scheduledFor: slot } }, 201);

    await page.reload({ waitUntil: 'networkidle0' });
    const row = `[data-testid=calendar-appointment][data-appointment-id="${booked.id}"]`;
    await page.waitForSelector(row, { timeout: 15_000 });
    expect(await textOf(row)).toContain(CLIENT_NAME);
    await screenshot('coach-calendar');

    await page.click(`${row} ::-p-text(Cancel appointment)`);
    await page.waitForSelector(`${row}[data-status=CANCELLED]`, { timeout: 15_000 });
    const mine = await apiOk<{ id: string; status: string; cancelledBy: string | null }[]>('GET', '/api/appointments?include=all', { token: clientToken });
    expect(mine.find((a) => a.id === booked.id)).toMatchObject({ status: 'CANCELLED', cancelledBy: 'seed-coach' });

    await page.click(`[data-testid=availability-window][data-window-id="${added!.id}"] button`);
    await page.waitForFunction((id) => !document.querySelector(`[data-window-id="${id}"]`), { timeout: 15_000 }, added!.id);
    const after = await apiOk<{ id: string }[]>('GET', '/api/availability', { token: coachToken });
    expect(after.some((w) => w.id === added!.id)).toBe(false);
    await screenshot('coach-calendar-after-cancel');
  });

  it('shows the week in the browser’s time zone (a window across midnight, a booked appointment) and reassigns the appointment to another coach (one booked meanwhile is refused in place)', async () => {
    const ZONE = 'Europe/Berlin';
    const DAY_MS = 86_400_000;
    // A UTC Tuesday to Thursday 45+ days ahead, this step's own (e2e/booking.test.ts books 22 days ahead, the
    // steps above the next few days): its window and appointment then fall in one local week, in any season.
    let ahead = 45;
    while (![2, 3, 4].includes(new Date(Date.now() + ahead * DAY_MS).getUTCDay())) ahead += 1;
    const day = new Date(Date.now() + ahead * DAY_MS).toISOString().slice(0, 10);
    const dayAfter = new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
    const at = `${day}T22:30:00.000Z`;
    /** An instant's local date and 24-hour clock in ZONE, as the grid's data attributes give them. */
    const local = (iso: string) => {
      const parts = new Intl.DateTimeFormat('en-CA', {
        timeZone: ZONE,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
        .formatToParts(new Date(iso))
        .reduce<Record<string, string>>((all, p) => Object.assign(all, { [p.type]: p.value }), {});
      return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
    };
    /** Where a span lands on the local days' columns: one piece, or two when it crosses local midnight. */
    const pieces = (startIso: string, endIso: string) => {
      const [start, end] = [local(startIso), local(endIso)];
      if (start.date === end.date) return [{ date: start.date, from: start.time, to: end.time }];
      return [{ date: start.date, from: start.time, to: '24:00' }, ...(end.time === '00:00' ? [] : [{ date: end.date, from: '00:00', to: end.time }])];
    };
    const coachWindow = async (token: string) => {
      const w = await apiOk<{ id: string }>('POST', '/api/availability', { token, body: { specificDate: day, startTime: '22:00', endTime: '24:00' } }, 201);
      undo.push(() => send('DELETE', `/api/availability/${w.id}`, token));
      return w.id;
    };
    const openForBookings = async (token: string) => {
      expect(await send('PATCH', '/api/users/me', token, { isAvailable: true })).toBe(200);
      undo.push(() => send('PATCH', '/api/users/me', token, { isAvailable: false }));
    };
    const book = async (token: string, coachId: string) => {
      const a = await apiOk<{ id: string }>('POST', '/api/appointments', { token, body: { coachId, scheduledFor: at } }, 201);
      undo.push(() => api('POST', `/api/appointments/${a.id}/cancel`, { token }));
      return a.id;
    };

    // The seeded coach's window 22:00–24:00 UTC that day, and the client's booking at 22:30 UTC in it.
    const windowId = await coachWindow(coachToken);
    const booked = await book(clientToken, SEED_COACH.id);
    // The coach it goes to (a window of their own, open for bookings); one busy then (booked by another client);
    // one who offers no time at all.
    const [targetId, busyId, idleId] = await Promise.all([
      createCoach('coach-portal-reassign@example.com', 'Rowan Reassign'),
      createCoach('coach-portal-busy@example.com', 'Blair Busy'),
      createCoach('coach-portal-idle@example.com', 'Ira Idle'),
      createClient('coach-portal-busy-client@example.com', 'Bo Booked', 'PREMIUM'),
      createClient('coach-portal-late-client@example.com', 'Lee Late', 'PREMIUM'),
    ]);
    const [targetToken, busyToken, busyClientToken, lateClientToken] = await Promise.all(
      [
        'coach-portal-reassign@example.com',
        'coach-portal-busy@example.com',
        'coach-portal-busy-client@example.com',
        'coach-portal-late-client@example.com',
      ].map((e) => login(e)),
    );
    for (const token of [targetToken!, busyToken!]) {
      await openForBookings(token);
      await coachWindow(token);
    }
    await book(busyClientToken!, busyId!);

    await page.emulateTimezone(ZONE);
    try {
      await page.goto(`${COACH_PORTAL_URL}/calendar`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('[data-testid=week-grid]', { timeout: 15_000 });
      expect(await textOf('[data-testid=week-zone]')).toContain(ZONE);
      // This week first, today marked.
      const today = local(new Date().toISOString()).date;
      expect(
        await page.$eval('[data-testid=week-day][data-today]', (el) => [el.getAttribute('data-date'), el.querySelector('h3')?.getAttribute('aria-current')]),
      ).toEqual([today, 'date']);
      expect(await page.$$eval('[data-testid=week-day]', (els) => els.length)).toBe(7);
      await screenshot('coach-calendar-week-now');

      // Week by week to the booked one; "This week" comes back.
      const appointmentDay = local(at).date;
      for (let i = 0; i < 12 && !(await page.$(`[data-testid=week-day][data-date="${appointmentDay}"]`)); i++) await page.click('[data-testid=week-next]');
      await page.waitForSelector(`[data-testid=week-day][data-date="${appointmentDay}"]`);
      expect(await page.$('[data-testid=week-day][data-today]')).toBeNull();

      // The window as bands in Berlin time (23:00–01:00 in winter: across midnight), the appointment as a block.
      const bands = await page.$$eval(`[data-testid=week-window][data-window-id="${windowId}"]`, (els) =>
        els.map((el) => ({
          date: el.closest('[data-testid=week-day]')?.getAttribute('data-date'),
          from: el.getAttribute('data-from'),
          to: el.getAttribute('data-to'),
        })),
      );
      expect(bands).toEqual(pieces(`${day}T22:00:00.000Z`, `${dayAfter}T00:00:00.000Z`));
      const block = `[data-testid=week-appointment][data-appointment-id="${booked}"]`;
      const shown = await page.$eval(block, (el) => ({
        date: el.closest('[data-testid=week-day]')?.getAttribute('data-date'),
        from: el.getAttribute('data-from'),
        to: el.getAttribute('data-to'),
        text: el.textContent ?? '',
      }));
      const [expected] = pieces(at, new Date(Date.parse(at) + 30 * 60_000).toISOString());
      expect({ ...shown, text: undefined }).toEqual({ ...expected, text: undefined });
      expect(shown.text).toContain(CLIENT_NAME);
      expect(shown.text).toContain('scheduled');
      await screenshot('coach-calendar-week');

      // The block leads to the appointment's row in the list.
      await page.click(`${block} button`);
      const row = `[data-testid=calendar-appointment][data-appointment-id="${booked}"]`;
      await page.waitForFunction((sel) => document.activeElement === document.querySelector(sel), { timeout: 5_000 }, row);

      // On a phone the week is a list of days, no hour scale.
      await page.setViewport({ width: 390, height: 844 });
      expect(await page.$eval('.hc-week-gutter', (el) => getComputedStyle(el).display)).toBe('none');
      expect(await page.$eval(block, (el) => getComputedStyle(el).position)).toBe('static');
      await screenshot('coach-calendar-week-phone');
      await page.setViewport({ width: 1200, height: 860 });
      // Back at desktop width before the next click: the hour scale shows again.
      await page.waitForFunction(() => getComputedStyle(document.querySelector('.hc-week-gutter')!).display !== 'none', { timeout: 5_000 });
      /**
       * Clicks once the target is at rest: a full-page screenshot or a viewport change reaches the page a
       * moment after Puppeteer's call returns (and the block's link scrolls the row into view smoothly), so
       * a point measured at once can be where the button no longer is and the click lands beside it. The
       * locator waits until the element is in view, enabled, and its box the same over two frames.
       */
      const click = (selector: string) => page.locator(selector).setTimeout(15_000).click();

      // Reassign: the coaches from the server, free ones first; the busy one not choosable, the idle one marked.
      await click(`${row} ::-p-text(Reassign)`);
      await page.waitForSelector('dialog[open] [data-testid=reassign-options]', { timeout: 15_000 });
      const options = await page.$$eval('dialog[open] [data-testid=reassign-option]', (els) =>
        els.map((el) => ({ id: el.getAttribute('data-coach-id'), text: el.textContent ?? '', disabled: el.querySelector('input')!.disabled })),
      );
      const option = (id: string) => options.find((o) => o.id === id)!;
      expect(option(targetId!)).toEqual({ id: targetId, text: 'Rowan Reassign', disabled: false });
      expect(option(busyId!)).toEqual({ id: busyId, text: 'Blair Busyhas an appointment then', disabled: true });
      expect(option(idleId!)).toEqual({ id: idleId, text: 'Ira Idleoutside their availability', disabled: false });
      expect(options.findIndex((o) => o.id === busyId)).toBeGreaterThan(options.findIndex((o) => o.id === idleId));
      expect(options.some((o) => o.id === SEED_COACH.id)).toBe(false);
      await screenshot('coach-calendar-reassign');

      // Booked meanwhile by another client: the server's refusal (409) in the dialog, the list read again.
      const choose = async () => {
        await click(`dialog[open] [data-coach-id="${targetId}"] input`);
        await click('dialog[open] .hc-row button:first-child');
      };
      const late = await book(lateClientToken!, targetId!);
      await choose();
      await page.waitForSelector('dialog[open] [data-testid=reassign-error]', { timeout: 15_000 });
      expect(await textOf('dialog[open] [data-testid=reassign-error]')).toBe('That coach has an appointment at that time');
      await page.waitForSelector(`dialog[open] [data-coach-id="${targetId}"] input:disabled`, { timeout: 15_000 });
      await screenshot('coach-calendar-reassign-refused');
      // Free again; the dialog opened afresh offers them.
      await apiOk('POST', `/api/appointments/${late}/cancel`, { token: lateClientToken! });
      await click('dialog[open] .hc-row button:last-child');
      await page.waitForFunction(() => !document.querySelector('dialog[open]'), { timeout: 5_000 });
      await click(`${row} ::-p-text(Reassign)`);
      await page.waitForSelector(`dialog[open] [data-coach-id="${targetId}"] input:not(:disabled)`, { timeout: 15_000 });
      expect(await page.$('dialog[open] [data-testid=reassign-error]')).toBeNull();
      await choose();
      await page.waitForSelector('[data-testid=reassign-done] ::-p-text(now with Rowan Reassign)', { timeout: 15_000 });
      expect(await textOf('[data-testid=reassign-done]')).toContain(CLIENT_NAME);
      // Gone from this coach's calendar (list and week), the news in focus.
      expect(await page.$(row)).toBeNull();
      expect(await page.$(block)).toBeNull();
      // Focus moves in an effect after the news renders.
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'reassign-done', { timeout: 5_000 });
      await screenshot('coach-calendar-reassigned');

      const mine = await apiOk<{ id: string }[]>('GET', '/api/appointments?include=all', { token: coachToken });
      expect(mine.some((a) => a.id === booked)).toBe(false);
      const theirs = await apiOk<{ id: string; scheduledFor: string; status: string; client: { id: string; displayName: string } }[]>(
        'GET',
        '/api/appointments',
        { token: targetToken! },
      );
      expect(theirs.find((a) => a.id === booked)).toMatchObject({ scheduledFor: at, status: 'SCHEDULED', client: { id: clientId, displayName: CLIENT_NAME } });
    } finally {
      await page.emulateTimezone(undefined);
      await page.setViewport({ width: 1200, height: 860 });
    }
  });

  it('renames the coach and turns bookings off and back on in settings (the greeting follows; a PREMIUM client sees no slots while off)', async () => {
    // A one-off window three days ahead, so the coach has free slots to offer (removed at the end).
    const day = new Date(Date.now() + 3 * 24 * 3600_000).toISOString().slice(0, 10);
    const window = await apiOk<{ id: string }>(
      'POST',
      '/api/availability',
      { token: coachToken, body: { specificDate: day, startTime: '13:00', endTime: '14:00' } },
      201,
    );
    const offered = async () =>
      (await apiOk<{ coach: { id: string }; slots: string[] }[]>('GET', '/api/coaches/slots?days=7', { token: clientToken })).some(
        (o) => o.coach.id === SEED_COACH.id && o.slots.some((t) => t.startsWith(`${day}T13:`)),
      );
    try {
      expect(await offered()).toBe(true);
      await Promise.all([page.waitForSelector('[data-testid=coach-settings]', { timeout: 15_000 }), page.click('nav a[href="/settings"]')]);
      const name = '[data-testid=coach-settings] input[name=displayName]';
      const toggle = '[data-testid=coach-settings] button[role=switch]';
      expect(await page.$eval(name, (el) => (el as HTMLInputElement).value)).toBe(coachBefore.displayName);
      expect(await page.$eval(toggle, (el) => el.getAttribute('aria-checked'))).toBe('true');
      // The switch is named by its visible label.
      expect(await page.$eval(toggle, (el) => document.getElementById(el.getAttribute('aria-labelledby') ?? '')?.textContent)).toBe('Available for bookings');
      await screenshot('coach-settings');

      // An empty name is refused in place.
      await page.click(name, { count: 3 });
      await page.keyboard.press('Backspace');
      await page.click('[data-testid=coach-settings] button[type=submit]');
      await page.waitForSelector('[data-testid=coach-settings] [role=alert]', { timeout: 15_000 });
      expect(await textOf('[data-testid=coach-settings] [role=alert]')).toContain('Not saved');
      expect(await page.$eval(name, (el) => el.getAttribute('aria-invalid'))).toBe('true');
      await screenshot('coach-settings-error');

      // A new name, and bookings off with the keyboard (Space on the switch).
      await page.type(name, 'Casey Renamed');
      await page.focus(toggle);
      await page.keyboard.press('Space');
      await page.waitForSelector(`${toggle}[aria-checked=false]`);
      await page.click('[data-testid=coach-settings] button[type=submit]');
      await page.waitForSelector('[data-testid=coach-settings] ::-p-text(Saved.)', { timeout: 15_000 });
      await screenshot('coach-settings-saved');
      expect(await apiOk('GET', '/api/users/me', { token: coachToken })).toMatchObject({ displayName: 'Casey Renamed', isAvailable: false });
      expect(await offered()).toBe(false);

      // The greeting follows without a reload.
      await Promise.all([page.waitForSelector('[data-testid=flagged-sessions]', { timeout: 15_000 }), page.click('nav a[href="/dashboard"]')]);
      expect(await textOf('#main h1')).toBe('Hello, Casey Renamed');
      await screenshot('coach-dashboard-renamed');

      // Back as it was: the seeded coach's name, and open for bookings again.
      await Promise.all([page.waitForSelector('[data-testid=coach-settings]', { timeout: 15_000 }), page.click('nav a[href="/settings"]')]);
      await page.click(name, { count: 3 });
      await page.keyboard.press('Backspace');
      await page.type(name, coachBefore.displayName);
      await page.click(toggle);
      await page.waitForSelector(`${toggle}[aria-checked=true]`);
      await page.click('[data-testid=coach-settings] button[type=submit]');
      await page.waitForSelector('[data-testid=coach-settings] ::-p-text(Saved.)', { timeout: 15_000 });
      expect(await apiOk('GET', '/api/users/me', { token: coachToken })).toMatchObject({ displayName: coachBefore.displayName, isAvailable: true });
      expect(await offered()).toBe(true);
    } finally {
      await send('DELETE', `/api/availability/${window.id}`, coachToken);
    }
  });

  it('sends a client who reaches the coach portal to their own portal', async () => {
    const clientPage = await portalPage(browser, 'client');
    try {
      // Signed in at their own portal first...
      await signInClientPortal(clientPage, CLIENT_EMAIL);
      // ...then through the coach portal's sign-in callback with a client's grant: back to the client dashboard.
      await openWithGrant(clientPage, COACH_PORTAL_URL, CLIENT_EMAIL);
      await clientPage.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
      expect(clientPage.url()).toBe(`${portals.client}/dashboard`);
      expect(await clientPage.evaluate(() => sessionStorage.getItem('hc_token'))).toBeTruthy();

      // A client's session on any coach route (here planted in the coach portal's storage): sent away too.
      // (The coach portal forgets the token as it sends them away: planted again for each route.)
      for (const route of [`/sessions/${sessionId}`, `/clients/${clientId}`, '/clients', '/settings', `/call/${sessionId}`]) {
        await clientPage.goto(`${COACH_PORTAL_URL}/`, { waitUntil: 'networkidle0' });
        await clientPage.evaluate((t) => sessionStorage.setItem('hc_token', t), clientToken);
        await clientPage.goto(`${COACH_PORTAL_URL}${route}`);
        await clientPage.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
        expect({ route, url: clientPage.url() }).toEqual({ route, url: `${portals.client}/dashboard` });
      }
      await screenshot('client-sent-to-own-portal', clientPage);

      // Signed out, the coach portal asks for a sign-in.
      const fresh = await browser.createBrowserContext();
      const anon = await fresh.newPage();
      await anon.goto(`${COACH_PORTAL_URL}/dashboard`, { waitUntil: 'networkidle0' });
      await anon.waitForSelector('::-p-text(Please sign in)', { timeout: 15_000 });
      await screenshot('coach-signed-out', anon);
      await fresh.close();
    } finally {
      await clientPage.close();
    }
  });

  it('keeps a coach’s private notes from another coach', async () => {
    await createCoach('coach-portal-other@example.com', 'Olive Other');
    const otherToken = await login('coach-portal-other@example.com');
    const notes = await apiOk<{ id: string }[]>('GET', `/api/clients/${clientId}/notes`, { token: coachToken });
    expect(notes.length).toBeGreaterThan(0);
    // Not their client: as if unknown; nor can they change a note of the first coach's.
    expect((await api('GET', `/api/clients/${clientId}/notes`, { token: otherToken })).status).toBe(404);
    const patch = await fetch(`${inject('apiOrigin')}/api/notes/${notes[0]!.id}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${otherToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ shareableWithAi: false }),
    });
    expect(patch.status).toBe(404);
    // Nor find the first coach's sessions in a search.
    const hits = await apiOk<{ sessionId: string }[]>('GET', '/api/search/transcripts?q=breathing', { token: otherToken });
    expect(hits.filter((h) => h.sessionId === sessionId)).toEqual([]);
    // Nor open the client's page; their own list is empty.
    expect((await api('GET', `/api/coach/clients/${clientId}`, { token: otherToken })).status).toBe(404);
    expect(await apiOk('GET', '/api/coach/clients', { token: otherToken })).toEqual([]);
    const fresh = await browser.createBrowserContext();
    try {
      const other = await fresh.newPage();
      await other.setViewport({ width: 1200, height: 860 });
      await other.goto(`${COACH_PORTAL_URL}/`, { waitUntil: 'networkidle0' });
      await other.evaluate((t) => sessionStorage.setItem('hc_token', t), otherToken);
      await other.goto(`${COACH_PORTAL_URL}/clients`, { waitUntil: 'networkidle0' });
      await other.waitForSelector('[data-testid=clients-empty]', { timeout: 15_000 });
      expect(await textOf('[data-testid=clients-empty]', other)).toContain('No clients yet');
      await screenshot('coach-clients-empty', other);
    } finally {
      await fresh.close();
    }
  });

  it('refuses every coach API to a client (403)', async () => {
    const calls: [string, string][] = [
      ['GET', `/api/clients/${clientId}/notes`],
      ['POST', `/api/clients/${clientId}/notes`],
      ['GET', '/api/search/transcripts?q=breathing'],
      ['GET', '/api/availability'],
      ['POST', `/api/rooms/${sessionId}/mute-ai`],
      ['GET', '/api/coach/clients'],
      ['GET', `/api/coach/clients/${clientId}`],
      ['GET', '/api/coach/live'],
    ];
    for (const [method, path] of calls) {
      const body = method === 'POST' ? (path.endsWith('mute-ai') ? { muted: true } : { text: 'mine now' }) : undefined;
      const answer = await api(method as 'GET' | 'POST', path, { token: clientToken, ...(body ? { body } : {}) });
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
    }
    // Settings: a client has a name, but takes no bookings.
    expect(await send('PATCH', '/api/users/me', clientToken, { isAvailable: true })).toBe(403);
  });
});

/**
 * The coach's own voice through the portal: Chromium's fake microphone plays a sentence, pauses, and
 * plays it again (the file loops). Muted from the AI the first time, the line is stored as not heard
 * and the stand-in model never sees it; unmuted, the next time it reaches the model; a whisper from the
 * box is in the model's view for the next reply and never in the client's transcript. The client is an
 * rtc-node participant whose microphone speaks when told.
 */
describe('the coach’s voice and the AI hear / not-hear switch, with the AI agent offline', () => {
  const COACH_SAYS = 'I think she is close to a breakthrough today.';
  const CLIENT_ONE = 'I have been feeling anxious all week.';
  const CLIENT_TWO = 'My shoulders are always tense.';
  const CLIENT_THREE = 'I would like to sleep better.';
  const WHISPER_TEXT = 'Ask how her evenings usually go.';
  const MIC_RATE = 48_000;
  let standins: Standins;
  let agent: AgentProcess | undefined;
  let browser: Browser;
  let page: Page;
  const files = browserTestFiles('coach-portal', { keepScreenshots: true, firstShot: 50 });
  let clientToken = '';
  let coachToken = '';
  let sessionId = '';
  let client: TestParticipant | undefined;
  let clientMic: Microphone | undefined;
  const screenshot = (name: string, on: Page) => files.screenshot(on, name);
  const modelSaw = () => standins.chat.requests.flatMap((r) => r.body.messages.map((m) => messageText(m)));
  /** The client says `text` and waits for the model request it triggers; answers that request's texts. */
  const clientSays = async (text: string) => {
    await clientMic!.say(text);
    const request = await eventually(
      `a model request carrying "${text}"`,
      () => standins.chat.requests.find((r) => r.body.messages.some((m) => messageText(m).includes(text))),
      {
        timeoutMs: 45_000,
      },
    );
    return request.body.messages.map((m) => messageText(m));
  };
  const coachLines = async () =>
    (
      await apiOk<{ transcript: { speakerRole: string; text: string; heardByAi: boolean; kind: string }[] }>('GET', `/api/sessions/${sessionId}`, {
        token: coachToken,
      })
    ).transcript.filter((l) => l.speakerRole === 'coach' && l.kind === 'speech');

  beforeAll(async () => {
    // 12 s of quiet (time to join and mute), the sentence, 16 s of quiet (time to unmute); then it loops.
    const phrase = await speak(COACH_SAYS, { sampleRate: MIC_RATE });
    const micFile = files.path('coach-mic.wav');
    await writeWav(micFile, concatPcm(silence(12_000, MIC_RATE), phrase, silence(16_000, MIC_RATE)), MIC_RATE);
    standins = await startStandins({
      stt: DISTINCT_PHRASES,
      sttPhrases: [COACH_SAYS, CLIENT_ONE, CLIENT_TWO, CLIENT_THREE],
      chatScript: {
        rules: [{ when: SUMMARY_MARKER, reply: JSON.stringify({ summary: 'A short session.', keyInsights: [], nextSteps: [], newFacts: [] }) }],
        defaultReply: 'Tell me more about that.',
      },
    });
    agent = await AgentProcess.startOffline(standins, files.path('outbox'));
    await Promise.all([createClient('coach-voice-premium@example.com', 'Vic Voice', 'PREMIUM'), files.portals('coach')]);
    [clientToken, coachToken] = await Promise.all([login('coach-voice-premium@example.com'), login(COACH_EMAIL)]);

    // The client in the room (rtc-node, a silent microphone), and the AI with them.
    const ticket = await apiOk<{ sessionId: string; token: string; livekitUrl: string }>('POST', '/api/rooms', { token: clientToken }, 201);
    sessionId = ticket.sessionId;
    client = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    clientMic = await Microphone.publish(client.room);
    await eventually(
      'the AI in the room',
      async () =>
        (await apiOk<{ participants: { role: string }[] }>('GET', `/api/rooms/${sessionId}`, { token: clientToken })).participants.some((p) => p.role === 'ai'),
      {
        timeoutMs: 45_000,
        describe: () => agent?.output.slice(-10).join(''),
      },
    );

    ({ browser, page } = await openCoachPortal(files, COACH_EMAIL, { media: { micFile } }));
  }, 240_000);

  afterAll(() => closeCall({ mic: clientMic, client, session: { id: sessionId, clientToken }, browser, agent, standins }));

  it('stores what the muted coach says as not heard and keeps it from the model; unmuted, the model hears it; a whisper reaches it', async () => {
    const toggle = '[data-testid=ai-hear-toggle]';
    const applied = (words: string) =>
      page.waitForFunction((w) => document.querySelector('[data-testid=mute-applied]')?.textContent?.includes(w), { timeout: 15_000 }, words);

    await page.goto(`${COACH_PORTAL_URL}/call/${sessionId}`);
    await page.waitForSelector(`${toggle}:not([disabled])`, { timeout: 15_000 });
    await page.click(toggle);
    await page.waitForSelector(`${toggle}[aria-checked=false]`, { timeout: 15_000 });
    // The real agent acknowledges the mute.
    await applied('it no longer hears you');

    const unheard = await eventually('the muted coach’s line, stored', async () => (await coachLines()).find((l) => l.text === COACH_SAYS), {
      timeoutMs: 45_000,
      describe: async () => ({ lines: await coachLines(), stt: standins.stt.sessions.map((x) => ({ audioBytes: x.audioBytes, heard: x.heard })) }),
    });
    expect(unheard.heardByAi).toBe(false);
    await page.waitForSelector('[data-testid=live-transcript] [data-heard=false] [data-testid=not-heard-mark]', { timeout: 15_000 });
    // The next reply to the client is made without the muted coach's words.
    await clientSays(CLIENT_ONE);
    expect(modelSaw().some((t) => t.includes('breakthrough'))).toBe(false);
    await screenshot('coach-call-voice-not-heard', page);

    await page.click(toggle);
    await page.waitForSelector(`${toggle}[aria-checked=true]`, { timeout: 15_000 });
    await applied('it hears you');
    const heard = await eventually(
      'the coach’s next line, heard by the AI',
      async () => (await coachLines()).find((l) => l.text === COACH_SAYS && l.heardByAi),
      {
        timeoutMs: 60_000,
        describe: async () => await coachLines(),
      },
    );
    expect(heard.heardByAi).toBe(true);
    // Unmuted, the next reply is made with the coach's words in view, labelled as the coach.
    const seen = await clientSays(CLIENT_TWO);
    expect(seen.filter((t) => t.includes(COACH_SAYS))[0]).toMatch(/^\[Coach [^\]]+\]: /);
    await page.waitForSelector('[data-testid=live-transcript] [data-role=coach][data-heard=true]', { timeout: 15_000 });
    await screenshot('coach-call-voice-heard', page);

    // A whisper from the box reaches the model with the next reply, and is never spoken or shown to the client.
    await page.type('[data-testid=whisper-box] textarea[name=whisper]', WHISPER_TEXT);
    await page.click('[data-testid=whisper-box] button[type=submit]');
    await page.waitForFunction(() => document.querySelector('[data-testid=whisper-box]')?.textContent?.includes('Sent to the AI privately.'), {
      timeout: 15_000,
    });
    const steered = await clientSays(CLIENT_THREE);
    expect(steered.some((t) => t.includes(WHISPER_TEXT))).toBe(true);
    const clientView = await apiOk<{ transcript: { text: string }[] }>('GET', `/api/sessions/${sessionId}`, { token: clientToken });
    expect(clientView.transcript.some((l) => l.text.includes(WHISPER_TEXT))).toBe(false);
    await screenshot('coach-call-voice-whisper', page);
  }, 150_000);
});
