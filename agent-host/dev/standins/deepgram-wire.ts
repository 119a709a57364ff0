/** What the Deepgram stand-ins (speech-to-text and text-to-speech) share of Deepgram's wire: auth, errors, sessions, refusals. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { queryRecord, requestId, sendJson } from './server';

/** Deepgram's refusal for a missing or wrong `Authorization: Token <key>` (Bearer also accepted). */
export function deepgramAuth(req: IncomingMessage, apiKey?: string): { status: number; body: string } | undefined {
  const match = /^(?:Token|Bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (match && (apiKey === undefined || match[1] === apiKey)) return undefined;
  return deepgramError(401, 'INVALID_AUTH', 'Invalid credentials.');
}

/** A Deepgram-shaped error body with its HTTP status. */
export function deepgramError(status: number, code: string, message: string): { status: number; body: string } {
  return { status, body: JSON.stringify({ err_code: code, err_msg: message, request_id: requestId() }) };
}

/** What every Deepgram stand-in records of a WebSocket session, before its own fields. */
export interface DeepgramSession {
  id: string;
  requestId: string;
  openedAt: number;
  closedAt?: number;
  /** Query parameters exactly as received (repeated keys as arrays). */
  params: Record<string, string | string[]>;
  authorization?: string;
}

/** The common fields of a session opening now, from its upgrade request. */
export function openDeepgramSession(id: string, req: IncomingMessage, url: URL): DeepgramSession {
  return { id, requestId: requestId(), openedAt: Date.now(), params: queryRecord(url), authorization: req.headers.authorization };
}

/** Connections a Deepgram stand-in was told to refuse (`refuseNext`), taken one per connection attempt. */
export class Refusals {
  #statuses: number[] = [];

  add(count: number, status: number): void {
    for (let i = 0; i < count; i++) this.#statuses.push(status);
  }

  /** The refusal for this attempt, if one is queued. */
  take(): { status: number; body: string } | undefined {
    const status = this.#statuses.shift();
    return status ? deepgramError(status, 'SERVICE_UNAVAILABLE', 'stand-in told to refuse this connection') : undefined;
  }
}

/** Takes `POST <path>` and answers it with `answer`; a failure before the answer is sent is Deepgram's 400. */
export function deepgramPost(path: string, req: IncomingMessage, res: ServerResponse, url: URL, answer: () => Promise<void>): boolean {
  if (url.pathname !== path || req.method !== 'POST') return false;
  void answer().catch((e: unknown) => {
    if (!res.headersSent) sendJson(res, 400, { err_code: 'Bad Request', err_msg: String(e) });
  });
  return true;
}
