/**
 * The staff console's side of the Skool sync: progress reports from the agent-host, and an admin's
 * override of a run the safety rule held back.
 */

import { log } from '@hybrid-coach/shared/log';
import type { ProgressMessage } from '@hybrid-coach/shared/skool-sync-contract';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/client';
import { skoolSyncMembers, skoolSyncRuns } from '../db/schema';
import { auditInsert } from './audit';
import { AppError } from './errors';
import { type HeldBack, planWrites, runBatches, takeLease } from './skool-sync';

/** Records members scraped so far (never lowering a count: reports may arrive out of order). */
export async function recordProgress(db: Db, m: ProgressMessage, now = new Date()): Promise<{ recorded: boolean }> {
  const atLeast = (col: SQLiteColumn, n: number | null) => (n === null ? col : sql`MAX(COALESCE(${col}, 0), ${n})`);
  const row = await db
    .update(skoolSyncRuns)
    .set({
      ultraScraped: atLeast(skoolSyncRuns.ultraScraped, m.scraped.ultra),
      vagusScraped: atLeast(skoolSyncRuns.vagusScraped, m.scraped.vagus),
      progressAt: now,
    })
    .where(and(eq(skoolSyncRuns.id, m.runId), eq(skoolSyncRuns.status, 'RUNNING')))
    .returning({ id: skoolSyncRuns.id })
    .get();
  if (row) return { recorded: true };
  const known = await db.select({ id: skoolSyncRuns.id }).from(skoolSyncRuns).where(eq(skoolSyncRuns.id, m.runId)).get();
  if (!known) throw new AppError('NOT_FOUND', 'No such sync run');
  // A report that arrives after the run finished (or was failed as stuck) changes nothing.
  return { recorded: false };
}

const numbers = (h: readonly HeldBack[]) =>
  [...h]
    .sort((a, b) => a.community.localeCompare(b.community))
    .map((x) => `${x.community} ${x.previous} → ${x.found}`)
    .join(', ');

/**
 * Applies a run the safety rule held back, as if its lists were complete: the downgrades and expiries it
 * withheld are written now, each change with the admin and the reason, and the run counts as the last
 * good one from then on. `confirm` must repeat the held numbers (last good run → found, per community):
 * a confirmation made against other numbers is refused. Only the newest run may be overridden.
 */
export async function overrideHeldRun(
  env: Env,
  db: Db,
  runId: string,
  by: { actorId: string; reason: string; requestId: string | null },
  confirm: readonly HeldBack[],
  now = new Date(),
) {
  const run = await db.select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, runId)).get();
  if (!run) throw new AppError('NOT_FOUND', 'No such sync run');
  const held = run.heldBack ?? [];
  if (run.overriddenAt) throw new AppError('CONFLICT', 'This run was already applied by an override');
  if (run.status !== 'FAILED' || held.length === 0) throw new AppError('CONFLICT', 'This run was not held back by the safety rule');
  if (run.ultraMembersFound === null || run.vagusMembersFound === null)
    throw new AppError('CONFLICT', 'A community’s scrape failed in this run: only a run with both lists can be applied');
  const later = await db.select({ id: skoolSyncRuns.id }).from(skoolSyncRuns).where(gt(skoolSyncRuns.startedAt, run.startedAt)).limit(1).get();
  if (later) throw new AppError('CONFLICT', 'A later run has started since: its lists replace this one’s');
  if (numbers(confirm) !== numbers(held) || confirm.length !== held.length)
    throw new AppError('CONFLICT', `The numbers confirmed are not this run’s: it held back ${numbers(held)}`, {
      fields: { confirm: `expected ${numbers(held)}` },
    });

  // The lease on a finished run: of two overrides at once, one applies; one whose Worker died mid-apply
  // holds it only until the lease expires (an applied run is SUCCEEDED, so it is never leased again).
  if (!(await takeLease(db, runId, 'FAILED', now))) throw new AppError('CONFLICT', 'This run is being applied by another override');

  const { plan, statements } = await planWrites(env, db, runId, { ultra: true, vagus: true }, now, { actorId: by.actorId, reason: by.reason });
  const counts = {
    newMembers: run.newMembers + plan.counts.newMembers,
    upgraded: run.upgraded + plan.counts.upgraded,
    downgraded: run.downgraded + plan.counts.downgraded,
    cancelled: run.cancelled + plan.counts.cancelled,
  };
  statements.push(
    db
      .update(skoolSyncRuns)
      .set({
        status: 'SUCCEEDED',
        ...counts,
        downgradesWithheld: false,
        errorMessage: null,
        overriddenBy: by.actorId,
        overriddenAt: now,
        overrideReason: by.reason,
        applyingAt: null,
      })
      .where(eq(skoolSyncRuns.id, runId)),
    db.delete(skoolSyncMembers).where(eq(skoolSyncMembers.runId, runId)),
    auditInsert(db, {
      actorId: by.actorId,
      action: 'skool-sync.override',
      target: { type: 'skool-sync-run', id: runId },
      reason: by.reason,
      before: { status: run.status, heldBack: held, downgraded: run.downgraded, cancelled: run.cancelled },
      after: { status: 'SUCCEEDED', downgraded: counts.downgraded, cancelled: counts.cancelled },
      requestId: by.requestId,
      at: now,
    }),
  );
  try {
    await runBatches(db, statements);
  } catch (err) {
    // Let a retry take the lease again at once (what was written stays: the plan is recomputed from the state).
    await db
      .update(skoolSyncRuns)
      .set({ applyingAt: null })
      .where(and(eq(skoolSyncRuns.id, runId), isNull(skoolSyncRuns.overriddenAt)));
    throw err;
  }
  log('warn', 'skool sync: held-back run applied by an admin', { runId, actorId: by.actorId, ...plan.counts });
}
