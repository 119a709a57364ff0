import { ApiError, api, call } from '../api/client';

/** POST /api/rooms: a new session and the ticket into its room (the tier check may refuse it). */
export const startSession = () => call(api.api.rooms.$post());
type RoomTicket = Awaited<ReturnType<typeof startSession>>;

/** What the call page needs to enter a room: its ticket, or only the session to rejoin (POST /api/rooms/:id/join). */
export type CallEntry = { sessionId: string; ticket?: RoomTicket };

/**
 * The live session a 409 names: a client has one session under way at a time, and a start while it
 * lasts is answered with it (`details.sessionId`, `details.appointmentId`).
 */
export function liveSessionIn(err: unknown): { sessionId: string; appointmentId: string | null } | undefined {
  if (!(err instanceof ApiError && err.code === 'CONFLICT' && typeof err.details.sessionId === 'string')) return undefined;
  const appointmentId = err.details.appointmentId;
  return { sessionId: err.details.sessionId, appointmentId: typeof appointmentId === 'string' ? appointmentId : null };
}

/** "Start a session": a new one, or, when one is under way (another tab, a moment ago), that one again. */
export async function startOrRejoin(): Promise<CallEntry> {
  try {
    const ticket = await startSession();
    return { sessionId: ticket.sessionId, ticket };
  } catch (err) {
    const live = liveSessionIn(err);
    if (live) return { sessionId: live.sessionId };
    throw err;
  }
}

/** The call page of a call, with its ticket when there is one. */
export const callPath = (c: CallEntry) => [`/call/${encodeURIComponent(c.sessionId)}`, c.ticket ? { state: { ticket: c.ticket } } : undefined] as const;
