/**
 * Calls from the agent to the Worker, signed with the shared secret (shared/src/signing.ts).
 * What must land (transcript lines, summaries, turn timings) goes through the durable outbox; what is asked for
 * now (the session's context) or re-sent by the Worker anyway (control acknowledgements) is called
 * directly with a few quick retries.
 */

import { type AgentContext, AgentContextReply, ControlAckReply, contractIssues, jsonOf, type SessionRef } from '@hybrid-coach/shared/agent-contract';
import { log } from '@hybrid-coach/shared/log';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { z } from 'zod';

export const TRANSCRIPT_PATH = '/api/webhooks/agent/transcript';
export const CONTROL_ACK_PATH = '/api/webhooks/agent/control-ack';
export const CONTEXT_PATH = '/api/webhooks/agent/context';
export const SUMMARY_PATH = '/api/webhooks/agent/summary';
export const TURN_TIMINGS_PATH = '/api/webhooks/agent/turn-timings';

/** A `{ success: true, data }` schema of the contract (replyOf). */
type Reply<R> = z.ZodType<{ success: true; data: R }>;

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

  /**
   * POSTs a signed body and parses the answer with `reply`; retries network errors and 5xx `attempts`
   * times with a growing pause. An answer off the contract is logged (where, never what) and refused.
   */
  async post<R>(path: string, payload: unknown, idempotencyKey: string, reply: Reply<R>, attempts = 4): Promise<R> {
    const body = JSON.stringify(payload);
    let last: WorkerApiError | null = null;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      let res: Response;
      let text: string;
      try {
        res = await this.fetchImpl(this.url(path), {
          method: 'POST',
          headers: await signedHeaders(this.secret, body, idempotencyKey),
          body,
          signal: AbortSignal.timeout(10_000),
        });
        text = await res.text();
      } catch (err) {
        last = new WorkerApiError(`${path} failed: ${err instanceof Error ? err.message : String(err)}`, null);
        continue;
      }
      if (res.ok) return parseReply(path, res.status, text, reply);
      last = new WorkerApiError(`${path} answered ${res.status}: ${text.slice(0, 300)}`, res.status);
      if (res.status < 500 && res.status !== 408 && res.status !== 429) break;
    }
    throw last ?? new WorkerApiError(`${path} failed`, null);
  }

  /** Every call names the session and the room the job is in: the Worker refuses a session that is not the room's. */
  context(ref: SessionRef): Promise<AgentContext> {
    return this.post(CONTEXT_PATH, { sessionId: ref.sessionId, roomName: ref.roomName }, `${ref.sessionId}:context:${Date.now()}`, AgentContextReply, 6);
  }

  ackControl(ref: SessionRef, version: number): Promise<z.infer<typeof ControlAckReply>['data']> {
    return this.post(CONTROL_ACK_PATH, { sessionId: ref.sessionId, roomName: ref.roomName, version }, `${ref.sessionId}:control:${version}`, ControlAckReply);
  }
}

/** The Worker's 2xx answer, checked against the contract: a mismatch is not retried (the Worker would answer the same). */
function parseReply<R>(path: string, status: number, text: string, reply: Reply<R>): R {
  const json = jsonOf(text);
  const parsed = reply.safeParse(json);
  if (parsed.success) return parsed.data.data;
  const fields = json === undefined ? { body: 'not JSON' } : contractIssues(parsed.error);
  log('warn', "agent: the Worker's answer does not match the contract; refused", { path, status, fields });
  throw new WorkerApiError(`${path} answered ${status} with a reply off the contract`, status);
}
