/**
 * How long each reply to the client took, from agents-js's own per-message metrics (the user message's
 * `metrics.endOfTurnDelay`, the reply's `llmNodeTtft`, `ttsNodeTtfb` and `e2eLatency`, all in seconds),
 * kept per session so that one log line per turn also says how this session has gone so far (p50 and
 * worst), and the session's summary reaches the Worker through the durable outbox (TimingsReporter),
 * where operators read it per day. Times only: nothing of what was said.
 */
import type { SessionRef, TurnTimingsMessage } from '@hybrid-coach/shared/agent-contract';
import type { llm } from '@livekit/agents';
import type { Outbox } from '../lib/outbox';
import { TURN_TIMINGS_PATH, type WorkerApi } from './worker-api';

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

/** The summary goes to the Worker after the first reply and then every this many (and at the job's end). */
export const TIMINGS_EVERY_TURNS = 5;

/**
 * Puts a session's timing summary (times only) in its outbox, so it lands on the Worker even across an
 * outage or a crash of this job (the next job or the host's shutdown delivers what is left). Each summary
 * has its own idempotency key; the Worker keeps the latest measured.
 */
export class TimingsReporter {
  #sentTurns = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly api: WorkerApi,
    private readonly ref: SessionRef,
    private readonly jobId: string,
    private readonly timings: SessionTimings,
    private readonly every = TIMINGS_EVERY_TURNS,
  ) {}

  /** After a reply was added to the timings: the first, and every `every`-th, are sent. */
  async afterTurn(): Promise<void> {
    const turns = this.timings.turns;
    if (turns === 1 || turns % this.every === 0) await this.send();
  }

  /** At the job's end: the last figures, unless they were sent already. */
  async flush(): Promise<void> {
    if (this.timings.turns > this.#sentTurns) await this.send();
  }

  private async send(): Promise<void> {
    const { turns, p50, worst } = this.timings.summary();
    // Every counted turn has a total: these are null only before the first.
    if (p50.totalMs === null || worst.totalMs === null) return;
    this.#sentTurns = turns;
    const message: TurnTimingsMessage = {
      sessionId: this.ref.sessionId,
      roomName: this.ref.roomName,
      jobId: this.jobId,
      measuredAt: Date.now(),
      turns,
      p50: { ...p50, totalMs: p50.totalMs },
      worst: { ...worst, totalMs: worst.totalMs },
    };
    await this.outbox.enqueue(this.api.url(TURN_TIMINGS_PATH), `${this.ref.sessionId}:timings:${this.jobId}:${turns}`, message);
  }
}
