/**
 * Calls from the agent to the Worker, signed with the shared secret (shared/src/signing.ts).
 * What must land (transcript lines, summaries) goes through the durable outbox; what is asked for
 * now (the session's context) or re-sent by the Worker anyway (control acknowledgements) is called
 * directly with a few quick retries.
 */
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { AgentContext, SessionRef } from '@hybrid-coach/shared/agent-contract';

export const TRANSCRIPT_PATH = '/api/webhooks/agent/transcript';
export const CONTROL_ACK_PATH = '/api/webhooks/agent/control-ack';
export const CONTEXT_PATH = '/api/webhooks/agent/context';
export const SUMMARY_PATH = '/api/webhooks/agent/summary';

export class WorkerApiError extends Error {
  override name = 'WorkerApiError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export class WorkerApi {
  constructor(
    private readonly apiUrl: string,
    private readonly secret: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  url(path: string): string {
    return `${this.apiUrl}${path}`;
  }

  /** POSTs a signed body; retries network errors and 5xx `attempts` times with a growing pause. */
  async post<T>(path: string, payload: unknown, idempotencyKey: string, attempts = 4): Promise<T> {
    const body = JSON.stringify(payload);
    let last: WorkerApiError | null = null;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      try {
        const res = await this.fetchImpl(this.url(path), {
          method: 'POST',
          headers: await signedHeaders(this.secret, body, idempotencyKey),
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.ok) return (JSON.parse(text) as { data: T }).data;
        last = new WorkerApiError(`${path} answered ${res.status}: ${text.slice(0, 300)}`, res.status);
        if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
      } catch (err) {
        last = new WorkerApiError(`${path} failed: ${err instanceof Error ? err.message : String(err)}`, null);
      }
    }
    throw last ?? new WorkerApiError(`${path} failed`, null);
  }

  /** Every call names the session and the room the job is in: the Worker refuses a session that is not the room's. */
  context(ref: SessionRef): Promise<AgentContext> {
    return this.post<AgentContext>(CONTEXT_PATH, { sessionId: ref.sessionId, roomName: ref.roomName }, `${ref.sessionId}:context:${Date.now()}`, 6);
  }

  ackControl(ref: SessionRef, version: number): Promise<unknown> {
    return this.post(CONTROL_ACK_PATH, { sessionId: ref.sessionId, roomName: ref.roomName, version }, `${ref.sessionId}:control:${version}`);
  }
}
