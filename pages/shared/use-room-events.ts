import { type RoomEvent, readRoomEvent } from '@hybrid-coach/shared/room-events';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api, call } from '../api/client';
import { API_URL } from '../api/config';

/** The Worker's live events for a session: one schema with the Durable Object that sends them. */
export type { RoomEvent };

/** Backoff between reconnects: quick at first, then every 10 s at most. */
const delayFor = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt);

/** A ticket for one upgrade (POST /api/rooms/:id/ws-ticket): single use, valid 30 s. */
const wsTicket = (sessionId: string) => call(api.api.rooms[':sessionId']['ws-ticket'].$post({ param: { sessionId } }));

/**
 * GET /api/rooms/:id/ws: the session's live events (timer, transcript lines, participants, end),
 * reconnecting with backoff while the page is open. A browser WebSocket cannot carry an
 * Authorization header, and the login token must not sit in a URL (request logs keep URLs): each
 * connection asks for a fresh single-use ticket first. Answers whether the socket is open.
 */
export function useRoomEvents(sessionId: string, onEvent: (event: RoomEvent) => void): boolean {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [open, setOpen] = useState(false);

  useEffect(() => {
    let closed = false;
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let ping: ReturnType<typeof setInterval> | undefined;
    let attempt = 0;

    const again = () => {
      if (!closed) retry = setTimeout(() => void connect(), delayFor(attempt++));
    };

    const connect = async () => {
      let ticket: string;
      try {
        ({ ticket } = await wsTicket(sessionId));
      } catch (err) {
        // Signed out, not this person's session, or no such session: asking again will not help.
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) return;
        again();
        return;
      }
      if (closed) return;
      const url = new URL(`/api/rooms/${encodeURIComponent(sessionId)}/ws`, API_URL);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('ticket', ticket);
      const ws = new WebSocket(url);
      socket = ws;
      ws.onopen = () => {
        attempt = 0;
        setOpen(true);
        // Keeps intermediaries from closing an idle socket; the room answers 'pong' without waking up.
        ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('ping'), 30_000);
      };
      ws.onmessage = (msg) => {
        if (typeof msg.data !== 'string' || msg.data === 'pong') return;
        // Checked against the schema: an event this page does not know is ignored, never half-read.
        const event = readRoomEvent(msg.data);
        // The type only: an event may carry what someone said.
        if (event) handler.current(event);
        else console.warn('room event ignored: not in the contract', { type: typeOf(msg.data) });
      };
      ws.onclose = () => {
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
      socket?.close();
    };
  }, [sessionId]);

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
