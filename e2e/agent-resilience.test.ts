/**
 * Faults lose nothing: the Worker unreachable for 30 seconds mid-conversation, then the agent's
 * process killed and a new one started. Every line lands in D1 exactly once, and the conversation
 * carries on. The agent reaches the Worker through a proxy the test can cut.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messageText, type Standins, startStandins } from '../agent-host/dev/standins';
import { apiOk, eventually, login, type RoomTicket, skipAfterFirstFailure, TestParticipant, transcriptOf } from './helpers';
import { SwitchableProxy } from './outage';
import { AgentProcess, DISTINCT_PHRASES, Microphone } from './voice';

const BEFORE = 'I have been feeling anxious all week.';
const DURING_1 = 'My shoulders are always tense.';
const DURING_2 = 'I would like to sleep better.';
const AFTER_RESTART = 'Thank you, that helped.';
const REPLY = 'Tell me more about that.';
const REPLY_AFTER_RESTART = 'I am glad to hear it.';
const OUTAGE_MS = 30_000;

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

describe('the AI coach through a Worker outage and an agent restart', () => {
  let standins: Standins;
  let proxy: SwitchableProxy;
  let agent: AgentProcess | undefined;
  let outboxDir = '';
  let token = '';
  let sessionId = '';
  let roomName = '';
  let client: TestParticipant | undefined;
  let mic: Microphone | undefined;

  const lines = () => transcriptOf(sessionId, token);
  const count = async (text: string) => (await lines()).filter((l) => l.text === text).length;
  const stored = (text: string, timeoutMs = 45_000) =>
    eventually(`"${text}" in D1`, async () => (await count(text)) > 0, { timeoutMs, intervalMs: 300, describe: lines });

  beforeAll(async () => {
    standins = await startStandins({
      stt: DISTINCT_PHRASES,
      sttPhrases: [BEFORE, DURING_1, DURING_2, AFTER_RESTART],
      chatScript: { defaultReply: REPLY, rules: [{ when: AFTER_RESTART, reply: REPLY_AFTER_RESTART }] },
    });
    proxy = await new SwitchableProxy(inject('apiOrigin')).up();
    outboxDir = mkdtempSync(join(tmpdir(), 'hc-agent-outbox-'));
    agent = await AgentProcess.startOffline(standins, outboxDir, proxy.url);
    token = await login('member@example.com');
  });

  afterAll(async () => {
    mic?.stop();
    await client?.disconnect();
    if (roomName) await roomService.deleteRoom(roomName).catch(() => undefined);
    await agent?.stop();
    await proxy?.down();
    await standins?.close();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  skipAfterFirstFailure();

  it('keeps every line said while the Worker is down, and delivers each once when it is back', { timeout: 150_000 }, async () => {
    const ticket = await apiOk<RoomTicket>('POST', '/api/rooms', { token }, 201);
    ({ sessionId, roomName } = ticket);
    client = await new TestParticipant('client').connect(ticket.livekitUrl, ticket.token);
    mic = await Microphone.publish(client.room);
    await eventually('the greeting in D1', async () => (await lines()).some((l) => l.speakerRole === 'ai'), { timeoutMs: 45_000 });
    // Each thing the client says waits for the AI's whole answer, so no answer is cut short (a cut
    // answer is stored as far as it was heard, and would not count as a full reply below).
    let saidAt = Date.now();
    await mic.say(BEFORE);
    await stored(BEFORE);
    await client.aiDoneSpeaking(saidAt);
    await eventually('the answer to the first line in D1', async () => (await count(REPLY)) === 1, { timeoutMs: 20_000, describe: lines });

    await proxy.down();
    const downAt = Date.now();
    for (const text of [DURING_1, DURING_2]) {
      const requestsBefore = standins.chat.requests.length;
      saidAt = Date.now();
      await mic.say(text);
      await eventually(`the AI to answer "${text}" during the outage`, () => standins.chat.requests.length > requestsBefore, { timeoutMs: 20_000 });
      await client.aiDoneSpeaking(saidAt);
    }
    // Nothing said during the outage can be in D1 yet.
    expect(await count(DURING_1)).toBe(0);
    expect(await count(REPLY)).toBe(1);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
    await proxy.up();

    await stored(DURING_1, 90_000);
    await stored(DURING_2, 90_000);
    await eventually('the answers given during the outage in D1', async () => (await count(REPLY)) >= 3, { timeoutMs: 60_000, describe: lines });
    for (const text of [BEFORE, DURING_1, DURING_2]) expect(await count(text), text).toBe(1);
    // Three answers, each once: the outbox's retries were not stored twice.
    expect(await count(REPLY)).toBe(3);
  });

  it('carries on after the agent process is killed: a new one rejoins, remembers, and nothing is lost or doubled', { timeout: 150_000 }, async () => {
    const before = await lines();
    await agent!.stop('SIGKILL');
    agent = await AgentProcess.startOffline(standins, outboxDir, proxy.url);
    // The room asks for an agent again; the new one says it is back (it knows there was a conversation).
    await eventually('the new agent to speak in the room', async () => (await lines()).some((l) => l.speakerRole === 'ai' && l.text.includes("I'm back")), {
      timeoutMs: 90_000,
      intervalMs: 500,
      describe: () => agent!.output.slice(-10).join(''),
    });
    await mic!.say(AFTER_RESTART);
    await stored(AFTER_RESTART);
    // The new agent's model saw the conversation from before the restart.
    const request = standins.chat.requests.find((r) => r.body.messages.some((m) => messageText(m) === AFTER_RESTART));
    expect(request?.body.messages.map((m) => messageText(m))).toEqual(expect.arrayContaining([BEFORE, DURING_1, DURING_2]));

    const after = await lines();
    // Everything from before is still there, once.
    for (const l of before)
      expect(after.filter((x) => x.text === l.text && x.speakerRole === l.speakerRole).length, l.text).toBe(
        before.filter((x) => x.text === l.text && x.speakerRole === l.speakerRole).length,
      );
    for (const text of [BEFORE, DURING_1, DURING_2, AFTER_RESTART])
      expect(
        after.filter((l) => l.text === text),
        text,
      ).toHaveLength(1);
  });
});
