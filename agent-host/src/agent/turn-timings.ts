/**
 * How long each reply to the client took, from agents-js's own per-message metrics (the user message's
 * `metrics.endOfTurnDelay`, the reply's `llmNodeTtft`, `ttsNodeTtfb` and `e2eLatency`, all in seconds),
 * kept per session so that one log line per turn also says how this session has gone so far (p50 and
 * worst). Times only: nothing of what was said.
 */
import type { llm } from '@livekit/agents';

/** One reply's timings, in milliseconds. */
export interface TurnTiming {
  /** The client's last speech → the turn declared over (VAD silence, endpointing delay, the final transcript). */
  endOfUtteranceMs: number | null;
  /** The model's request → its first token (started early when preemptive generation guessed right). */
  llmFirstTokenMs: number | null;
  /** The voice's first text → its first audio. */
  ttsFirstByteMs: number | null;
  /** The client's last speech → the reply's first audio frame leaving the agent. */
  totalMs: number;
}

const KEYS = ['endOfUtteranceMs', 'llmFirstTokenMs', 'ttsFirstByteMs', 'totalMs'] as const;
type Key = (typeof KEYS)[number];
export type TimingFigures = Record<Key, number | null>;

const ms = (seconds: number | undefined): number | null => (seconds === undefined || !Number.isFinite(seconds) ? null : Math.round(seconds * 1000));

/**
 * A reply's timing, or null when it answered no client turn (the greeting, a warning, a reply to the
 * coach: agents-js measures `e2eLatency` only from a user's speech).
 */
export function turnTimingOf(user: llm.MetricsReport | undefined, reply: llm.MetricsReport): TurnTiming | null {
  const totalMs = ms(reply.e2eLatency);
  if (totalMs === null) return null;
  return {
    endOfUtteranceMs: ms(user?.endOfTurnDelay),
    llmFirstTokenMs: ms(reply.llmNodeTtft),
    ttsFirstByteMs: ms(reply.ttsNodeTtfb),
    totalMs,
  };
}

/** The nearest-rank median of the known values, or null. */
function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

/** One session's reply timings: p50 and worst of each figure. */
export class SessionTimings {
  readonly #turns: TurnTiming[] = [];

  add(turn: TurnTiming): void {
    this.#turns.push(turn);
  }

  get turns(): number {
    return this.#turns.length;
  }

  summary(): { turns: number; p50: TimingFigures; worst: TimingFigures } {
    const p50 = {} as TimingFigures;
    const worst = {} as TimingFigures;
    for (const key of KEYS) {
      const values = this.#turns.map((t) => t[key]).filter((v): v is number => v !== null);
      p50[key] = median(values);
      worst[key] = values.length ? Math.max(...values) : null;
    }
    return { turns: this.#turns.length, p50, worst };
  }
}
