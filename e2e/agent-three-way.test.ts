/**
 * A three-way call (issue 18): the coach in the coach portal in real Chromium, speaking through its fake
 * microphone; the client an rtc-node participant whose microphone speaks when told; the AI the
 * agent-host's worker on the offline stand-ins, which understand exactly the offline script
 * (agent-host/dev/offline-script.ts). The coach asks the AI to lead the client through an exhale: the AI
 * answers aloud, after the coach's line. The coach then asks the client a question: the AI leaves it to
 * the client and answers the client's reply, with the coach's question in view.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_LEADS_EXHALE, COACH_ASKS_AI, COACH_ASKS_CLIENT, OFFLINE_CHAT, OFFLINE_PHRASES } from '../agent-host/dev/offline-script';
import { messageText, type RecordedChatRequest, type Standins, startStandins } from '../agent-host/dev/standins';
import { concatPcm, silence, speak, writeWav } from '../agent-host/dev/standins/audio';
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
const MIC_RATE = 48_000;
const COACH_PORTAL_URL = coachPortalUrl();

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
    // The coach's microphone (the file loops): 12 s of quiet to join, the request to the AI, 12 s for its
    // answer, the question to the client, then 40 s of quiet, more than the tests need.
    const [toAi, toClient] = await Promise.all([speak(COACH_ASKS_AI, { sampleRate: MIC_RATE }), speak(COACH_ASKS_CLIENT, { sampleRate: MIC_RATE })]);
    const micFile = files.path('coach-mic.wav');
    await writeWav(micFile, concatPcm(silence(12_000, MIC_RATE), toAi, silence(12_000, MIC_RATE), toClient, silence(40_000, MIC_RATE)), MIC_RATE);
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

    ({ browser, page } = await openCoachPortal(files, COACH_EMAIL, { media: { micFile } }));
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
    await page.goto(`${COACH_PORTAL_URL}/call/${sessionId}`);
    await page.waitForSelector('[data-testid=ai-hear-toggle]:not([disabled])', { timeout: 15_000 });

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
    const question = await lineSaying(COACH_ASKS_CLIENT);
    expect(question).toMatchObject({ speakerRole: 'coach', heardByAi: true });
    // The agent has decided about the coach's question: words for the client, kept in view, not answered.
    await eventually('the agent to decide about the coach’s question', () => agent!.mentions('"decision":"context"'), {
      describe: () => agent?.output.slice(-10).join(''),
    });
    await clientMic!.say(CLIENT_ANSWERS);
    await lineSaying(CLIENT_ANSWERS);
    const reply = OFFLINE_CHAT.rules!.find((r) => r.when === 'anxious')!.reply as string;
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
});
