/**
 * Final utterances of a session, human or AI, on their way to the Worker: each line goes into the
 * session's durable outbox (signed, with its own idempotency key) before anything else happens to it,
 * so a Worker outage or an agent restart loses nothing and the Worker stores each line once.
 */
import type { SessionRef } from '@hybrid-coach/shared/agent-contract';
import type { Outbox } from '../lib/outbox';
import { TRANSCRIPT_PATH, type WorkerApi } from './worker-api';

export interface TranscriptLine {
  speakerIdentity: string;
  role: 'client' | 'coach' | 'ai';
  text: string;
  /** Wall-clock milliseconds. */
  startedAt: number;
  endedAt: number | null;
  heardByAi: boolean;
}

export class TranscriptSink {
  private seq = 0;

  /**
   * @param jobKey unique per job (the LiveKit job id): a rejoining agent's lines never collide with
   *   the ones an earlier job of the same session stored.
   */
  constructor(
    private readonly outbox: Outbox,
    private readonly api: WorkerApi,
    private readonly ref: SessionRef,
    private readonly jobKey: string,
  ) {}

  async add(line: TranscriptLine): Promise<void> {
    const text = line.text.trim();
    if (!text) return;
    const idempotencyKey = `${this.ref.sessionId}:${this.jobKey}:${(this.seq++).toString().padStart(6, '0')}`;
    await this.outbox.enqueue(this.api.url(TRANSCRIPT_PATH), idempotencyKey, {
      sessionId: this.ref.sessionId,
      roomName: this.ref.roomName,
      lines: [{ idempotencyKey, ...line, text: text.slice(0, 10_000) }],
    });
  }
}
