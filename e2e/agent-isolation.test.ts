/**
 * One room's failure never reaches another: each session's agent runs as a job in its own process.
 * Two clients talk with the AI at once; room A's job process is killed. Room B's conversation goes on
 * untouched, and room A gets an AI again (the Worker's room re-dispatches a lost agent).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { phrases } from '../agent-host/src/agent/persona';
import { eventually, transcriptOf } from './helpers';
import { AgentProcess, DISTINCT_PHRASES, joinWithMicrophone, type LiveSession } from './voice';

const SAID_IN_B = 'My shoulders are always tense.';
const REPLY = 'Tell me more about that.';

const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

describe('rooms are isolated from each other', () => {
  let standins: Standins;
  let agent: AgentProcess | undefined;
  let outboxDir = '';
  const sessions: LiveSession[] = [];

  const lines = (s: LiveSession) => transcriptOf(s.sessionId, s.token);

  async function open(email: string): Promise<LiveSession> {
    const s = await joinWithMicrophone(email);
    sessions.push(s);
    return s;
  }

  /** The job processes that have served a session, oldest first, from the agent's "in the room" log lines. */
  function jobPids(sessionId: string): number[] {
    return agent!.output
      .join('')
      .split('\n')
      .filter((line) => line.includes('"agent: in the room"') && line.includes(sessionId))
      .map((line) => (JSON.parse(line.slice(line.indexOf('{'))) as { pid?: number }).pid)
      .filter((pid): pid is number => typeof pid === 'number');
  }
  const jobPid = (sessionId: string) => jobPids(sessionId)[0];

  beforeAll(async () => {
    standins = await startStandins({ stt: DISTINCT_PHRASES, sttPhrases: [SAID_IN_B], chatScript: { defaultReply: REPLY } });
    outboxDir = mkdtempSync(join(tmpdir(), 'hc-agent-outbox-'));
    agent = await AgentProcess.startOffline(standins, outboxDir);
  });

  afterAll(async () => {
    for (const s of sessions) {
      s.mic.stop();
      await s.participant.disconnect();
      await roomService.deleteRoom(s.roomName).catch(() => undefined);
    }
    await agent?.stop();
    await standins?.close();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  it("keeps room B talking when room A's agent dies, and brings room A an AI again", { timeout: 150_000 }, async () => {
    const a = await open('premium@example.com');
    const b = await open('member@example.com');
    for (const s of [a, b]) {
      await eventually(`the greeting in ${s.email}'s session`, async () => (await lines(s)).some((l) => l.speakerRole === 'ai'), {
        timeoutMs: 60_000,
        describe: () => agent!.output.slice(-10).join(''),
      });
    }
    const pidA = await eventually('the job process of room A', () => jobPid(a.sessionId));
    const pidB = await eventually('the job process of room B', () => jobPid(b.sessionId));
    expect(pidA).not.toBe(pidB);

    process.kill(pidA, 'SIGKILL');
    await b.mic.say(SAID_IN_B);
    await eventually(
      "room B's line and the AI's answer in D1",
      async () => {
        const inB = await lines(b);
        const said = inB.findIndex((l) => l.text === SAID_IN_B);
        return said >= 0 && inB.slice(said + 1).some((l) => l.speakerRole === 'ai' && l.text === REPLY);
      },
      { timeoutMs: 45_000, describe: async () => lines(b) },
    );
    // Room B's agent is the same job as before: nothing restarted it.
    expect(jobPid(b.sessionId)).toBe(pidB);
    expect(agent!.exited).toBe(false);

    // Room A: a new job joins and says it is back.
    await eventually(
      'a new AI in room A saying it is back',
      async () => (await lines(a)).some((l) => l.speakerRole === 'ai' && l.text === phrases.welcomeBack),
      {
        timeoutMs: 60_000,
        describe: () => agent!.output.slice(-10).join(''),
      },
    );
    expect(jobPids(a.sessionId)).toContain(pidA);
    expect(jobPids(a.sessionId).filter((p) => p !== pidA).length).toBeGreaterThan(0);
  });
});
