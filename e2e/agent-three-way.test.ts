/**
 * A three-way call (issue 18): the coach in the coach portal in real Chromium, speaking through a page
 * microphone that speaks when told; the client an rtc-node participant whose microphone speaks when
 * told; the AI the agent-host's worker on the offline stand-ins, which understand exactly the offline
 * script (agent-host/dev/offline-script.ts). The coach asks the AI to lead the client through an
 * exhale: the AI answers aloud, after the coach's line. The coach then asks the client a question: the
 * AI leaves it to the client and answers the client's reply, with the coach's question in view. Last,
 * the coach asks the AI something and the client speaks before the answer is heard: one reply, the
 * client's, made with both lines in view.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_LEADS_EXHALE, COACH_ASKS_AI, COACH_ASKS_AI_BY_NAME, COACH_ASKS_CLIENT, OFFLINE_CHAT, OFFLINE_PHRASES } from '../agent-host/dev/offline-script';
import { messageText, type RecordedChatRequest, type Standins, startStandins } from '../agent-host/dev/standins';
import { speak } from '../agent-host/dev/standins/audio';
import { phrases } from '../agent-host/src/agent/persona';
import {
  apiOk,
  browserTestFiles,
  closeCall,
  coachPortalUrl,
  createClient,
  eventually,
  login,
  openCoachPortal,
  skipAfterFirstFailure,
  TestParticipant,
  type TranscriptLine,
  transcriptOf,
} from './helpers';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const CLIENT_EMAIL = 'three-way-premium@example.com';
/** The offline script's sentences name Parker, as the dev seed's Premium client is called. */
const CLIENT_NAME = 'Parker Threeway';
const COACH_EMAIL = 'coach@example.com';
const CLIENT_ANSWERS = 'I have been feeling anxious all week.';
/** What the client says right after the coach's last request to the AI. */
const CLIENT_SPEAKS_UP = 'My shoulders are always tense.';
const COACH_PORTAL_URL = coachPortalUrl();
/** The offline model's answer to the client line that holds `when`. */
const replyTo = (when: string) => OFFLINE_CHAT.rules!.find((r) => r.when === when)!.reply as string;

describe('a three-way call: the AI answers the coach who speaks to it, and leaves the client’s turn to the client', () => {
  let standins: Standins;
  let agent: AgentProcess | undefined;
  let browser: Browser;
  let page: Page;
  const files = browserTestFiles('agent-three-way');
  let clientToken = '';
  let sessionId = '';
  let client: TestParticipant | undefined;
  let clientMic: Microphone | undefined;
  let coachMic: PageMicrophone;

  const transcript = () => transcriptOf(sessionId, clientToken);
  const lineSaying = (text: string) =>
    eventually(`a transcript line saying "${text}"`, async () => (await transcript()).find((l) => l.text === text), {
      timeoutMs: 45_000,
      describe: async () => ({ transcript: await transcript(), agent: agent?.output.slice(-10).join('') }),
    });
  /** The last message the model was shown in a request: what it was asked to answer. */
  const lastShown = (r: RecordedChatRequest) => messageText(r.body.messages[r.body.messages.length - 1]!);
  const requestsAnswering = (text: string) => standins.chat.requests.filter((r) => lastShown(r).includes(text));
  const indexOf = (lines: TranscriptLine[], text: string) => lines.findIndex((l) => l.text === text);

  beforeAll(async () => {
    standins = await startStandins({ stt: DISTINCT_PHRASES, sttPhrases: OFFLINE_PHRASES, chatScript: OFFLINE_CHAT });
    agent = await AgentProcess.startOffline(standins, files.path('outbox'));
    await Promise.all([createClient(CLIENT_EMAIL, CLIENT_NAME, 'PREMIUM'), files.portals('coach')]);
    clientToken = await login(CLIENT_EMAIL);

    // The client in the room, greeted by the AI (the greeting is stored once it has been said).
    const ticket = await apiOk<{ sessionId: string; token: string; livekitUrl: string }>('POST', '/api/rooms', { token: clientToken }, 201);
    sessionId = ticket.sessionId;
    client = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    clientMic = await Microphone.publish(client.room);
    await lineSaying(phrases.greeting(CLIENT_NAME));

    ({ browser, page } = await openCoachPortal(files, COACH_EMAIL));
    coachMic = await PageMicrophone.install(page);
  }, 240_000);

  afterAll(() => closeCall({ mic: clientMic, client, session: { id: sessionId, clientToken }, browser, agent, standins }));

  skipAfterFirstFailure();

  it('answers aloud when the coach asks it to lead the client, after the coach’s line', async () => {
    const liveLine = (role: string, text: string) =>
      page.waitForFunction(
        (r, t) => Array.from(document.querySelectorAll(`[data-testid=live-transcript] [data-role=${r}]`)).some((l) => l.textContent?.includes(t)),
        { timeout: 45_000 },
        role,
        text,
      );
    const sttStreams = standins.stt.sessions.length;
    await page.goto(`${COACH_PORTAL_URL}/call/${sessionId}`);
    await page.waitForSelector('[data-testid=ai-hear-toggle]:not([disabled])', { timeout: 15_000 });
    // The coach speaks once the agent listens to them (its own speech-to-text stream for the coach).
    await eventually('the agent to open a speech-to-text stream for the coach', () => standins.stt.sessions.length > sttStreams, {
      describe: () => agent?.output.slice(-10).join(''),
    });

    await coachMic.say(COACH_ASKS_AI);
    await liveLine('coach', COACH_ASKS_AI);
    // The AI's voice reaches the coach: the orb moves with it.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=ai-control] [data-testid=orb]')?.getAttribute('data-level')) > 0.05, {
      timeout: 20_000,
    });
    await files.screenshot(page, 'ai-answers-the-coach');
    await liveLine('ai', AI_LEADS_EXHALE);
    const live = await page.$$eval('[data-testid=live-transcript] [data-role]', (ls) => ls.map((l) => `${l.getAttribute('data-role')}: ${l.textContent}`));
    const coachAt = live.findIndex((l) => l.startsWith('coach') && l.includes(COACH_ASKS_AI));
    expect(live.findIndex((l) => l.startsWith('ai') && l.includes(AI_LEADS_EXHALE))).toBeGreaterThan(coachAt);

    // Stored in that order, the coach's line heard by the AI; the model was asked to answer the coach's line, once.
    const lines = await transcript();
    expect(lines[indexOf(lines, COACH_ASKS_AI)]).toMatchObject({ speakerRole: 'coach', heardByAi: true });
    expect(lines[indexOf(lines, AI_LEADS_EXHALE)]).toMatchObject({ speakerRole: 'ai' });
    expect(indexOf(lines, AI_LEADS_EXHALE)).toBeGreaterThan(indexOf(lines, COACH_ASKS_AI));
    expect(requestsAnswering(COACH_ASKS_AI).map(lastShown)).toEqual([expect.stringMatching(/^\[Coach [^\]]+\]: Could you lead Parker/)]);
  }, 120_000);

  it('stays silent when the coach speaks to the client, and answers the client’s reply with both in view', async () => {
    await coachMic.say(COACH_ASKS_CLIENT);
    const question = await lineSaying(COACH_ASKS_CLIENT);
    expect(question).toMatchObject({ speakerRole: 'coach', heardByAi: true });
    // "No AI reply within 3 s" is proven by state, not by waiting: the agent decided the question was
    // the client's (`context`: kept in view, not answered), and no model request was made to answer it
    // (asserted below), so no reply to it can come at any time.
    await eventually('the agent to decide about the coach’s question', () => agent!.mentions('"decision":"context"'), {
      describe: () => agent?.output.slice(-10).join(''),
    });
    await clientMic!.say(CLIENT_ANSWERS);
    await lineSaying(CLIENT_ANSWERS);
    const reply = replyTo('anxious');
    await lineSaying(reply);

    // No reply between the coach's question and the client's answer; the model never asked to answer the question.
    const lines = await transcript();
    const between = lines.slice(indexOf(lines, COACH_ASKS_CLIENT) + 1, indexOf(lines, CLIENT_ANSWERS));
    expect(between.filter((l) => l.speakerRole === 'ai')).toEqual([]);
    expect(requestsAnswering(COACH_ASKS_CLIENT)).toEqual([]);
    expect(lines.filter((l) => l.speakerRole === 'ai').map((l) => l.text)).toEqual([phrases.greeting(CLIENT_NAME), AI_LEADS_EXHALE, reply]);
    // The reply to the client was made with the coach's question in view, labelled as the coach's.
    const answered = requestsAnswering(CLIENT_ANSWERS);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.at(-1)!.body.messages.map(messageText)).toContainEqual(expect.stringMatching(/^\[Coach [^\]]+\]: Parker, how did your week go\?/));
  }, 120_000);

  it('answers once when the client speaks right after the coach asks it: the client’s turn wins, with both lines in view', async () => {
    // The model "thinks" about the answer to the coach until the test lets it, so the client speaks
    // while that reply is being prepared, before any of it can be heard, however slow the machine.
    const thinking = standins.chat.hold(COACH_ASKS_AI_BY_NAME);
    try {
      const first = standins.chat.requests.length;
      await coachMic.say(COACH_ASKS_AI_BY_NAME);
      const toCoach = await eventually('the model asked to answer the coach', () =>
        standins.chat.requests.slice(first).find((r) => lastShown(r).includes(COACH_ASKS_AI_BY_NAME)),
      );
      expect(lastShown(toCoach)).toMatch(/^\[Coach [^\]]+\]: AI, could you suggest/);

      await clientMic!.say(CLIENT_SPEAKS_UP);
      await lineSaying(CLIENT_SPEAKS_UP);
      const reply = replyTo('tense');
      await lineSaying(reply);
      // The reply to the coach gave way: its model request was dropped unanswered, and nothing of it stored.
      await eventually('the agent to drop the reply to the coach', () => toCoach.abandoned === true && agent!.mentions('"coachReply":"withdrawn"'), {
        describe: () => agent?.output.slice(-10).join(''),
      });
      const lines = await transcript();
      expect(lines[indexOf(lines, COACH_ASKS_AI_BY_NAME)]).toMatchObject({ speakerRole: 'coach', heardByAi: true });
      expect(indexOf(lines, CLIENT_SPEAKS_UP)).toBeGreaterThan(indexOf(lines, COACH_ASKS_AI_BY_NAME));
      const after = lines.slice(indexOf(lines, COACH_ASKS_AI_BY_NAME) + 1);
      expect(after.filter((l) => l.speakerRole === 'ai').map((l) => l.text)).toEqual([reply]);
      // The one reply answered the client, and its model request saw both lines: the coach's, labelled, then the client's.
      const seen = requestsAnswering(CLIENT_SPEAKS_UP).at(-1)!.body.messages.map(messageText);
      const coachSeenAt = seen.findIndex((m) => /^\[Coach [^\]]+\]: AI, could you suggest a stretch for Parker\?/.test(m));
      expect(coachSeenAt).toBeGreaterThan(-1);
      expect(seen.findLastIndex((m) => m.includes(CLIENT_SPEAKS_UP))).toBeGreaterThan(coachSeenAt);
    } finally {
      thinking.release();
    }
  }, 120_000);
});

/** The sample rate of the speech a {@link PageMicrophone} plays (the page's Web Audio resamples it). */
const PAGE_MIC_RATE = 48_000;

/**
 * A browser page's microphone that speaks when told, as `Microphone` does for rtc-node: the page's
 * getUserMedia answers a Web Audio stream, and `say()` plays espeak-ng speech into it. Chromium's fake
 * capture file plays on its own clock from the moment the page opens the microphone (and loops), so a
 * test could only hope the agent listens by then; this one speaks when the test has seen that it does.
 */
class PageMicrophone {
  private constructor(private readonly page: Page) {}

  /** Installs the microphone in `page`: the next page it loads gets it from getUserMedia. */
  static async install(page: Page): Promise<PageMicrophone> {
    await page.evaluateOnNewDocument(() => {
      const media = navigator.mediaDevices;
      if (!media) return;
      const original = media.getUserMedia.bind(media);
      const w = window as unknown as { __hcMic?: { ctx: AudioContext; out: MediaStreamAudioDestinationNode } };
      media.getUserMedia = async (constraints) => {
        if (!constraints?.audio || constraints.video) return original(constraints);
        if (!w.__hcMic) {
          const ctx = new AudioContext();
          w.__hcMic = { ctx, out: ctx.createMediaStreamDestination() };
        }
        await w.__hcMic.ctx.resume();
        // A clone for each caller: the page may stop a track it was given and ask again.
        return new MediaStream(w.__hcMic.out.stream.getAudioTracks().map((t) => t.clone()));
      };
    });
    return new PageMicrophone(page);
  }

  /** Speaks `text` (espeak-ng, the voice the speech-to-text stand-in knows); resolves when it has been played. */
  async say(text: string): Promise<void> {
    const samples = await speak(text, { sampleRate: PAGE_MIC_RATE });
    const pcm = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
    await this.page.evaluate(
      async (base64: string, rate: number) => {
        const mic = (window as unknown as { __hcMic?: { ctx: AudioContext; out: MediaStreamAudioDestinationNode } }).__hcMic;
        if (!mic) throw new Error('the page has not opened its microphone');
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const ints = new Int16Array(bytes.buffer);
        const buffer = mic.ctx.createBuffer(1, ints.length, rate);
        const channel = buffer.getChannelData(0);
        for (let i = 0; i < ints.length; i++) channel[i] = ints[i]! / 32_768;
        const source = mic.ctx.createBufferSource();
        source.buffer = buffer;
        source.connect(mic.out);
        await new Promise((resolve) => {
          source.onended = resolve;
          source.start();
        });
      },
      pcm,
      PAGE_MIC_RATE,
    );
  }
}
