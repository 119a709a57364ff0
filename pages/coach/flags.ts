import { readStaffEvent, type StaffEvent } from '@hybrid-coach/shared/staff-events';
import { queryOptions } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { useLiveSocket } from '../shared/use-live-socket';

/** Open and acknowledged crisis flags, open first, with the dashboard's figures (GET /api/flags). */
export const loadFlags = () => call(api.api.flags.$get({ query: { state: 'active' } }));
export type FlagList = Awaited<ReturnType<typeof loadFlags>>;
export type CrisisFlag = FlagList['flags'][number];

/** One page of resolved flags, the most recently resolved first (GET /api/flags/resolved). */
export const loadResolvedFlags = (cursor?: string) => call(api.api.flags.resolved.$get({ query: cursor ? { cursor } : {} }));
export type ResolvedFlag = Awaited<ReturnType<typeof loadResolvedFlags>>['items'][number];

const loadFlag = (sessionId: string) => call(api.api.flags[':sessionId'].$get({ param: { sessionId } }));
export type FlagDetail = Awaited<ReturnType<typeof loadFlag>>;
/** One session's flag with its history (GET /api/flags/:sessionId). */
export const flagQuery = (sessionId: string) => queryOptions({ queryKey: ['flags', sessionId], queryFn: () => loadFlag(sessionId) });

export const acknowledgeFlag = (sessionId: string) => call(api.api.flags[':sessionId'].acknowledge.$post({ param: { sessionId } }));
export const resolveFlag = (sessionId: string, note: string) => call(api.api.flags[':sessionId'].resolve.$post({ param: { sessionId }, json: { note } }));
export const reopenFlag = (sessionId: string) => call(api.api.flags[':sessionId'].reopen.$post({ param: { sessionId }, json: {} }));

const staffTicket = () => call(api.api.staff['ws-ticket'].$post());

/**
 * The staff desk's live events (GET /api/staff/ws): every crisis flag raised or changed, pushed the moment it
 * happens. Answers whether the socket is open.
 */
export const useStaffEvents = (onEvent: (event: StaffEvent) => void): boolean =>
  useLiveSocket({ ticket: staffTicket, path: '/api/staff/ws', read: readStaffEvent }, onEvent);

/** "3 min", "2 h 5 min", "4 days": how long something has waited, from milliseconds. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '—';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} days`;
}
