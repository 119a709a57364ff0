/**
 * The nightly Skool sync, Worker side: start a run at the agent-host, stage the members it sends
 * back in chunks, and apply them to D1 in batched writes when its final message arrives.
 */

import { describeError, log } from '@hybrid-coach/shared/log';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { Community, CommunityResult, FoundMember, KnownAccount } from '@hybrid-coach/shared/skool-sync';
import { planSync } from '@hybrid-coach/shared/skool-sync';
import { type FinalMessage, HoldsReply, type Member, StartReply } from '@hybrid-coach/shared/skool-sync-contract';
import { and, desc, eq, inArray, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { batchOf, chunked, type Db, isUniqueViolation } from '../db/client';
import { membershipStatusHistory, skoolSyncChunks, skoolSyncMembers, skoolSyncRuns, users } from '../db/schema';
import { mailOutbox } from '../mail/outbox';
import { syncFailedMailWrites } from '../mail/staff-mail';
import { claimLinkWrites } from './account-links';
import { auditInsert } from './audit';
import { agentHostSecret } from './config';
import { normalizeEmail } from './crypto';
import { suppressedEmails } from './erasure';
import { AppError } from './errors';

/** A run still RUNNING after this long is given up, however much progress it reports. */
export const RUN_TIMEOUT_MS = 2 * 60 * 60 * 1000;
/**
 * A run with no sign of life (a progress report, a chunk) for this long is stuck: failed at the next start,
 * which then goes ahead. The agent-host reports at least every PROGRESS_HEARTBEAT_MS (1 minute), so this
 * is five reports lost in a row; and it is longer than any one wait of the scraper (a page load 45 s, a
 * spinner 30 s), so a slow but live run is never failed.
 */
export const STALL_MS = 5 * 60 * 1000;
/**
 * A run younger than this is not asked about at the agent-host: its start request may still be in flight
 * (the Worker records the run, then asks the agent-host to start it), and the agent-host would rightly say
 * it does not hold it yet, failing a live run. Longer than the start request's own 15 s timeout.
 */
export const START_GRACE_MS = 30_000;
/** How long one delivery may hold the right to apply a run before another may take over. */
export const APPLY_LEASE_MS = 5 * 60 * 1000;
/** Statements per D1 batch (one round trip each). */
export const STATEMENTS_PER_BATCH = 100;
/** D1 allows 100 bound parameters per statement. */
const MAX_PARAMS = 100;

export type MemberIn = Member;
export type FinalIn = Pick<FinalMessage, 'ok' | 'error' | 'durationMs' | 'communities'>;

/** Emails every admin that a run failed; a failure to queue is logged, never in the way of the sync's own answer. */
async function queueSyncFailedMail(env: Env, db: Db, run: { id: string; reason: string }): Promise<void> {
  try {
    const batch = batchOf(await syncFailedMailWrites(env, db, run));
    if (batch) await db.batch(batch);
    await mailOutbox(env).kick();
  } catch (err) {
    log('error', 'skool sync: failure email not queued', { runId: run.id, ...describeError(err) });
  }
}

/** Who starts a run: the cron, or an admin (recorded on the run and in the audit log). */
export type Starter = { trigger: 'cron' } | { trigger: 'admin'; actorId: string; requestId?: string | null };

/**
 * Records a new run and asks the agent-host to start it. One run at a time: a run left RUNNING is first
 * failed if it is stuck (failStuckRun); if it is alive, 409.
 */
export async function startSkoolSync(env: Env, db: Db, starter: Starter, apiOrigin: string) {
  const now = new Date();
  await failStuckRun(env, db, now);
  const { trigger } = starter;
  const runId = crypto.randomUUID();
  const actorId = starter.trigger === 'admin' ? starter.actorId : null;
  try {
    await db.batch([
      db.insert(skoolSyncRuns).values({ id: runId, trigger, startedAt: now, startedBy: actorId, progressAt: now }),
      auditInsert(db, {
        actorId,
        action: 'skool-sync.start',
        target: { type: 'skool-sync-run', id: runId },
        after: { trigger },
        requestId: starter.trigger === 'admin' ? starter.requestId : null,
        at: now,
      }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'A Skool sync is already running');
    throw err;
  }
  const body = JSON.stringify({ runId, trigger, resultUrl: `${apiOrigin}/api/webhooks/skool-sync` });
  try {
    const res = await fetch(`${env.AGENT_HOST_URL}/skool-sync/start`, {
      method: 'POST',
      headers: await signedHeaders(agentHostSecret(env), body, runId),
      body,
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) throw new Error(`agent-host answered ${res.status}`);
    // A reply off the contract is an agent-host we do not understand: the run is not taken to be running.
    const reply = StartReply.safeParse(await res.json().catch(() => null));
    if (!reply.success)
      throw new Error(`agent-host's reply does not match the contract (${reply.error.issues.map((i) => i.path.join('.') || 'body').join(', ')})`);
  } catch (err) {
    const { errorMessage } = describeError(err);
    const reason = `could not start at the agent-host: ${errorMessage}`;
    await db.update(skoolSyncRuns).set({ status: 'FAILED', errorMessage: reason, finishedAt: new Date() }).where(eq(skoolSyncRuns.id, runId));
    await queueSyncFailedMail(env, db, { id: runId, reason });
    log('error', 'skool sync: agent-host did not take the run', { runId, ...describeError(err) });
    throw new AppError('SERVICE_UNAVAILABLE', 'The agent-host did not accept the sync; it is recorded as failed');
  }
  log('info', 'skool sync started', { runId, trigger });
  return { runId, startedAt: now };
}

/**
 * Fails the run left RUNNING, if any, when it is stuck: older than RUN_TIMEOUT_MS, silent for STALL_MS, or
 * no longer held by the agent-host (asked over POST /skool-sync/holds: a restarted agent-host holds none).
 * An agent-host that does not answer is not taken to have let go: the silence rule covers it. Without
 * `askAgentHost` (reading the runs list) only the clock decides.
 */
export async function failStuckRun(env: Env, db: Db, now = new Date(), { askAgentHost = true } = {}): Promise<string | null> {
  const run = await db
    .select({ id: skoolSyncRuns.id, startedAt: skoolSyncRuns.startedAt, progressAt: skoolSyncRuns.progressAt })
    .from(skoolSyncRuns)
    .where(eq(skoolSyncRuns.status, 'RUNNING'))
    .get();
  if (!run) return null;
  const silentMs = now.getTime() - (run.progressAt ?? run.startedAt).getTime();
  let reason: string | null = null;
  if (now.getTime() - run.startedAt.getTime() > RUN_TIMEOUT_MS) reason = 'timed out: no final result from the agent-host';
  else if (silentMs > STALL_MS) reason = `stuck: no progress from the agent-host for ${Math.round(silentMs / 60_000)} minutes`;
  else if (askAgentHost && now.getTime() - run.startedAt.getTime() > START_GRACE_MS && (await agentHostHolds(env, run.id)) === false)
    reason = 'the agent-host no longer holds this run (it restarted or lost it)';
  if (!reason) return null;
  const failed = await db
    .update(skoolSyncRuns)
    .set({ status: 'FAILED', errorMessage: reason, finishedAt: now, applyingAt: null })
    .where(and(eq(skoolSyncRuns.id, run.id), eq(skoolSyncRuns.status, 'RUNNING')))
    .returning({ id: skoolSyncRuns.id })
    .get();
  // Finished meanwhile: nothing to fail (and its staged members may be a held-back run's).
  if (!failed) return null;
  await db.delete(skoolSyncMembers).where(eq(skoolSyncMembers.runId, run.id));
  log('warn', 'skool sync: stuck run failed', { runId: run.id, reason });
  await queueSyncFailedMail(env, db, { id: run.id, reason });
  return run.id;
}

/** Whether the agent-host still holds `runId`; null when it does not answer as the contract says. */
export async function agentHostHolds(env: Env, runId: string): Promise<boolean | null> {
  const body = JSON.stringify({ runId });
  try {
    const res = await fetch(`${env.AGENT_HOST_URL}/skool-sync/holds`, {
      method: 'POST',
      headers: await signedHeaders(agentHostSecret(env), body, runId),
      body,
      signal: AbortSignal.timeout(5_000),
    });
    const reply = HoldsReply.safeParse(res.ok ? await res.json().catch(() => null) : null);
    return reply.success && reply.data.data.runId === runId ? reply.data.data.held : null;
  } catch (err) {
    log('warn', 'skool sync: the agent-host did not say whether it holds a run', { runId, ...describeError(err) });
    return null;
  }
}

async function runningRun(db: Db, runId: string) {
  const run = await db.select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, runId)).get();
  if (!run) throw new AppError('NOT_FOUND', 'No such sync run');
  return run;
}

/** Stages one chunk of members; a chunk delivered again changes nothing. */
export async function stageChunk(
  db: Db,
  p: { runId: string; community: Community; index: number; count: number; members: MemberIn[] },
): Promise<{ staged: number; skipped: number; duplicate: boolean }> {
  const run = await runningRun(db, p.runId);
  const seen = await db
    .select()
    .from(skoolSyncChunks)
    .where(and(eq(skoolSyncChunks.runId, p.runId), eq(skoolSyncChunks.community, p.community), eq(skoolSyncChunks.chunkIndex, p.index)))
    .get();
  if (seen || run.status !== 'RUNNING') return { staged: 0, skipped: 0, duplicate: true };

  const rows = new Map<string, typeof skoolSyncMembers.$inferInsert>();
  let skipped = 0;
  for (const m of p.members) {
    const email = m.email ? normalizeEmail(m.email) : '';
    if (!email) {
      skipped += 1;
      continue;
    }
    if (rows.has(email)) continue;
    rows.set(email, {
      runId: p.runId,
      community: p.community,
      email,
      name: m.name,
      paid: m.paid,
      status: m.status,
      joinedAt: m.joinedAt ? new Date(m.joinedAt) : null,
      membershipEndsAt: endOf(m.membershipEndsAt),
      profileUrl: m.profileUrl,
      photoUrl: m.photoUrl,
      bio: m.bio,
    });
  }
  const statements: BatchItem<'sqlite'>[] = [
    db
      .update(skoolSyncRuns)
      .set({ progressAt: new Date() })
      .where(and(eq(skoolSyncRuns.id, p.runId), eq(skoolSyncRuns.status, 'RUNNING'))),
    db
      .insert(skoolSyncChunks)
      .values({ runId: p.runId, community: p.community, chunkIndex: p.index, chunkCount: p.count, members: rows.size, skipped })
      .onConflictDoNothing(),
  ];
  for (const part of chunked([...rows.values()], Math.floor(MAX_PARAMS / 11))) {
    statements.push(db.insert(skoolSyncMembers).values(part).onConflictDoNothing());
  }
  await runBatches(db, statements);
  return { staged: rows.size, skipped, duplicate: false };
}

export interface ApplyOutcome {
  status: 'SUCCEEDED' | 'FAILED' | 'ALREADY_DONE';
  roundTrips: number;
}

/** A community the safety rule held back: it found fewer than half of the last good run. */
export interface HeldBack {
  community: Community;
  previous: number;
  found: number;
}

/**
 * Takes the right to apply a run (a lease): of two concurrent deliveries, or an override and a retry, one
 * applies; a lease older than APPLY_LEASE_MS (its Worker was killed mid-apply) is taken over.
 */
export async function takeLease(db: Db, runId: string, status: 'RUNNING' | 'FAILED', now: Date): Promise<boolean> {
  const leased = await db
    .update(skoolSyncRuns)
    .set({ applyingAt: now })
    .where(
      and(
        eq(skoolSyncRuns.id, runId),
        eq(skoolSyncRuns.status, status),
        or(isNull(skoolSyncRuns.applyingAt), lt(skoolSyncRuns.applyingAt, new Date(now.getTime() - APPLY_LEASE_MS))),
      ),
    )
    .returning({ id: skoolSyncRuns.id })
    .get();
  return !!leased;
}

/** Applies a run's staged members once every chunk is in (503 until then, so the sender retries). */
export async function applyFinal(env: Env, db: Db, runId: string, final: FinalIn, now = new Date()): Promise<ApplyOutcome> {
  const run = await runningRun(db, runId);
  if (run.status !== 'RUNNING') return { status: 'ALREADY_DONE', roundTrips: 1 };
  let roundTrips = 1;

  const chunks = await db.select().from(skoolSyncChunks).where(eq(skoolSyncChunks.runId, runId)).all();
  roundTrips += 1;
  for (const c of ['ultra', 'vagus'] as const) {
    if (!final.communities[c].ok) continue;
    const mine = chunks.filter((k) => k.community === c);
    const expected = mine[0]?.chunkCount ?? 0;
    if (mine.length < expected || mine.some((k) => k.chunkCount !== expected)) {
      throw new AppError('SERVICE_UNAVAILABLE', `Still waiting for ${c} chunks (${mine.length} of ${expected})`, { retryAfterSeconds: 5 });
    }
  }

  // 503, not 409: the sender retries, and then finds the run applied.
  roundTrips += 1;
  if (!(await takeLease(db, runId, 'RUNNING', now)))
    throw new AppError('SERVICE_UNAVAILABLE', 'This run is being applied by another delivery', { retryAfterSeconds: 10 });

  const lastGood = async (c: Community) => {
    const col = c === 'ultra' ? skoolSyncRuns.ultraMembersFound : skoolSyncRuns.vagusMembersFound;
    const row = await db
      .select({ found: col })
      .from(skoolSyncRuns)
      .where(and(eq(skoolSyncRuns.status, 'SUCCEEDED'), sql`${col} IS NOT NULL`))
      .orderBy(desc(skoolSyncRuns.startedAt))
      .limit(1)
      .get();
    roundTrips += 1;
    return row?.found ?? null;
  };

  const problems: string[] = [];
  const complete: Record<Community, boolean | null> = { ultra: null, vagus: null };
  const heldBack: HeldBack[] = [];
  for (const c of ['ultra', 'vagus'] as const) {
    const r = final.communities[c];
    if (!r.ok) {
      problems.push(`${c}: scrape failed: ${r.error ?? 'unknown error'}`);
      continue;
    }
    const previous = await lastGood(c);
    complete[c] = previous === null || r.membersFound * 2 >= previous;
    if (!complete[c] && previous !== null) {
      heldBack.push({ community: c, previous, found: r.membersFound });
      problems.push(`${c}: found ${r.membersFound} members, fewer than half of the last good run (${previous})`);
    }
  }

  const applied = await planWrites(env, db, runId, complete, now, null);
  roundTrips += applied.roundTrips;
  const { plan, statements } = applied;
  const failed = !final.ok || problems.length > 0;
  const errorMessage = failed ? [final.error, ...problems].filter(Boolean).join('; ') || 'failed' : null;
  if (errorMessage) statements.push(...(await syncFailedMailWrites(env, db, { id: runId, reason: errorMessage }, now)));
  statements.push(
    db
      .update(skoolSyncRuns)
      .set({
        status: failed ? 'FAILED' : 'SUCCEEDED',
        ultraMembersFound: final.communities.ultra.ok ? final.communities.ultra.membersFound : null,
        vagusMembersFound: final.communities.vagus.ok ? final.communities.vagus.membersFound : null,
        ...plan.counts,
        skipped: chunks.reduce((n, k) => n + k.skipped, 0) + applied.suppressed,
        downgradesWithheld: plan.withholdDowngrades,
        heldBack: heldBack.length > 0 ? heldBack : null,
        durationMs: final.durationMs,
        errorMessage,
        applyingAt: null,
        finishedAt: new Date(),
      })
      .where(eq(skoolSyncRuns.id, runId)),
    // A held-back run keeps its members for the override; a run that finishes ends every earlier one's chance.
    db
      .delete(skoolSyncMembers)
      .where(
        heldBack.length > 0
          ? ne(skoolSyncMembers.runId, runId)
          : or(eq(skoolSyncMembers.runId, runId), sql`${skoolSyncMembers.runId} IN (SELECT id FROM skool_sync_runs WHERE status <> 'RUNNING')`),
      ),
  );
  roundTrips += await runBatches(db, statements);
  log(failed ? 'warn' : 'info', 'skool sync applied', {
    runId,
    ...plan.counts,
    withheld: plan.withholdDowngrades,
    heldBack: heldBack.map((h) => h.community),
    claimEmailsQueued: applied.claimEmailsQueued,
    roundTrips,
  });
  return { status: failed ? 'FAILED' : 'SUCCEEDED', roundTrips };
}

/**
 * The writes that bring every account in line with a run's staged members: the plan (shared/skool-sync.ts),
 * new placeholders with their claim emails, and a history row per change (with the admin, for an override).
 * `complete[c]`: null when the community's scrape failed, false when its list is not trusted for absences.
 */
export async function planWrites(
  env: Env,
  db: Db,
  runId: string,
  complete: Record<Community, boolean | null>,
  now: Date,
  by: { actorId: string; reason: string } | null,
) {
  let roundTrips = 0;
  const allStaged = await db.select().from(skoolSyncMembers).where(eq(skoolSyncMembers.runId, runId)).all();
  roundTrips += 1;
  // An erased client still in a Skool community: no new account, no claim email, and nothing kept of what was
  // staged (an account someone made since with that address is synced as usual).
  const erased = await suppressedEmails(env, db, [...new Set(allStaged.map((m) => m.email))]);
  if (erased.size > 0) {
    const existing = await db
      .select({ email: users.email })
      .from(users)
      .where(inArray(users.email, [...erased]))
      .all();
    for (const { email } of existing) erased.delete(email);
  }
  const staged = allStaged.filter((m) => !erased.has(m.email));
  const results = {} as Record<Community, CommunityResult>;
  for (const c of ['ultra', 'vagus'] as const) {
    const trusted = complete[c];
    if (trusted === null) {
      results[c] = { members: null, complete: false };
      continue;
    }
    const members = new Map<string, FoundMember>();
    for (const m of staged) if (m.community === c) members.set(m.email, { ...m });
    results[c] = { members, complete: trusted };
  }

  const known: KnownAccount[] = (
    await db
      .select({
        id: users.id,
        email: users.email,
        role: users.role,
        tier: users.membershipTier,
        ultraStatus: users.ultraSubscriptionStatus,
        vagusStatus: users.vagusSubscriptionStatus,
        membershipEndDate: users.membershipEndDate,
        skoolProfileUrl: users.skoolProfileUrl,
        skoolPhotoUrl: users.skoolPhotoUrl,
        skoolBio: users.skoolBio,
        // A role staff set (the staff console writes a history row with its actor) is theirs to change, not the sync's.
        roleSetByStaff: sql<number>`EXISTS (SELECT 1 FROM membership_status_history h WHERE h.user_id = users.id AND h.field = 'role' AND h.actor_id IS NOT NULL AND h.sync_run_id IS NULL)`,
      })
      .from(users)
      .where(isNull(users.deletedAt))
      .all()
  ).map((u) => ({ ...u, roleSetByStaff: Boolean(u.roleSetByStaff) }));
  roundTrips += 1;

  const plan = planSync(known, results.ultra, results.vagus, now);
  const statements: BatchItem<'sqlite'>[] = [];
  if (erased.size > 0) statements.push(db.delete(skoolSyncMembers).where(and(eq(skoolSyncMembers.runId, runId), inArray(skoolSyncMembers.email, [...erased]))));
  const history: (typeof membershipStatusHistory.$inferInsert)[] = [];
  let claimEmailsQueued = 0;
  for (const a of plan.accounts) {
    const fields = {
      role: a.next.role,
      membershipTier: a.next.tier,
      ultraSubscriptionStatus: a.next.ultraStatus,
      vagusSubscriptionStatus: a.next.vagusStatus,
      membershipEndDate: a.next.membershipEndDate,
      skoolProfileUrl: a.next.skoolProfileUrl,
      skoolPhotoUrl: a.next.skoolPhotoUrl,
      skoolBio: a.next.skoolBio,
    };
    const id = a.id ?? crypto.randomUUID();
    if (a.id) statements.push(db.update(users).set(fields).where(eq(users.id, a.id)));
    else {
      statements.push(db.insert(users).values({ id, email: a.email, displayName: a.displayName, passwordHash: null, ...fields }));
      // A new placeholder gets its claim email once, now: never again on later nights (it is not new then).
      statements.push(...(await claimLinkWrites(env, db, { id, email: a.email, displayName: a.displayName }, 'sync', now)));
      claimEmailsQueued += 1;
    }
    for (const ch of a.changes) {
      history.push({
        userId: id,
        syncRunId: runId,
        actorId: by?.actorId ?? null,
        reason: by?.reason ?? null,
        community: ch.community,
        field: ch.field,
        previousValue: ch.from,
        newValue: ch.to,
        changedAt: now,
      });
    }
  }
  for (const part of chunked(history, Math.floor(MAX_PARAMS / 10))) statements.push(db.insert(membershipStatusHistory).values(part));

  // Everyone seen: last sync and Skool emails, in one set-based statement.
  const memberOf = (c: Community, col: 'email' | 'joined_at') =>
    sql`(SELECT m.${sql.identifier(col)} FROM skool_sync_members m WHERE m.run_id = ${runId} AND m.community = ${c} AND m.email = users.email)`;
  statements.push(
    db
      .update(users)
      .set({
        lastSkoolSync: now,
        skoolUltraEmail: sql`COALESCE(${memberOf('ultra', 'email')}, ${users.skoolUltraEmail})`,
        skoolVagusEmail: sql`COALESCE(${memberOf('vagus', 'email')}, ${users.skoolVagusEmail})`,
        skoolJoinedAt: sql`COALESCE(${memberOf('ultra', 'joined_at')}, ${memberOf('vagus', 'joined_at')}, ${users.skoolJoinedAt})`,
      })
      .where(sql`${users.email} IN (SELECT email FROM skool_sync_members WHERE run_id = ${runId})`),
  );
  return { plan, statements, claimEmailsQueued, roundTrips, suppressed: erased.size };
}

/** Runs statements in D1 batches (each batch one round trip, one transaction); answers the round trips. */
export async function runBatches(db: Db, statements: BatchItem<'sqlite'>[]): Promise<number> {
  let trips = 0;
  for (const part of chunked(statements, STATEMENTS_PER_BATCH)) {
    const batch = batchOf(part);
    if (batch) await db.batch(batch);
    trips += 1;
  }
  return trips;
}

/**
 * Skool shows a calendar date ("Membership ends Jan 1, 2027"): the membership runs through that
 * whole day (UTC), so a date alone means the first instant of the next day.
 */
export function endOf(value: string | null): Date | null {
  if (!value) return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(Date.parse(`${value}T00:00:00Z`) + 24 * 60 * 60 * 1000);
  return new Date(value);
}
