/**
 * The AI stand-ins for a bench, in a process of their own (as the vendors are) or in the bench's
 * (`inline`), seen the same way: their addresses, and what they recorded (`records()`, the few fields
 * the bench reads: the utterances heard, Flux's withdrawn ends, the voice's first audio, the model's
 * requests).
 *
 * Why apart: the bench's own event loop runs each room's clock microphone and its ear (a 10 ms frame
 * each way, every room); a stand-in on that loop answers only when it is free, so the bench's stalls
 * would be counted as the vendors'. In its own process a stand-in keeps its fixed latencies as a vendor
 * does. HC_BENCH_STANDINS=inline runs them in the bench's process, to compare.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Standins, type StandinsOptions, startStandins } from '../agent-host/dev/standins';

export interface StandinRecords {
  /** Every utterance the speech-to-text stand-in heard, over its sessions in order. */
  heard: Array<{ transcript: string; finalAt?: number; eagerAt?: number; bestScore?: number }>;
  /** Flux's withdrawn eager ends of turn (TurnResumed) sent. */
  turnResumed: number;
  /** Each voice segment's first audio: when it went out, and how long after its first text. */
  ttsFirstAudio: Array<{ at: number; ms: number }>;
  /** Each model request: when it came, and its last message as JSON. */
  chatRequests: Array<{ at: number; lastMessage: string }>;
}

export interface BenchStandins {
  where: 'apart' | 'inline';
  deepgramBaseUrl: string;
  openaiBaseUrl: string;
  records(): Promise<StandinRecords>;
  close(): Promise<void>;
}

/** What the stand-ins have recorded so far, in the shape `records()` gives it. */
export function recordsOf(standins: Standins): StandinRecords {
  return {
    heard: standins.stt.sessions.flatMap((s) =>
      s.heard.map((h) => ({ transcript: h.transcript, finalAt: h.finalAt, eagerAt: h.eagerAt, bestScore: h.best?.score })),
    ),
    turnResumed: standins.stt.sessions.flatMap((s) => s.sent).filter((m) => (m as { event?: unknown }).event === 'TurnResumed').length,
    ttsFirstAudio: standins.tts.sessions.flatMap((s) => s.firstByteAt.map((at, i) => ({ at, ms: s.firstByteMs[i]! }))),
    chatRequests: standins.chat.requests.map((r) => ({ at: r.at, lastMessage: JSON.stringify(r.body.messages.at(-1) ?? '') })),
  };
}

/** Messages between the bench and the stand-ins' process (standins-child.ts). */
export type ToChild = { type: 'start'; options: StandinsOptions } | { type: 'records'; id: number } | { type: 'close' };
export type FromChild =
  | { type: 'ready'; deepgramBaseUrl: string; openaiBaseUrl: string }
  | { type: 'records'; id: number; records: StandinRecords }
  | { type: 'failed'; error: string };

export async function startBenchStandins(options: StandinsOptions, where: 'apart' | 'inline'): Promise<BenchStandins> {
  if (where === 'inline') {
    const standins = await startStandins(options);
    return {
      where,
      deepgramBaseUrl: standins.deepgramBaseUrl,
      openaiBaseUrl: standins.openaiBaseUrl,
      records: async () => recordsOf(standins),
      close: () => standins.close(),
    };
  }
  // Node with tsx's loader, as the agent's processes; `advanced` carries the recordings' Int16Arrays.
  const child: ChildProcess = fork(fileURLToPath(new URL('./standins-child.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (r: StandinRecords) => void; reject: (e: Error) => void }>();
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the stand-ins' process exited (${code ?? signal})`)));
  });
  exited.catch(() => undefined);
  const ready = new Promise<{ deepgramBaseUrl: string; openaiBaseUrl: string }>((resolve, reject) => {
    child.on('message', (m: FromChild) => {
      if (m.type === 'ready') resolve({ deepgramBaseUrl: m.deepgramBaseUrl, openaiBaseUrl: m.openaiBaseUrl });
      else if (m.type === 'failed') {
        // Before it is ready: the start failed. After: every question still open fails with it.
        const error = new Error(`the stand-ins' process: ${m.error}`);
        reject(error);
        for (const waiting of pending.values()) waiting.reject(error);
        pending.clear();
      } else {
        pending.get(m.id)?.resolve(m.records);
        pending.delete(m.id);
      }
    });
  });
  const send = (m: ToChild) => child.send(m);
  send({ type: 'start', options });
  const urls = await Promise.race([ready, exited]).catch((e: unknown) => {
    child.kill();
    throw e;
  });
  let next = 0;
  return {
    where,
    ...urls,
    records: () => {
      const id = next++;
      const answer = new Promise<StandinRecords>((resolve, reject) => pending.set(id, { resolve, reject }));
      send({ type: 'records', id });
      return Promise.race([answer, exited]);
    },
    close: async () => {
      const gone = exited.catch(() => undefined);
      send({ type: 'close' });
      await gone;
    },
  };
}
