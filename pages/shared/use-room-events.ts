import { useEffect, useRef, useState } from 'react';
import { sessionToken } from '../api/client';
import { API_URL } from '../api/config';

/** The Worker's live events for a session (workers/src/session-room.ts broadcasts them). */
export type RoomEvent =
  | { type: 'state'; state: { timer: { startedAt: number | null; capMinutes: number | null }; end: { reason: string; at: number } | null } }
  | { type: 'started'; startedAt: number; capMinutes: number | null }
  | { type: 'warning'; minutesLeft: number; endsAt: number }
  | { type: 'ended'; reason: string; end: { at: number } | null }
  | {
      type: 'transcript';
      line: {
        id: string;
        speakerRole: 'client' | 'coach' | 'ai';
        text: string;
        spokenAt: number;
        kind?: string;
        speakerIdentity?: string;
        heardByAi?: boolean;
      };
    }
  | { type: 'participants'; participants: { identity: string; role: string }[] }
  | { type: 'mute'; muted: boolean }
  | { type: 'flagged'; at: number; reason: string };

/** Backoff between reconnects: quick at first, then every 10 s at most. */
const delayFor = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt);

/**
 * GET /api/rooms/:id/ws: the session's live events (timer, transcript lines, participants, end),
 * reconnecting with backoff while the page is open. The token rides in the query string, as a
 * browser WebSocket cannot carry an Authorization header. Answers whether the socket is open.
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

    const connect = () => {
      const url = new URL(`/api/rooms/${encodeURIComponent(sessionId)}/ws`, API_URL);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const token = sessionToken.get();
      if (token) url.searchParams.set('access_token', token);
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
        try {
          handler.current(JSON.parse(msg.data) as RoomEvent);
        } catch {
          // Not an event we know: ignore it.
        }
      };
      ws.onclose = () => {
        clearInterval(ping);
        setOpen(false);
        if (closed) return;
        retry = setTimeout(connect, delayFor(attempt++));
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      clearInterval(ping);
      socket?.close();
    };
  }, [sessionId]);

  return open;
}
