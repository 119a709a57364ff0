/**
 * A deploy of the agent-host during a live session: the whole agent-host (agent-host/src/main.ts, the
 * container's command) gets SIGTERM while a client talks with the AI. It takes no new session, the
 * live one goes on (what is said after the signal still lands in D1), and once that session ends
 * the process delivers its outboxes and exits 0.
 */

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { freePort } from '../agent-host/src/lib/free-port';
import { HostProcess, hostEnv } from '../agent-host/test/helpers';
import { api, apiOk, createClient, eventually, transcriptOf } from './helpers';
import { DISTINCT_PHRASES, joinWithMicrophone, type LiveSession } from './voice';

const SAID_AFTER_SIGTERM = 'My shoulders are always tense.';
const REPLY = 'Tell me more about that.';
/** ParticipantInfo.Kind.AGENT in LiveKit's protocol. */
const AGENT_KIND = 4;

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

describe('SIGTERM to the agent-host during a live session', () => {
  let standins: Standins;
  let host: HostProcess | undefined;
  let workDir = '';
  const sessions: LiveSession[] = [];

  const lines = (s: LiveSession) => transcriptOf(s.sessionId, s.token);

  async function open(email: string): Promise<LiveSession> {
    await createClient(email, 'Drew Drain', 'PREMIUM');
    const s = await joinWithMicrophone(email);
    sessions.push(s);
    return s;
  }

  beforeAll(async () => {
    standins = await startStandins({ stt: DISTINCT_PHRASES, sttPhrases: [SAID_AFTER_SIGTERM], chatScript: { defaultReply: REPLY } });
    workDir = mkdtempSync(join(tmpdir(), 'hc-agent-host-drain-'));
    const port = await freePort();
    host = HostProcess.start({
      ...hostEnv({
        livekitUrl: inject('livekitUrl'),
        port,
        apiUrl: inject('apiOrigin'),
        agentOutboxDir: join(workDir, 'agent-outbox'),
        skoolOutboxDir: join(workDir, 'skool-outbox'),
      }),
      AGENT_HOST_SECRET: inject('agentHostSecret'),
      DEEPGRAM_BASE_URL: standins.deepgramBaseUrl,
      OPENAI_BASE_URL: standins.openaiBaseUrl,
      AGENT_HOST_DRAIN_MS: '120000',
    });
    await eventually('the agent-host to be healthy', async () => (await host!.health())?.status === 200, {
      timeoutMs: 60_000,
      describe: () => host!.output.slice(-10).join(''),
    });
  }, 90_000);

  afterAll(async () => {
    for (const s of sessions) {
      s.mic.stop();
      await s.participant.disconnect();
      await api('POST', `/api/rooms/${s.sessionId}/end`, { token: s.token }).catch(() => undefined);
      await roomService.deleteRoom(s.roomName).catch(() => undefined);
    }
    await host?.kill();
    await standins?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('lets the live session finish, takes no new one, and exits 0 with its outboxes delivered', { timeout: 240_000 }, async () => {
    const a = await open('drain-a-premium@example.com');
    await eventually('the AI to greet the client', async () => (await lines(a)).some((l) => l.speakerRole === 'ai'), {
      timeoutMs: 60_000,
      describe: () => host!.output.slice(-10).join(''),
    });

    host!.signal('SIGTERM');
    const draining = await eventually('/health to say draining', async () => {
      const h = await host!.health();
      return h?.body.draining ? h : undefined;
    });
    expect(draining).toMatchObject({ status: 200, body: { ok: true, draining: true, agent: { registered: true, activeJobs: 1 } } });

    // A session opened now gets no AI from this agent-host (the room re-dispatches after 5 s: wait past that).
    const b = await open('drain-b-premium@example.com');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect((await roomService.listParticipants(b.roomName)).filter((p) => p.kind === AGENT_KIND)).toEqual([]);

    // The live session goes on: what the client says now is heard, answered and stored.
    await a.mic.say(SAID_AFTER_SIGTERM);
    await eventually(
      "the line said after SIGTERM and the AI's answer in D1",
      async () => {
        const now = await lines(a);
        const said = now.findIndex((l) => l.speakerRole === 'client' && l.text === SAID_AFTER_SIGTERM);
        return said >= 0 && now.slice(said + 1).some((l) => l.speakerRole === 'ai' && l.text === REPLY);
      },
      { timeoutMs: 60_000, describe: async () => lines(a) },
    );
    expect((await host!.health())?.body.draining).toBe(true);

    // The session ends: the job stores what is left and exits, then the agent-host does.
    await apiOk('POST', `/api/rooms/${a.sessionId}/end`, { token: a.token });
    const code = await Promise.race([host!.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 120_000))]);
    expect(code, host!.output.slice(-20).join('')).toBe(0);
    expect(host!.logged('agent-host: stopped')).toMatchObject([{ drained: true, outboxLeft: 0 }]);
    const left = readdirSync(join(workDir, 'agent-outbox'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.json'));
    expect(left).toEqual([]);
  });
});
