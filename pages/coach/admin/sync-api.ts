/** The staff console's Skool sync calls (admins only) and the words its pages use for what they answer. */
import { call, skoolSyncApi } from '../../api/client';

const sync = skoolSyncApi['skool-sync'];

export const loadRuns = (cursor?: string) => call(sync.runs.$get({ query: cursor ? { cursor } : {} }));
export type SyncRun = Awaited<ReturnType<typeof loadRuns>>['items'][number];
export type HeldBack = NonNullable<SyncRun['heldBack']>[number];

export const loadRun = (id: string) => call(sync.runs[':id'].$get({ param: { id } }));
export const loadChanges = (id: string, cursor?: string) => call(sync.runs[':id'].changes.$get({ param: { id }, query: cursor ? { cursor } : {} }));
export type PersonChanges = Awaited<ReturnType<typeof loadChanges>>['items'][number];

export const startRun = () => call(sync.$post());
export const overrideRun = (id: string, reason: string, confirm: HeldBack[]) =>
  call(sync.runs[':id'].override.$post({ param: { id }, json: { reason, confirm } }));

/** While a run is RUNNING its page and the list read it again this often (polling is enough here). */
export const RUN_POLL_MS = 1500;
/** The Worker's STALL_MS (workers/src/lib/skool-sync.ts), in words. */
export const STALL_MINUTES = 5;

export const STATUS_LABELS: Record<SyncRun['status'], string> = { RUNNING: 'Running', SUCCEEDED: 'Succeeded', FAILED: 'Failed' };
export const COMMUNITY_LABELS: Record<HeldBack['community'], string> = { ultra: 'Ultra', vagus: 'Vagus' };

export const runPath = (id: string): string => `/admin/sync/${encodeURIComponent(id)}`;

/** Who started a run: "Nightly (cron)" or the admin's name. */
export const startedByOf = (r: Pick<SyncRun, 'trigger' | 'startedBy'>): string =>
  r.trigger === 'cron' ? 'Nightly (cron)' : (r.startedBy?.displayName ?? 'An admin');

/** Members per community: what a finished run found, or what a running one has scraped so far. */
export function membersOf(r: SyncRun, c: HeldBack['community']): string {
  const found = c === 'ultra' ? r.ultraMembersFound : r.vagusMembersFound;
  if (r.status !== 'RUNNING') return found === null ? 'not scraped' : String(found);
  const sofar = r.progress[c];
  return sofar === null ? 'waiting' : `${sofar} so far`;
}

/** A held-back community in words: "Vagus: 10 members last time, 3 now". */
export const heldWords = (h: HeldBack): string => `${COMMUNITY_LABELS[h.community]}: ${h.previous} members at the last good run, ${h.found} now`;
