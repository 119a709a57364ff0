import { api, call } from '../api/client';
import type { SessionDetail } from '../shared/queries';

export const loadSessions = (flagged = false) => call(api.api.sessions.$get({ query: flagged ? { flagged: 'true' } : {} }));
export type SessionSummary = Awaited<ReturnType<typeof loadSessions>>[number];

export type TranscriptLine = SessionDetail['transcript'][number];

export const loadAppointments = () => call(api.api.appointments.$get({ query: {} }));
export type Appointment = Awaited<ReturnType<typeof loadAppointments>>[number];

/** "Tue 3 Dec, 14:30" in the viewer's locale and time zone. */
export const formatWhen = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** The session's review route. */
export const reviewPath = (sessionId: string): string => `/sessions/${encodeURIComponent(sessionId)}`;
