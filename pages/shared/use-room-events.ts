import { type RoomEvent, readRoomEvent } from '@hybrid-coach/shared/room-events';
import { api, call } from '../api/client';
import { useLiveSocket } from './use-live-socket';

/** The Worker's live events for a session: one schema with the Durable Object that sends them. */
export type { RoomEvent };

/** A ticket for one upgrade (POST /api/rooms/:id/ws-ticket): single use, valid 30 s. */
const wsTicket = (sessionId: string) => call(api.api.rooms[':sessionId']['ws-ticket'].$post({ param: { sessionId } }));

/**
 * GET /api/rooms/:id/ws: the session's live events (timer, transcript lines, participants, end),
 * reconnecting with backoff while the page is open. Answers whether the socket is open.
 */
export function useRoomEvents(sessionId: string, onEvent: (event: RoomEvent) => void): boolean {
  return useLiveSocket({ ticket: () => wsTicket(sessionId), path: `/api/rooms/${encodeURIComponent(sessionId)}/ws`, read: readRoomEvent }, onEvent);
}
