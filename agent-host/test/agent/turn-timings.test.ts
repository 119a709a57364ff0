import { describe, expect, it } from 'vitest';
import { SessionTimings, turnTimingOf } from '../../src/agent/turn-timings';

describe("the AI's per-turn timings", () => {
  it('turns agents-js metrics (seconds) into milliseconds for a reply to the client', () => {
    expect(turnTimingOf({ endOfTurnDelay: 0.512 }, { llmNodeTtft: 0.3004, ttsNodeTtfb: 0.2, e2eLatency: 0.78 })).toEqual({
      endOfUtteranceMs: 512,
      llmFirstTokenMs: 300,
      ttsFirstByteMs: 200,
      totalMs: 780,
    });
  });

  it('leaves out a reply that answered no client speech (the greeting, a reply to the coach)', () => {
    expect(turnTimingOf(undefined, { llmNodeTtft: 0.3, ttsNodeTtfb: 0.2 })).toBeNull();
  });

  it("keeps a session's p50 and worst, a figure it does not know left out", () => {
    const session = new SessionTimings();
    for (const [eou, total] of [
      [500, 800],
      [520, 900],
      [480, 2400],
    ] as const) {
      session.add({ endOfUtteranceMs: eou, llmFirstTokenMs: null, ttsFirstByteMs: 200, totalMs: total });
    }
    expect(session.summary()).toEqual({
      turns: 3,
      p50: { endOfUtteranceMs: 500, llmFirstTokenMs: null, ttsFirstByteMs: 200, totalMs: 900 },
      worst: { endOfUtteranceMs: 520, llmFirstTokenMs: null, ttsFirstByteMs: 200, totalMs: 2400 },
    });
  });
});
