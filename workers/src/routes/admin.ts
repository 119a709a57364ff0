import { z } from '@hono/zod-openapi';
import { desc } from 'drizzle-orm';
import { skoolSyncRuns } from '../db/schema';
import { ok } from '../lib/errors';
import { authRoute, createApp, okBody } from '../lib/openapi';
import { startSkoolSync } from '../lib/skool-sync';

const iso = z.string().datetime().nullable();

const Run = z
  .object({
    id: z.string(),
    trigger: z.enum(['cron', 'admin']),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']),
    ultraMembersFound: z.number().int().nullable(),
    vagusMembersFound: z.number().int().nullable(),
    newMembers: z.number().int(),
    upgraded: z.number().int(),
    downgraded: z.number().int(),
    cancelled: z.number().int(),
    skipped: z.number().int(),
    downgradesWithheld: z.boolean(),
    durationMs: z.number().int().nullable(),
    errorMessage: z.string().nullable(),
    startedAt: z.string().datetime(),
    finishedAt: iso,
  })
  .openapi('SkoolSyncRun');

const startRoute = authRoute({
  method: 'post',
  path: '/skool-sync',
  summary: 'Start a Skool membership sync now (admins)',
  roles: ['ADMIN'],
  errors: ['CONFLICT', 'SERVICE_UNAVAILABLE'],
  responses: { 202: okBody('Started', z.object({ runId: z.string(), startedAt: z.string().datetime() })) },
});

const runsRoute = authRoute({
  method: 'get',
  path: '/skool-sync/runs',
  summary: 'Recent Skool sync runs with their counts (admins)',
  roles: ['ADMIN'],
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }) },
  responses: { 200: okBody('Newest first', z.array(Run)) },
});

export const admin = createApp()
  .openapi(startRoute, async (c) => {
    const { runId, startedAt } = await startSkoolSync(c.env, c.var.db, 'admin', new URL(c.req.url).origin);
    return c.json(ok({ runId, startedAt: startedAt.toISOString() }), 202);
  })
  .openapi(runsRoute, async (c) => {
    const rows = await c.var.db.select().from(skoolSyncRuns).orderBy(desc(skoolSyncRuns.startedAt)).limit(c.req.valid('query').limit).all();
    return c.json(
      ok(
        rows.map(({ applyingAt: _lease, ...r }) => ({
          ...r,
          startedAt: r.startedAt.toISOString(),
          finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
        })),
      ),
      200,
    );
  });
