/**
 * A FREE client's whole journey in real Chromium, against the e2e stack (real Worker, real
 * livekit-server) and the AI agent in offline mode (stand-ins for speech and the model): onboarding
 * before the first session, the waiting room, the call room with the orb driven by the AI's voice,
 * the timer and the transcript, the rating after the call, the month's limit, reports and settings.
 * The browser's fake microphone plays an espeak-ng recording the speech stand-in knows. The client
 * is an account of this file's own, so the FREE month is not shared with other files.
 * A screenshot of every screen goes to e2e/artifacts/client-journey/.
 */
import { CONSENT_POINTS, CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { PACKET_TOPICS, packetKey, sealPacket, type TimerPacket } from '@hybrid-coach/shared/room-packets';
import { DataPacket_Kind, RoomServiceClient } from 'livekit-server-sdk';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { concatPcm, silence, speak, writeWav } from '../agent-host/dev/standins/audio';
import { SUMMARY_MARKER } from '../agent-host/src/agent/summary';
import {
  api,
  apiOk,
  browserTestFiles,
  clientBrowser,
  createClient,
  DESKTOP,
  endSessionInCall,
  eventually,
  login,
  signInClientPortal,
  skipAfterFirstFailure,
  TestParticipant,
  watchPage,
} from './helpers';
import { queryLocalD1 } from './stack';
import { AgentProcess } from './voice';

const EMAIL = 'journey-free@example.com';
const NAME = 'Jordan Journey';
const CLIENT_SAYS = 'I have been feeling anxious all week.';
const AI_ANSWERS = 'That sounds hard. Shall we breathe together for a moment?';
const MIC_RATE = 48_000;
const SUMMARY = {
  summary: 'Jordan arrived anxious after a hard week and tried slow breathing.',
  keyInsights: ['Anxiety builds over the working week'],
  nextSteps: ['Breathe out for six, three times a day'],
  newFacts: ['Wants to sleep better'],
};

const portals = inject('portalUrls');
const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

interface SessionSummary {
  id: string;
  status: string;
  rating: { rating: number; tip: number | null; comment: string | null } | null;
}

describe('a FREE client from onboarding to the rating', () => {
  let standins: Standins;
  let agent: AgentProcess | undefined;
  let browser: Browser;
  let page: Page;
  const files = browserTestFiles('client-journey');
  let token = '';
  let sessionId = '';
  let pageLog: ReturnType<typeof watchPage>;

  const screenshot = (name: string, on: Page = page) => files.screenshot(on, name);
  const textOf = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
  const attr = (selector: string, name: string) => page.$eval(selector, (el, n) => el.getAttribute(n), name);
  const sessions = () => apiOk<SessionSummary[]>('GET', '/api/sessions', { token });

  beforeAll(async () => {
    // The fake microphone loops this file: a pause, the sentence, a longer pause for the AI's answer.
    const phrase = await speak(CLIENT_SAYS, { sampleRate: MIC_RATE });
    const micFile = files.path('mic.wav');
    await writeWav(micFile, concatPcm(silence(1500, MIC_RATE), phrase, silence(7000, MIC_RATE)), MIC_RATE);

    const [standinsReady] = await Promise.all([
      startStandins({
        sttPhrases: [CLIENT_SAYS],
        chatScript: {
          rules: [
            { when: SUMMARY_MARKER, reply: JSON.stringify(SUMMARY) },
            { when: 'anxious', reply: AI_ANSWERS },
          ],
          defaultReply: 'Tell me more about that.',
        },
      }),
      // A new client: nothing agreed yet, so onboarding asks first.
      createClient(EMAIL, NAME, 'FREE', { consented: false }),
      files.portals('client'),
    ]);
    standins = standinsReady;
    // The AI's voice plays (and feeds the orb's analyser) without a click on the page first.
    // A high-DPI screen: the orb must draw at twice its CSS size.
    ({ browser, page } = await clientBrowser(files, { media: { micFile }, viewport: { ...DESKTOP, deviceScaleFactor: 2 } }));
    pageLog = watchPage(page);
    await signInClientPortal(page, EMAIL);
    token = (await page.evaluate(() => sessionStorage.getItem('hc_token'))) ?? '';
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await agent?.stop();
    await standins?.close();
    if (sessionId) await api('POST', `/api/rooms/${sessionId}/end`, { token }).catch(() => undefined);
  });

  skipAfterFirstFailure();

  it('asks for consent to what is recorded, goals and mood before the first session, then waits for the AI with music and a microphone check', async () => {
    expect(await textOf('[data-testid=tier-banner]')).toContain('20 minutes left this month');
    await screenshot('dashboard-new-client');

    // The API refuses a session until the client agrees to what is recorded, whatever the page does.
    const refused = await api('POST', '/api/rooms', { token });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ success: false, error: { code: 'CONSENT_REQUIRED' } });

    await page.click('::-p-text(Start a session)');
    await page.waitForSelector('[data-testid=consent-step]');
    expect(page.url()).toBe(`${portals.client}/onboarding`);
    const points = await page.$$eval('[data-testid=consent-points] li', (lis) => lis.map((li) => li.textContent ?? ''));
    expect(points).toEqual([...CONSENT_POINTS]);
    expect(points.join(' ')).toContain('12 months');
    await screenshot('onboarding-consent');
    await page.click('::-p-text(I agree)');
    await page.waitForSelector('#onboarding-title');
    const consent = await apiOk<{ version: number; agreed: boolean }>('GET', '/api/users/me/consent', { token });
    expect(consent).toMatchObject({ version: CONSENT_VERSION, agreed: true });
    // Nothing chosen: the form says what is missing, in place.
    await page.click('::-p-text(Save and start my session)');
    await page.waitForSelector('::-p-text(Choose how you feel today.)');
    await screenshot('onboarding-missing-fields');
    await page.type('textarea[name=coachingGoals]', 'Sleep better and feel calmer at work.');
    await page.type('textarea[name=symptoms]', 'Tight shoulders in the evening.');
    await page.click('input[name=initialMood][value="3"]');
    await screenshot('onboarding');

    // No AI worker is running yet: the client waits in the waiting room.
    await page.click('::-p-text(Save and start my session)');
    await page.waitForSelector('[data-testid=waiting-room]', { timeout: 20_000 });
    sessionId = await textOf('[data-testid=session-id]');
    expect(page.url()).toBe(`${portals.client}/call/${sessionId}`);
    const profile = await apiOk<{ onboardingCompleted: boolean; initialMood: number }>('GET', '/api/users/me/profile', { token });
    expect(profile).toMatchObject({ onboardingCompleted: true, initialMood: 3 });

    // The bundled calm track is there and is real audio.
    const src = await page.$eval('[data-testid=waiting-room] audio', (a) => (a as HTMLAudioElement).currentSrc || (a as HTMLAudioElement).src);
    expect(src).toBe(`${portals.client}/calm-track.wav`);
    const track = await fetch(src);
    expect(track.headers.get('content-type')).toMatch(/audio\/(wav|x-wav|wave)/);
    expect((await track.arrayBuffer()).byteLength).toBeGreaterThan(40_000);
    await page.$eval('[data-testid=waiting-room] audio', (a) => (a as HTMLAudioElement).play());
    await eventually('the calm track to play', () => page.$eval('[data-testid=waiting-room] audio', (a) => (a as HTMLAudioElement).currentTime > 0.2));

    // The fake microphone is speaking: the level meter moves.
    const level = await eventually(
      'the microphone meter to move',
      async () => {
        const v = Number(await attr('[data-testid=mic-meter]', 'aria-valuenow'));
        return v > 4 ? v : undefined;
      },
      { timeoutMs: 20_000, describe: () => attr('[data-testid=mic-meter]', 'aria-valuenow') },
    );
    expect(level).toBeGreaterThan(4);
    await screenshot('waiting-room');

    // Leaving before the coach arrives ends the session without using the month's session.
    await endSessionInCall(page);
    await page.waitForSelector('::-p-text(Session ended)', { timeout: 20_000 });
    await page.waitForSelector('[data-testid=not-started]', { timeout: 15_000 });
    await screenshot('ended-before-start');
    await Promise.all([page.waitForSelector('[data-testid=tier-banner]'), page.click('::-p-text(Back to your dashboard)')]);
    expect(await textOf('[data-testid=tier-banner]')).toContain('0 of 1 session used');
  });

  it('connects the room when the AI joins: the orb renders sharp, the AI speaks, the timer runs', async () => {
    agent = await AgentProcess.startOffline(standins, files.path('outbox'));
    // As after a new version of the consent text (here: the agreement to the current one taken away while
    // the dashboard is open): the start is refused, the client is asked again, then goes straight to the call.
    await queryLocalD1(inject('persistDir'), `DELETE FROM consent_records WHERE user_id = (SELECT id FROM users WHERE email = '${EMAIL}')`);
    await page.click('::-p-text(Start a session)');
    await page.waitForSelector('[data-testid=consent-step]', { timeout: 15_000 });
    await page.click('::-p-text(I agree)');
    await page.waitForSelector('[data-testid=call-room]', { timeout: 20_000 });
    sessionId = await textOf('[data-testid=session-id]');
    await page.waitForSelector('[data-testid=call-room][data-phase=call]', { timeout: 45_000 }).catch((err: unknown) => {
      console.log('agent output:', agent?.output.slice(-40).join(''));
      return pageLog.explain(err);
    });
    await page.waitForSelector('[data-testid=orb]');
    const measureOrb = () =>
      page.$eval('[data-testid=orb]', (c) => {
        const canvas = c as HTMLCanvasElement;
        const box = canvas.getBoundingClientRect();
        return { width: canvas.width, height: canvas.height, cssWidth: box.width, label: canvas.getAttribute('aria-label') };
      });
    // The call room's layout can still be settling (the tile grid, the transcript): the canvas follows
    // its box at devicePixelRatio 2 once it has one.
    const orb = await eventually(
      'the orb to be drawn at devicePixelRatio',
      async () => {
        const o = await measureOrb();
        return o.cssWidth > 100 && o.width === Math.round(o.cssWidth * 2) ? o : undefined;
      },
      { timeoutMs: 5_000, describe: measureOrb },
    );
    expect(orb.cssWidth).toBeGreaterThan(100);
    expect(orb.width).toBe(Math.round(orb.cssWidth * 2)); // devicePixelRatio 2
    expect(orb.label).toMatch(/^AI coach/);

    // The Worker's live events (GET /api/rooms/:id/ws) are flowing too.
    await page.waitForSelector('[data-testid=call-room][data-events=open]', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=session-timer][data-started=true]', { timeout: 30_000 });
    const first = await textOf('[data-testid=session-timer] [role=timer]');
    await eventually('the timer to tick', async () => (await textOf('[data-testid=session-timer] [role=timer]')) !== first, { timeoutMs: 5_000 });
    expect(await textOf('[data-testid=session-timer]')).toMatch(/left/); // FREE: 20 minutes at most
    expect(await attr('[data-testid=agent-state]', 'data-state')).not.toBe('absent');
    await screenshot('call-room');
  });

  it('moves the orb with the AI’s voice (still under reduced motion) and shows what both say in the transcript', async () => {
    // The orb's level follows the AI's audio track through LiveKit's volume hook.
    await eventually('the orb to respond to the AI’s voice', async () => Number(await attr('[data-testid=orb]', 'data-level')) > 0.05, {
      timeoutMs: 45_000,
      intervalMs: 50,
      describe: () => attr('[data-testid=orb]', 'data-level'),
    });
    // It moves: a later frame differs from this one (read again until the renderer has drawn one).
    const frame = () => page.$eval('[data-testid=orb]', (c) => (c as HTMLCanvasElement).toDataURL());
    const first = await frame();
    expect(await eventually('the orb to move', async () => (await frame()) !== first, { timeoutMs: 5_000, intervalMs: 100 })).toBe(true);
    await screenshot('call-ai-speaking');

    // Under prefers-reduced-motion the orb keeps still: a plain circle that only glows with the voice.
    await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'reduce' }]);
    // Read again until a frame drawn under the new setting is there (a loaded machine may take a while to draw one).
    const radiiNow = () =>
      page.$eval('[data-testid=orb]', (c) => {
        const canvas = c as HTMLCanvasElement;
        const { data, width, height } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        // The body is opaque, the halo around it is not: walk out from the centre to the first see-through pixel.
        return Array.from({ length: 16 }, (_, i) => {
          const a = (i / 16) * 2 * Math.PI;
          for (let r = 1; r < Math.min(width, height) / 2; r++) {
            const x = Math.round(width / 2 + Math.cos(a) * r);
            const y = Math.round(height / 2 + Math.sin(a) * r);
            if ((data[(y * width + x) * 4 + 3] ?? 0) < 250) return r;
          }
          return -1;
        });
      });
    const spread = (r: number[]) => Math.max(...r) - Math.min(...r);
    let lastRadii: number[] = [];
    const radii = await eventually(
      'a round orb under reduced motion',
      async () => {
        lastRadii = await radiiNow();
        return spread(lastRadii) <= 2 && lastRadii;
      },
      { timeoutMs: 5_000, intervalMs: 100, describe: () => lastRadii },
    );
    expect(Math.min(...radii)).toBeGreaterThan(50);
    expect(spread(radii)).toBeLessThanOrEqual(2);
    await page.emulateMediaFeatures([{ name: 'prefers-reduced-motion', value: 'no-preference' }]);

    const transcript = () => textOf('[data-testid=transcript]').catch(() => '');
    await eventually('the AI’s greeting in the transcript', async () => (await transcript()).includes('Hi Jordan'), {
      timeoutMs: 45_000,
      describe: transcript,
    });
    await eventually(
      'the client’s words and the AI’s answer in the transcript',
      async () => {
        const text = await transcript();
        return text.includes(CLIENT_SAYS) && text.includes(AI_ANSWERS);
      },
      { timeoutMs: 60_000, describe: transcript },
    );
    await screenshot('call-transcript');
    // On a phone the transcript goes under the orb.
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2 });
    await screenshot('call-phone');
    await page.setViewport({ width: 1200, height: 860, deviceScaleFactor: 2 });

    // The transcript can be hidden and shown again.
    await page.click('::-p-text(Hide transcript)');
    expect(await page.$('[data-testid=transcript]')).toBeNull();
    expect(await attr('::-p-text(Show transcript)', 'aria-expanded')).toBe('false');
    await screenshot('call-transcript-hidden');
    await page.click('::-p-text(Show transcript)');
    await page.waitForSelector('[data-testid=transcript]');

    // Mute and unmute: the button says which, and the published track follows.
    await page.click('::-p-text(Mute microphone)');
    await page.waitForSelector('::-p-text(Unmute microphone)');
    expect(await attr('[aria-pressed=true]', 'aria-pressed')).toBe('true');
    await page.click('::-p-text(Unmute microphone)');
    await page.waitForSelector('::-p-text(Mute microphone)');
  });

  it('shows the 5- and 1-minute warnings the Worker sends', async () => {
    // The packets the session's Durable Object sends (sealed server data on hc.timer, from no participant).
    const send = async (payload: TimerPacket) => {
      const sealed = await sealPacket(await packetKey(inject('agentHostSecret'), sessionId), PACKET_TOPICS.timer, payload);
      await roomService.sendData(`session-${sessionId}`, sealed, DataPacket_Kind.RELIABLE, { topic: PACKET_TOPICS.timer });
    };
    expect(await page.$('[data-testid=timer-warning]')).toBeNull();
    await send({ type: 'warning', minutesLeft: 5, endsAt: Date.now() + 5 * 60_000 });
    await page.waitForSelector('[data-testid=timer-warning] ::-p-text(Five minutes left)', { timeout: 10_000 });
    await screenshot('call-five-minutes-left');
    await send({ type: 'warning', minutesLeft: 1, endsAt: Date.now() + 60_000 });
    await page.waitForSelector('[data-testid=timer-warning] ::-p-text(One minute left)', { timeout: 10_000 });
    await screenshot('call-one-minute-left');
  });

  it('ends the call, takes a rating with a tip and a comment once, and shows it on the dashboard', async () => {
    await endSessionInCall(page);
    await page.waitForSelector('::-p-text(Session ended)', { timeout: 20_000 });
    expect(page.url()).toBe(`${portals.client}/sessions/${sessionId}/rate`);
    await page.waitForSelector('form[aria-label="Rate this session"]', { timeout: 15_000 });
    await screenshot('rate');

    await page.click('input[name=rating][value="4"]');
    await page.click('input[name=tip][value="3"]');
    await page.type('textarea[name=comment]', 'The breathing helped.');
    await page.click('::-p-text(Save my rating)');
    await page.waitForSelector('[data-testid=rating-saved]');
    expect(await textOf('[data-testid=rating-saved]')).toContain('4 of 5');
    await screenshot('rate-saved');

    const saved = (await sessions()).find((s) => s.id === sessionId);
    expect(saved?.rating).toMatchObject({ rating: 4, tip: 3, comment: 'The breathing helped.' });
    // Saved once: a second rating is refused.
    const again = await api('POST', `/api/sessions/${sessionId}/rating`, { token, body: { rating: 1, tip: null } });
    expect(again.status).toBe(409);

    await Promise.all([page.waitForSelector('[data-testid=past-session]'), page.click('::-p-text(Back to your dashboard)')]);
    const row = await page.$eval(`[data-testid=past-session][data-session-id="${sessionId}"]`, (el) => el.textContent ?? '');
    expect(row).toContain('Your rating');
    expect(row).toContain('4 of 5');
    // The AI's summary of the call arrives after it ends; the dashboard shows it.
    await eventually(
      'the AI summary on the dashboard',
      async () => {
        await page.reload({ waitUntil: 'networkidle0' });
        return (await page.$eval(`[data-testid=past-session][data-session-id="${sessionId}"]`, (el) => el.textContent ?? '')).includes(SUMMARY.summary);
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    await screenshot('dashboard-rated');
  });

  it('refuses a second session this month with the upgrade prompt', async () => {
    expect(await textOf('[data-testid=tier-banner]')).toContain('1 of 1 session used');
    await page.click('::-p-text(Start a session)');
    await page.waitForSelector('::-p-text(Upgrade your plan)', { timeout: 15_000 });
    expect(await page.$eval('::-p-text(Upgrade your plan)', (a) => (a as HTMLAnchorElement).href)).toBe(`${portals.public}/pricing`);
    expect(page.url()).toBe(`${portals.client}/dashboard`);
    expect((await sessions()).length).toBe(2);
    await screenshot('dashboard-upgrade-prompt');
  });

  it('shows a FREE report as a teaser with the upgrade link', async () => {
    await page.click('nav ::-p-text(Reports)');
    await page.waitForSelector('[data-testid=report]');
    expect(await attr('[data-testid=report]', 'data-access')).toBe('teaser');
    expect(await textOf('#main')).toContain('Full reports come with Vagus Member and Premium');
    await screenshot('reports');
    await page.click('::-p-text(Open the teaser)');
    await page.waitForSelector('#summary-title');
    expect(await page.$('[data-testid=report-transcript]')).toBeNull();
    expect(await textOf('#main')).toMatch(/lines? recorded\. Upgrade to read them\./);
    await screenshot('report-teaser');
  });

  it('keeps the onboarding answers editable in settings, with a favourite track for the waiting room', async () => {
    await page.click('nav ::-p-text(Settings)');
    await page.waitForSelector('textarea[name=coachingGoals]');
    expect(await page.$eval('textarea[name=coachingGoals]', (t) => (t as HTMLTextAreaElement).value)).toBe('Sleep better and feel calmer at work.');
    await page.type('input[name=favouriteTrackUrl]', `${portals.client}/calm-track.wav`);
    await page.click('input[name=initialMood][value="4"]');
    await page.click('::-p-text(Save changes)');
    await page.waitForSelector('::-p-text(Saved.)');
    await screenshot('settings');
    const profile = await apiOk<{ favouriteTrackUrl: string | null; initialMood: number }>('GET', '/api/users/me/profile', { token });
    expect(profile).toMatchObject({ favouriteTrackUrl: `${portals.client}/calm-track.wav`, initialMood: 4 });
  });
  it('shows the full report with its transcript once the client is a Vagus member', async () => {
    await queryLocalD1(inject('persistDir'), `UPDATE users SET membership_tier = 'VAGUS_MEMBER' WHERE email = '${EMAIL}'`);
    await page.click('nav ::-p-text(Reports)');
    await page.waitForSelector('[data-testid=report][data-access=full]');
    expect(await textOf('#main')).not.toContain('Full reports come with');
    await page.click('::-p-text(Read the full report)');
    await page.waitForSelector('[data-testid=report-transcript]');
    const text = await textOf('[data-testid=report-transcript]');
    expect(text).toContain(CLIENT_SAYS);
    expect(text).toContain(AI_ANSWERS);
    expect(await textOf('[data-testid=report-summary]')).toContain(SUMMARY.summary);
    await screenshot('report-full');
  });

  it('shows a Premium client the coach tile, says plainly when the microphone is blocked, rejoins a lost room, and yields to a second tab', async () => {
    // Human coaches join Premium clients' sessions only.
    await queryLocalD1(inject('persistDir'), `UPDATE users SET membership_tier = 'PREMIUM' WHERE email = '${EMAIL}'`);
    // A tab of its own whose browser refuses the microphone, as after "Block" on the permission prompt.
    const blocked = await browser.newPage();
    await blocked.setViewport({ width: 1200, height: 860 });
    const blockedLog = watchPage(blocked);
    await blocked.evaluateOnNewDocument((t: string) => {
      sessionStorage.setItem('hc_token', t);
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    }, token);
    let coach: TestParticipant | undefined;
    const { sessionId: blockedSession } = await apiOk<{ sessionId: string }>('POST', '/api/rooms', { token }, 201);
    try {
      await blocked.goto(`${portals.client}/call/${blockedSession}`, { waitUntil: 'domcontentloaded' });
      await blocked.waitForSelector('[data-testid=mic-problem][data-problem=denied]', { timeout: 30_000 }).catch(blockedLog.explain);
      expect(await blocked.$eval('[data-testid=mic-problem]', (el) => el.textContent ?? '')).toContain('blocking the microphone');
      await screenshot('call-microphone-blocked', blocked);

      // A human coach joins: the call opens (the clock starts) and shows their tile.
      const coachToken = await login('coach@example.com');
      const ticket = await apiOk<{ token: string; livekitUrl: string }>('POST', `/api/rooms/${blockedSession}/join`, { token: coachToken });
      coach = await new TestParticipant('coach').connect(ticket.livekitUrl, ticket.token);
      await blocked.waitForSelector('[data-testid=coach-tile]', { timeout: 20_000 });
      expect(await blocked.$eval('[data-testid=coach-tile]', (el) => el.textContent ?? '')).toContain('Casey Coach');
      await screenshot('call-with-coach', blocked);

      // The room is lost (the server drops the client): the page says so and joins again by itself.
      const me = await apiOk<{ id: string }>('GET', '/api/users/me', { token });
      await blocked.waitForSelector('[data-testid=call-room][data-connection=connected]', { timeout: 20_000 });
      await roomService.removeParticipant(`session-${blockedSession}`, me.id);
      await blocked.waitForSelector('[data-testid=reconnecting]', { timeout: 10_000 });
      await screenshot('call-reconnecting', blocked);
      await blocked.waitForSelector('[data-testid=call-room][data-connection=connected]', { timeout: 30_000 });
      expect(await blocked.$('[data-testid=reconnecting]')).toBeNull();
      await eventually('the client back in the LiveKit room', async () =>
        (await roomService.listParticipants(`session-${blockedSession}`)).some((p) => p.identity === me.id),
      );

      // The same call opened in another tab takes it over; the first tab says where it went, and stays put.
      // That tab gets there through "Start a session": with a session under way, a start goes back to it.
      const other = await browser.newPage();
      try {
        await other.evaluateOnNewDocument((t: string) => sessionStorage.setItem('hc_token', t), token);
        await other.goto(`${portals.client}/dashboard`, { waitUntil: 'domcontentloaded' });
        await other.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
        await other.click('::-p-text(Start a session)');
        await other.waitForFunction((id: string) => location.pathname === `/call/${id}`, { timeout: 15_000 }, blockedSession);
        await blocked.waitForSelector('::-p-text(Your call moved)', { timeout: 20_000 });
        await screenshot('call-moved-to-another-tab', blocked);
        await other.waitForSelector('[data-testid=call-room][data-connection=connected]', { timeout: 20_000 });
      } finally {
        await other.close();
      }
    } finally {
      await coach?.disconnect();
      await api('POST', `/api/rooms/${blockedSession}/end`, { token });
      await blocked.close();
    }
  });
});
