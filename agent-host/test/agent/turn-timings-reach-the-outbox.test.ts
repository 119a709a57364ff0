import { TurnTimingsMessage } from '@hybrid-coach/shared/agent-contract';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SessionTimings, TimingsReporter } from '../../src/agent/turn-timings';
import { TURN_TIMINGS_PATH, WorkerApi } from '../../src/agent/worker-api';
import { Outbox } from '../../src/lib/outbox';
import { TEST_SECRET, tempDir } from '../skool/helpers';

const API_URL = 'http://worker.test';
const ref = { sessionId: 'session-under-test', roomName: 'session-session-under-test' };

describe("a session's turn timings on their way to the Worker", () => {
  it('puts the summary in the outbox after the first reply, every fifth and at the end: times only, each under its own key', async () => {
    const dir = await tempDir('timings');
    onTestFinished(dir.remove);
    const sent: { url: string; key: string | null; body: string }[] = [];
    const fetch: typeof globalThis.fetch = async (url, init) => {
      sent.push({ url: String(url), key: new Headers(init?.headers).get('Idempotency-Key'), body: String(init?.body) });
      return new Response('{"success":true,"data":{"stored":true}}', { status: 200 });
    };
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, fetch });
    onTestFinished(() => outbox.close());
    const timings = new SessionTimings();
    const report = new TimingsReporter(outbox, new WorkerApi(API_URL, TEST_SECRET), ref, 'job-1', timings);

    for (const total of [900, 800, 1000, 700, 2400, 850, 950]) {
      timings.add({ endOfUtteranceMs: 500, llmFirstTokenMs: 300, ttsFirstByteMs: null, totalMs: total });
      await report.afterTurn();
    }
    await report.flush();
    // Nothing new since: no second copy of the last.
    await report.flush();
    await outbox.drained();

    expect(sent.map((s) => [s.url, s.key])).toEqual([
      [`${API_URL}${TURN_TIMINGS_PATH}`, 'session-under-test:timings:job-1:1'],
      [`${API_URL}${TURN_TIMINGS_PATH}`, 'session-under-test:timings:job-1:5'],
      [`${API_URL}${TURN_TIMINGS_PATH}`, 'session-under-test:timings:job-1:7'],
    ]);
    const bodies = sent.map((s) => JSON.parse(s.body) as Record<string, unknown>);
    // The shared contract is strict: a message with anything but these fields (a word said) fails it.
    for (const b of bodies) expect(TurnTimingsMessage.safeParse(b).success).toBe(true);
    const last = bodies[2]!;
    expect(Object.keys(last).sort()).toEqual(['jobId', 'measuredAt', 'p50', 'roomName', 'sessionId', 'turns', 'worst']);
    expect(last).toMatchObject({
      ...ref,
      jobId: 'job-1',
      turns: 7,
      p50: { endOfUtteranceMs: 500, llmFirstTokenMs: 300, ttsFirstByteMs: null, totalMs: 900 },
      worst: { endOfUtteranceMs: 500, llmFirstTokenMs: 300, ttsFirstByteMs: null, totalMs: 2400 },
    });
    expect((bodies[0]!.measuredAt as number) <= (last.measuredAt as number)).toBe(true);
  });

  it('sends nothing for a session with no reply to the client', async () => {
    const dir = await tempDir('timings');
    onTestFinished(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, fetch: async () => new Response('', { status: 200 }) });
    onTestFinished(() => outbox.close());
    await new TimingsReporter(outbox, new WorkerApi(API_URL, TEST_SECRET), ref, 'job-1', new SessionTimings()).flush();
    expect(outbox.depth).toBe(0);
  });
});
