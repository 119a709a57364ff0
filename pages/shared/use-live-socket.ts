import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { API_URL } from '../api/config';

/** Backoff between reconnects: quick at first, then every 10 s at most. */
const delayFor = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt);

/** One of the Worker's ticketed WebSockets: where a ticket comes from, where the socket is, how a message is read. */
export interface LiveSocket<E> {
  /** A single-use ticket for one upgrade (the login token must not sit in a URL: request logs keep URLs). */
  ticket: () => Promise<{ ticket: string }>;
  /** The socket's path under the API (a new path is a new connection). */
  path: string;
  /** The message checked against its schema, or null for one this page does not know. */
  read: (text: string) => E | null;
}

/**
 * A Worker WebSocket of live events, reconnecting with backoff while the page is open. A browser WebSocket
 * cannot carry an Authorization header: each connection asks for a fresh single-use ticket first. Answers
 * whether the socket is open.
 */
export function useLiveSocket<E>(socket: LiveSocket<E>, onEvent: (event: E) => void): boolean {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const spec = useRef(socket);
  spec.current = socket;
  const [open, setOpen] = useState(false);
  const { path } = socket;

  useEffect(() => {
    let closed = false;
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    let attempt = 0;

    const again = () => {
      if (!closed) retry = setTimeout(() => void connect(), delayFor(attempt++));
    };

    const connect = async () => {
      let ticket: string;
      try {
        ({ ticket } = await spec.current.ticket());
      } catch (err) {
        // Signed out, not this person's, or no such thing: asking again will not help.
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) return;
        again();
        return;
      }
      if (closed) return;
      const url = new URL(path, API_URL);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('ticket', ticket);
      const next = new WebSocket(url);
      ws = next;
      next.onopen = () => {
        attempt = 0;
        setOpen(true);
        // Keeps intermediaries from closing an idle socket; the object answers 'pong' without waking up.
        ping = setInterval(() => next.readyState === WebSocket.OPEN && next.send('ping'), 30_000);
      };
      next.onmessage = (msg) => {
        if (typeof msg.data !== 'string' || msg.data === 'pong') return;
        // Checked against the schema: an event this page does not know is ignored, never half-read.
        const event = spec.current.read(msg.data);
        // The type only: an event may carry what someone said.
        if (event) handler.current(event);
        else console.warn('live event ignored: not in the contract', { type: typeOf(msg.data) });
      };
      next.onclose = () => {
        clearInterval(ping);
        setOpen(false);
        again();
      };
    };
    void connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(ping);
      ws?.close();
    };
  }, [path]);

  return open;
}

/** The `type` of a message that failed the schema, if it has one, for the console. */
function typeOf(text: string): string | undefined {
  try {
    const type = (JSON.parse(text) as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type.slice(0, 40) : undefined;
  } catch {
    return undefined;
  }
}
