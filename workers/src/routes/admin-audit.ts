/**
 * The staff console's Audit log (admins only): read and filter, newest first, a page at a time. The log
 * is append-only: no route updates or deletes a row (lib/audit.ts writes it, in the batch of each change).
 */
import { z } from '@hono/zod-openapi';
import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { auditLog, users } from '../db/schema';
import { CursorQuery, decodeCursor, pageOf, pageSchema } from '../lib/cursor';
import { ok } from '../lib/errors';
import { authRoute, createApp, Id, limitQuery, okBody } from '../lib/openapi';

const Person = z.object({ id: z.string(), displayName: z.string().nullable(), email: z.string().nullable() });

const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string().datetime(),
    action: z.string(),
    actor: Person.nullable().openapi({ description: 'Null: the system (the cron, the sync); a gone account keeps its id, without a name' }),
    target: z.object({ type: z.string(), id: z.string(), displayName: z.string().nullable().openapi({ description: 'For a user target' }) }),
    reason: z.string().nullable(),
    before: z.record(z.string(), z.unknown()).nullable(),
    after: z.record(z.string(), z.unknown()).nullable(),
    requestId: z.string().nullable(),
  })
  .openapi('AuditEntry');

const AuditQuery = z
  .object({
    actorId: Id.optional(),
    action: z.string().trim().min(1).max(64).optional().openapi({ description: 'Exact, e.g. user.set-tier' }),
    targetType: z.string().trim().min(1).max(32).optional(),
    targetId: Id.optional(),
    since: z.string().datetime().optional().openapi({ description: 'At or after this instant' }),
    until: z.string().datetime().optional().openapi({ description: 'Before this instant' }),
    cursor: CursorQuery,
    limit: limitQuery(100, 50, 'At most this many (1 to 100), newest first'),
  })
  .refine((q) => !q.since || !q.until || q.since < q.until, { message: 'since must come before until', path: ['until'] });

const listRoute = authRoute({
  method: 'get',
  path: '/audit',
  summary: 'The audit log, newest first, filtered by actor, action, target or time, a page at a time (admins)',
  roles: ['ADMIN'],
  request: { query: AuditQuery },
  responses: { 200: okBody('One page, newest first', pageSchema(AuditEntry)) },
});

const actor = alias(users, 'actor');
const target = alias(users, 'target');

export const adminAudit = createApp().openapi(listRoute, async (c) => {
  const q = c.req.valid('query');
  const where: SQL[] = [];
  if (q.actorId) where.push(eq(auditLog.actorId, q.actorId));
  if (q.action) where.push(eq(auditLog.action, q.action));
  if (q.targetType) where.push(eq(auditLog.targetType, q.targetType));
  if (q.targetId) where.push(eq(auditLog.targetId, q.targetId));
  if (q.since) where.push(gte(auditLog.at, new Date(q.since)));
  if (q.until) where.push(lt(auditLog.at, new Date(q.until)));
  if (q.cursor) {
    // Newest first by (at, id): the next page is what sorts after the last row.
    const [at, id] = decodeCursor(q.cursor, ['number', 'string']);
    const after = or(lt(auditLog.at, new Date(at)), and(eq(auditLog.at, new Date(at)), lt(auditLog.id, id)));
    if (after) where.push(after);
  }
  const rows = await c.var.db
    .select({ row: auditLog, actorName: actor.displayName, actorEmail: actor.email, targetName: target.displayName })
    .from(auditLog)
    .leftJoin(actor, eq(actor.id, auditLog.actorId))
    .leftJoin(target, and(eq(auditLog.targetType, 'user'), eq(target.id, auditLog.targetId)))
    .where(and(...where))
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(q.limit + 1)
    .all();
  const page = pageOf(rows, q.limit, ({ row }) => [row.at.getTime(), row.id]);
  return c.json(
    ok({
      items: page.items.map(({ row, actorName, actorEmail, targetName }) => ({
        id: row.id,
        at: row.at.toISOString(),
        action: row.action,
        actor: row.actorId ? { id: row.actorId, displayName: actorName, email: actorEmail } : null,
        target: { type: row.targetType, id: row.targetId, displayName: targetName },
        reason: row.reason,
        before: row.before,
        after: row.after,
        requestId: row.requestId,
      })),
      nextCursor: page.nextCursor,
    }),
    200,
  );
});
