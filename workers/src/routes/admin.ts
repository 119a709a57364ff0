/**
 * The staff console's Skool sync (admins only): the runs a page at a time, one run with its progress and
 * its changes person by person, "Run now", and the override of a run the safety rule held back.
 */
import { z } from '@hono/zod-openapi';
import { and, asc, desc, eq, gt, inArray, lt, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/client';
import { membershipStatusHistory, SKOOL_COMMUNITIES, skoolSyncRuns, users } from '../db/schema';
import { CursorQuery, decodeCursor, pageOf, pageSchema } from '../lib/cursor';
import { AppError, ok } from '../lib/errors';
import { ADMINS, adminChange, authRoute, createApp, IdParams, limitQuery, okBody } from '../lib/openapi';
import { failStuckRun, startSkoolSync } from '../lib/skool-sync';
import { overrideHeldRun } from '../lib/skool-sync-runs';

const iso = z.string().datetime().nullable();
const community = z.enum(SKOOL_COMMUNITIES);
const Staff = z.object({ id: z.string(), displayName: z.string().nullable() }).nullable();
const Held = z.object({
  community,
  previous: z.number().int().min(0).max(10_000_000).openapi({ description: 'Members the last good run found' }),
  found: z.number().int().min(0).max(10_000_000).openapi({ description: 'Members this run found' }),
});

const Run = z
  .object({
    id: z.string(),
    trigger: z.enum(['cron', 'admin']),
    startedBy: Staff.openapi({ description: 'The admin who pressed "Run now"; null for the cron' }),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']),
    ultraMembersFound: z.number().int().nullable(),
    vagusMembersFound: z.number().int().nullable(),
    progress: z
      .object({ ultra: z.number().int().nullable(), vagus: z.number().int().nullable(), at: iso })
      .openapi({ description: 'Members scraped so far per community (null: not reached), as the agent-host last reported' }),
    newMembers: z.number().int(),
    upgraded: z.number().int(),
    downgraded: z.number().int(),
    cancelled: z.number().int(),
    skipped: z.number().int(),
    downgradesWithheld: z.boolean(),
    heldBack: z.array(Held).nullable().openapi({ description: 'Communities the safety rule held back (fewer than half of the last good run)' }),
    override: z.object({ by: Staff, at: z.string().datetime(), reason: z.string().nullable() }).nullable(),
    durationMs: z.number().int().nullable(),
    errorMessage: z.string().nullable(),
    startedAt: z.string().datetime(),
    finishedAt: iso,
  })
  .openapi('SkoolSyncRun');

const Change = z.object({
  field: z.enum(['status', 'role', 'tier', 'account']),
  community: community.nullable(),
  from: z.string().nullable(),
  to: z.string(),
});
const PersonChanges = z
  .object({ user: z.object({ id: z.string(), email: z.string(), displayName: z.string() }), changes: z.array(Change) })
  .openapi('SkoolSyncPersonChanges');

const startRoute = authRoute({
  method: 'post',
  path: '/skool-sync',
  summary: 'Start a Skool membership sync now (admins); 409 while one runs',
  roles: ADMINS,
  errors: ['CONFLICT', 'SERVICE_UNAVAILABLE'],
  responses: { 202: okBody('Started', z.object({ runId: z.string(), startedAt: z.string().datetime() })) },
});

const runsRoute = authRoute({
  method: 'get',
  path: '/skool-sync/runs',
  summary: 'Skool sync runs with their counts, newest first, a page at a time (admins)',
  roles: ADMINS,
  request: { query: z.object({ cursor: CursorQuery, limit: limitQuery(100, 20, 'At most this many (1 to 100)') }) },
  responses: { 200: okBody('One page, newest first', pageSchema(Run)) },
});

const runRoute = authRoute({
  method: 'get',
  path: '/skool-sync/runs/{id}',
  summary: 'One Skool sync run, with its progress while it runs (admins)',
  roles: ADMINS,
  errors: ['NOT_FOUND'],
  request: { params: IdParams },
  responses: { 200: okBody('The run', Run) },
});

const changesRoute = authRoute({
  method: 'get',
  path: '/skool-sync/runs/{id}/changes',
  summary: 'What one run changed, person by person, by email, a page at a time (admins)',
  roles: ADMINS,
  errors: ['NOT_FOUND'],
  request: {
    params: IdParams,
    query: z.object({ cursor: CursorQuery, limit: limitQuery(80, 50, 'People per page (1 to 80: their ids are bound in one query)') }),
  },
  responses: { 200: okBody('One page of people, by email', pageSchema(PersonChanges)) },
});

const OverrideBody = z
  .object({
    reason: z.string().trim().min(3).max(500).openapi({ description: 'Why: kept in the audit log and on each change' }),
    confirm: z.array(Held).min(1).max(2).openapi({ description: 'The held numbers, repeated: a confirmation of other numbers is refused (409)' }),
  })
  .strict()
  .openapi('SkoolSyncOverride');

const overrideRoute = adminChange(
  '/skool-sync/runs/{id}/override',
  'Apply a run the safety rule held back, with a reason and its numbers confirmed (admins)',
  OverrideBody,
  okBody('The run after the override', Run),
);

type RunRow = typeof skoolSyncRuns.$inferSelect;
const starter = alias(users, 'starter');
const overrider = alias(users, 'overrider');

/** Runs with the names of the admins who started or overrode them. */
const runsQuery = (db: Db) =>
  db
    .select({ run: skoolSyncRuns, starterName: starter.displayName, overriderName: overrider.displayName })
    .from(skoolSyncRuns)
    .leftJoin(starter, eq(starter.id, skoolSyncRuns.startedBy))
    .leftJoin(overrider, eq(overrider.id, skoolSyncRuns.overriddenBy));

const runOf = ({ run: r, starterName, overriderName }: { run: RunRow; starterName: string | null; overriderName: string | null }): z.infer<typeof Run> => ({
  id: r.id,
  trigger: r.trigger,
  startedBy: r.startedBy ? { id: r.startedBy, displayName: starterName } : null,
  status: r.status,
  ultraMembersFound: r.ultraMembersFound,
  vagusMembersFound: r.vagusMembersFound,
  progress: { ultra: r.ultraScraped, vagus: r.vagusScraped, at: r.progressAt?.toISOString() ?? null },
  newMembers: r.newMembers,
  upgraded: r.upgraded,
  downgraded: r.downgraded,
  cancelled: r.cancelled,
  skipped: r.skipped,
  downgradesWithheld: r.downgradesWithheld,
  heldBack: r.heldBack ?? null,
  override: r.overriddenAt
    ? { by: r.overriddenBy ? { id: r.overriddenBy, displayName: overriderName } : null, at: r.overriddenAt.toISOString(), reason: r.overrideReason }
    : null,
  durationMs: r.durationMs,
  errorMessage: r.errorMessage,
  startedAt: r.startedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

async function loadRun(db: Db, id: string) {
  const row = await runsQuery(db).where(eq(skoolSyncRuns.id, id)).get();
  if (!row) throw new AppError('NOT_FOUND', 'No such sync run');
  return runOf(row);
}

export const admin = createApp()
  .openapi(startRoute, async (c) => {
    const starterOf = { trigger: 'admin', actorId: c.get('user').id, requestId: c.get('requestId') } as const;
    const { runId, startedAt } = await startSkoolSync(c.env, c.var.db, starterOf, new URL(c.req.url).origin);
    return c.json(ok({ runId, startedAt: startedAt.toISOString() }), 202);
  })
  .openapi(runsRoute, async (c) => {
    const { cursor, limit } = c.req.valid('query');
    // A run silent past STALL_MS is failed as it is read, not shown running until the next start.
    await failStuckRun(c.env, c.var.db, new Date(), { askAgentHost: false });
    const after = cursor ? decodeCursor(cursor, ['number', 'string']) : null;
    const rows = await runsQuery(c.var.db)
      .where(
        after
          ? or(lt(skoolSyncRuns.startedAt, new Date(after[0])), and(eq(skoolSyncRuns.startedAt, new Date(after[0])), lt(skoolSyncRuns.id, after[1])))
          : undefined,
      )
      .orderBy(desc(skoolSyncRuns.startedAt), desc(skoolSyncRuns.id))
      .limit(limit + 1)
      .all();
    const page = pageOf(rows, limit, (r) => [r.run.startedAt.getTime(), r.run.id]);
    return c.json(ok({ items: page.items.map(runOf), nextCursor: page.nextCursor }), 200);
  })
  .openapi(runRoute, async (c) => {
    await failStuckRun(c.env, c.var.db, new Date(), { askAgentHost: false });
    return c.json(ok(await loadRun(c.var.db, c.req.valid('param').id)), 200);
  })
  .openapi(changesRoute, async (c) => {
    const db = c.var.db;
    const { id } = c.req.valid('param');
    const { cursor, limit } = c.req.valid('query');
    const run = await db.select({ id: skoolSyncRuns.id }).from(skoolSyncRuns).where(eq(skoolSyncRuns.id, id)).get();
    if (!run) throw new AppError('NOT_FOUND', 'No such sync run');
    const after = cursor ? decodeCursor(cursor, ['string'])[0] : null;
    const people = await db
      .selectDistinct({ id: users.id, email: users.email, displayName: users.displayName })
      .from(membershipStatusHistory)
      .innerJoin(users, eq(users.id, membershipStatusHistory.userId))
      .where(and(eq(membershipStatusHistory.syncRunId, id), after === null ? undefined : gt(users.email, after)))
      .orderBy(asc(users.email))
      .limit(limit + 1)
      .all();
    const page = pageOf(people, limit, (p) => [p.email]);
    const rows =
      page.items.length === 0
        ? []
        : await db
            .select()
            .from(membershipStatusHistory)
            .where(
              and(
                eq(membershipStatusHistory.syncRunId, id),
                inArray(
                  membershipStatusHistory.userId,
                  page.items.map((p) => p.id),
                ),
              ),
            )
            .orderBy(asc(membershipStatusHistory.changedAt), asc(membershipStatusHistory.field))
            .all();
    const items = page.items.map((user) => ({
      user,
      changes: rows.filter((h) => h.userId === user.id).map((h) => ({ field: h.field, community: h.community, from: h.previousValue, to: h.newValue })),
    }));
    return c.json(ok({ items, nextCursor: page.nextCursor }), 200);
  })
  .openapi(overrideRoute, async (c) => {
    const { reason, confirm } = c.req.valid('json');
    const id = c.req.valid('param').id;
    await overrideHeldRun(c.env, c.var.db, id, { actorId: c.get('user').id, reason, requestId: c.get('requestId') ?? null }, confirm);
    return c.json(ok(await loadRun(c.var.db, id)), 200);
  });
