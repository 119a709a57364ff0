/**
 * The AI coach's outboxes, seen from the agent-host's main process: one folder per session under
 * AGENT_OUTBOX_DIR, each written by that session's job process (agent/job.ts). Counted for /health
 * (pending and set aside); what a finished or stopped job left behind is delivered here at shutdown,
 * once no job runs; what the Worker refused is deleted here once older than the retention.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@hybrid-coach/shared/log';
import { deleteOldDropped, droppedCount, Outbox } from './outbox';

/** The session folders under `dir` (none before a session has written anything). */
async function sessionFolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** Messages waiting in each session folder (not the ones set aside in dropped/). */
export async function pendingBySession(dir: string): Promise<Map<string, number>> {
  const pending = new Map<string, number>();
  for (const session of await sessionFolders(dir)) {
    const names = await readdir(join(dir, session)).catch(() => [] as string[]);
    const count = names.filter((n) => n.endsWith('.json')).length;
    if (count > 0) pending.set(session, count);
  }
  return pending;
}

/** Messages waiting across all sessions. */
export async function sessionOutboxDepth(dir: string): Promise<number> {
  let depth = 0;
  for (const count of (await pendingBySession(dir)).values()) depth += count;
  return depth;
}

/** Messages the Worker refused, set aside in the sessions' dropped/ folders, across all sessions. */
export async function sessionDroppedCount(dir: string): Promise<number> {
  let count = 0;
  for (const session of await sessionFolders(dir)) count += await droppedCount(join(dir, session));
  return count;
}

/** Deletes what every session set aside more than `retentionMs` ago; resolves with how many. */
export async function deleteOldSessionDropped(dir: string, retentionMs: number, now = Date.now()): Promise<number> {
  let deleted = 0;
  for (const session of await sessionFolders(dir)) deleted += await deleteOldDropped(join(dir, session), retentionMs, now);
  return deleted;
}

/**
 * Delivers what the session folders still hold, for up to `timeoutMs`; resolves with what is left
 * (it stays on disk: the next job of that session, or the next start's shutdown, sends it). Only when
 * no job process runs: two outboxes on one folder would race for its files.
 */
export async function flushSessionOutboxes(
  dir: string,
  secret: string,
  timeoutMs: number,
  /** Only these sessions' folders (the sweep leaves those of live jobs alone). */
  include: (sessionId: string) => boolean = () => true,
): Promise<number> {
  const pending = new Map([...(await pendingBySession(dir))].filter(([session]) => include(session)));
  if (pending.size === 0) return sessionOutboxDepth(dir);
  log('info', 'agent-host: delivering what the sessions left in their outboxes', {
    sessions: pending.size,
    outboxDepth: [...pending.values()].reduce((a, b) => a + b, 0),
  });
  const outboxes = await Promise.all([...pending.keys()].map((session) => Outbox.open({ dir: join(dir, session), secret })));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(outboxes.map((o) => o.drained())),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  await Promise.all(outboxes.map((o) => o.close()));
  return sessionOutboxDepth(dir);
}
