/**
 * Crisis flags (issue 16): the follow-up of a session in which the client talked of self-harm or crisis.
 * Coaches and admins see every flag (open ones first, with the dashboard's figures; the resolved ones a page
 * at a time, with who resolved each, when and how), and move one on:
 * acknowledge (and own it), resolve it with a note of what was done (its owner or an admin), reopen it.
 * Each change is one batch: the flag (guarded by its version), its `crisis_flag_events` row and its audit
 * log row; then the signed-in coaches' portals hear of it (the staff desk).
 */
import { z } from '@hono/zod-openapi';
import {
  ACK_WINDOW_MS,
  FLAG_ACTIONS,
  FLAG_NOTE_MAX,
  FLAG_STATES,
  type FlagState,
  flagFigures,
  flagStateFor,
  mayChangeFlag,
  nextFlagState,
  type StaffFlagAction,
} from '@hybrid-coach/shared/crisis-flags';
import { log } from '@hybrid-coach/shared/log';
import { and, asc, count, desc, eq, gte, inArray, lt, min, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Context } from 'hono';
import type { AppEnv, AuthUser } from '../app-env';
import { type Db, isUniqueViolation } from '../db/client';
import { coachingSessions, crisisFlagEvents, crisisFlags, users } from '../db/schema';
import { auditInsert } from '../lib/audit';
import { alertStaff, FLAG_ALERT_REASON, hasCoached } from '../lib/crisis-flags';
import { CursorQuery, decodeCursor, pageOf, pageSchema } from '../lib/cursor';
import { AppError, ok } from '../lib/errors';
import { authRoute, COACHES, createApp, Id, jsonBody, limitQuery, okBody } from '../lib/openapi';

const iso = z.string().datetime();
const Person = z.object({ id: z.string(), name: z.string() });

const Flag = z
  .object({
    sessionId: z.string(),
    clientId: z.string(),
    clientName: z.string(),
    reason: z.string().openapi({
      description: `What raised it: the words the client said that matched the crisis rules, for a reader who may read the transcript; otherwise "${FLAG_ALERT_REASON}"`,
    }),
    state: z.enum(FLAG_STATES),
    raisedAt: iso,
    owner: Person.nullable().openapi({ description: 'The coach (or admin) who acknowledged it and owns the follow-up; null while open' }),
    acknowledgedAt: iso.nullable(),
    resolvedAt: iso.nullable(),
    resolutionNote: z.string().nullable().openapi({ description: 'What was done; null unless the reader may read the transcript' }),
    mayReadTranscript: z.boolean().openapi({ description: 'The owner, admins, and coaches who have had a session or appointment with the client' }),
  })
  .openapi('CrisisFlag');

const FlagEventOut = z
  .object({
    action: z.enum(FLAG_ACTIONS),
    at: iso,
    actor: Person.nullable().openapi({ description: 'null: raised by the system' }),
    fromState: z.enum(FLAG_STATES).nullable(),
    toState: z.enum(FLAG_STATES),
    note: z.string().nullable().openapi({ description: 'null unless the reader may read the transcript' }),
  })
  .openapi('CrisisFlagEvent');

const Figures = z
  .object({
    open: z.number().int(),
    oldestOpenAgeMs: z.number().nullable().openapi({ description: 'How long the oldest open flag has waited; null when none is open' }),
    medianAckMs: z.number().nullable().openapi({ description: 'Median time from raise to first acknowledgement, over the last 30 days' }),
    acknowledgedIn30Days: z.number().int(),
  })
  .openapi('CrisisFlagFigures');

const SessionParams = z.object({ sessionId: Id });

const ResolvedFlag = Flag.extend({
  resolvedAt: iso,
  resolvedBy: Person.nullable().openapi({ description: 'Who resolved it (its owner, or an admin); null if that account is gone' }),
}).openapi('ResolvedCrisisFlag');

const FLAG_LISTS = ['active', 'open', 'resolved', 'all'] as const;

const listRoute = authRoute({
  method: 'get',
  path: '/',
  roles: COACHES,
  summary: 'Crisis flags, open ones first, with the dashboard’s figures (coaches and admins)',
  request: {
    query: z.object({
      state: z.enum(FLAG_LISTS).default('active').openapi({ description: 'active (the default): open and acknowledged; open; resolved; all' }),
      limit: limitQuery(200, 50),
    }),
  },
  responses: { 200: okBody('The flags and the figures', z.object({ figures: Figures, flags: z.array(Flag) })) },
});

const detailRoute = authRoute({
  method: 'get',
  path: '/{sessionId}',
  roles: COACHES,
  summary: 'One session’s crisis flag with its history (who changed it, when)',
  errors: ['NOT_FOUND'],
  request: { params: SessionParams },
  responses: { 200: okBody('The flag', Flag.extend({ events: z.array(FlagEventOut) }).openapi('CrisisFlagDetail')) },
});

const resolvedRoute = authRoute({
  method: 'get',
  path: '/resolved',
  roles: COACHES,
  summary: 'Resolved crisis flags, the most recently resolved first, a page at a time: who resolved each, when, and the note (coaches and admins)',
  request: { query: z.object({ cursor: CursorQuery, limit: limitQuery(50, 20, 'At most this many (1 to 50)') }) },
  responses: { 200: okBody('One page, the most recently resolved first', pageSchema(ResolvedFlag)) },
});

/** How every change answers and fails: only the request (params, body) differs. */
const change = {
  method: 'post',
  roles: COACHES,
  errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  responses: { 200: okBody('The flag as it is now', Flag) },
} as const;

const note = z.string().trim().min(1).max(FLAG_NOTE_MAX);
const ResolveBody = z
  .object({ note: note.openapi({ description: 'What was done (required)' }) })
  .strict()
  .openapi('ResolveFlagRequest');
const ReopenBody = z
  .object({ note: note.optional().openapi({ description: 'Why it is open again' }) })
  .strict()
  .openapi('ReopenFlagRequest');

const acknowledgeRoute = authRoute({
  ...change,
  path: '/{sessionId}/acknowledge',
  summary: 'Acknowledge an open flag: the caller owns its follow-up (coaches and admins)',
  request: { params: SessionParams },
});
const resolveRoute = authRoute({
  ...change,
  path: '/{sessionId}/resolve',
  summary: 'Resolve an acknowledged flag with a note of what was done (its owner, or an admin)',
  request: { params: SessionParams, body: jsonBody(ResolveBody) },
});
const reopenRoute = authRoute({
  ...change,
  path: '/{sessionId}/reopen',
  summary: 'Reopen a resolved flag: open again, owned by no one (coaches and admins)',
  request: { params: SessionParams, body: jsonBody(ReopenBody) },
});

const owners = alias(users, 'flag_owner');
const toIso = (d: Date | null) => (d ? d.toISOString() : null);

/** Flags with their client and owner, and whether `user` may read the session's transcript. */
const flagRows = (db: Db, user: AuthUser) =>
  db
    .select({
      flag: crisisFlags,
      clientId: coachingSessions.clientId,
      clientName: users.displayName,
      ownerName: owners.displayName,
      coached: user.role === 'ADMIN' ? sql<number>`1` : sql<number>`${hasCoached(db, user.id, coachingSessions.clientId)}`,
    })
    .from(crisisFlags)
    .innerJoin(coachingSessions, eq(coachingSessions.id, crisisFlags.sessionId))
    .leftJoin(users, eq(users.id, coachingSessions.clientId))
    .leftJoin(owners, eq(owners.id, crisisFlags.ownerId));
type FlagRow = Awaited<ReturnType<ReturnType<typeof flagRows>['all']>>[number];

const mayRead = (user: AuthUser, r: FlagRow) => user.role === 'ADMIN' || r.flag.ownerId === user.id || Boolean(r.coached);

const flagOut = (user: AuthUser, r: FlagRow): z.infer<typeof Flag> => ({
  sessionId: r.flag.sessionId,
  clientId: r.clientId,
  clientName: r.clientName ?? '',
  reason: mayRead(user, r) ? r.flag.reason : FLAG_ALERT_REASON,
  state: r.flag.state,
  raisedAt: r.flag.raisedAt.toISOString(),
  owner: r.flag.ownerId ? { id: r.flag.ownerId, name: r.ownerName ?? '' } : null,
  acknowledgedAt: toIso(r.flag.acknowledgedAt),
  resolvedAt: toIso(r.flag.resolvedAt),
  resolutionNote: mayRead(user, r) ? r.flag.resolutionNote : null,
  mayReadTranscript: mayRead(user, r),
});

async function loadFlag(db: Db, user: AuthUser, sessionId: string): Promise<FlagRow> {
  const row = await flagRows(db, user).where(eq(crisisFlags.sessionId, sessionId)).get();
  if (!row) throw new AppError('NOT_FOUND', 'This session has no crisis flag');
  return row;
}

/** The dashboard's figures, from two aggregate reads. */
async function figures(db: Db, now: Date) {
  const firstAck = sql<number>`min(${crisisFlagEvents.at})`;
  const [open, acks] = await Promise.all([
    db
      .select({ count: count(), oldest: min(crisisFlags.raisedAt) })
      .from(crisisFlags)
      .where(eq(crisisFlags.state, 'OPEN'))
      .get(),
    db
      .select({ raisedAt: crisisFlags.raisedAt, acknowledgedAt: firstAck })
      .from(crisisFlags)
      .innerJoin(crisisFlagEvents, and(eq(crisisFlagEvents.sessionId, crisisFlags.sessionId), eq(crisisFlagEvents.action, 'acknowledge')))
      // A flag acknowledged within the window was raised at most a little before it: bounds the scan.
      .where(gte(crisisFlagEvents.at, new Date(now.getTime() - ACK_WINDOW_MS)))
      .groupBy(crisisFlags.sessionId)
      .limit(10_000)
      .all(),
  ]);
  const oldest = open?.oldest ?? null;
  return flagFigures(
    { count: open?.count ?? 0, oldestRaisedAt: oldest === null ? null : new Date(oldest).getTime() },
    acks.map((a) => ({ raisedAt: a.raisedAt.getTime(), acknowledgedAt: Number(a.acknowledgedAt) })),
    now.getTime(),
  );
}

const STATE_WORDS: Record<FlagState, string> = { OPEN: 'open', ACKNOWLEDGED: 'acknowledged', RESOLVED: 'resolved' };

/**
 * Moves a flag on by `action` in one batch: the flag (only from the version read), its event (seq = the
 * new version: of two changes made at once, the second breaks the unique (session, seq) and is refused
 * whole, 409) and the audit log row; then the staff desk hears of it.
 */
async function changeFlag(c: Context<AppEnv>, action: StaffFlagAction, sessionId: string, note: string | null) {
  const user = c.get('user');
  const db = c.var.db;
  const row = await loadFlag(db, user, sessionId);
  const { flag } = row;
  const to = nextFlagState(action, flag.state);
  if (!to)
    throw new AppError(
      'CONFLICT',
      `This flag is ${STATE_WORDS[flag.state]}: it can be ${action === 'reopen' ? 'reopened' : `${action}d`} only when ${STATE_WORDS[flagStateFor(action)]}`,
    );
  if (!mayChangeFlag(action, user, flag.ownerId)) {
    throw new AppError('FORBIDDEN', `Only ${row.ownerName ?? 'the coach who acknowledged it'}, who owns this flag, or an admin can resolve it`);
  }
  const now = new Date();
  const version = flag.version + 1;
  const set =
    action === 'acknowledge'
      ? { ownerId: user.id, acknowledgedAt: now }
      : action === 'resolve'
        ? { resolvedAt: now, resolutionNote: note }
        : { ownerId: null, acknowledgedAt: null, resolvedAt: null, resolutionNote: null };
  try {
    await db.batch([
      db
        .update(crisisFlags)
        .set({ ...set, state: to, version, updatedAt: now })
        .where(and(eq(crisisFlags.sessionId, sessionId), eq(crisisFlags.version, flag.version))),
      db.insert(crisisFlagEvents).values({ sessionId, seq: version, at: now, actorId: user.id, action, fromState: flag.state, toState: to, note }),
      auditInsert(db, {
        actorId: user.id,
        action: `flag.${action}`,
        target: { type: 'session', id: sessionId },
        reason: note,
        before: { state: flag.state, ownerId: flag.ownerId },
        after: { state: to, ownerId: action === 'acknowledge' ? user.id : action === 'reopen' ? null : flag.ownerId },
        requestId: c.get('requestId'),
        at: now,
      }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'Someone changed this flag at the same moment: look again');
    throw err;
  }
  log('info', 'crisis flag changed', { requestId: c.get('requestId'), userId: user.id, sessionId, action, from: flag.state, to });
  const changed = await loadFlag(db, user, sessionId);
  await alertStaff(
    c.env,
    {
      type: 'flag',
      action,
      sessionId,
      clientName: changed.clientName ?? '',
      // Every signed-in coach hears this: no quote (a portal that may read it fetches the flag).
      reason: FLAG_ALERT_REASON,
      state: changed.flag.state,
      raisedAt: changed.flag.raisedAt.getTime(),
      owner: changed.flag.ownerId ? { id: changed.flag.ownerId, name: changed.ownerName ?? '' } : null,
      at: now.getTime(),
      actor: { id: user.id, name: user.displayName },
    },
    c.get('requestId'),
  );
  return flagOut(user, changed);
}

const eventActors = alias(users, 'event_actor');

export const flags = createApp()
  .openapi(listRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const { state, limit } = c.req.valid('query');
    const which =
      state === 'active'
        ? inArray(crisisFlags.state, ['OPEN', 'ACKNOWLEDGED'])
        : state === 'all'
          ? undefined
          : eq(crisisFlags.state, state === 'open' ? 'OPEN' : 'RESOLVED');
    const rank = sql`CASE ${crisisFlags.state} WHEN 'OPEN' THEN 0 WHEN 'ACKNOWLEDGED' THEN 1 ELSE 2 END`;
    const now = new Date();
    const [rows, figs] = await Promise.all([flagRows(db, user).where(which).orderBy(rank, desc(crisisFlags.raisedAt)).limit(limit).all(), figures(db, now)]);
    return c.json(ok({ figures: figs, flags: rows.map((r) => flagOut(user, r)) }), 200);
  })
  .openapi(resolvedRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const { cursor, limit } = c.req.valid('query');
    const where = [eq(crisisFlags.state, 'RESOLVED')];
    if (cursor) {
      // The most recently resolved first, by (resolvedAt, sessionId): the next page is what sorts after the last row.
      const [at, id] = decodeCursor(cursor, ['number', 'string']);
      const after = or(lt(crisisFlags.resolvedAt, new Date(at)), and(eq(crisisFlags.resolvedAt, new Date(at)), lt(crisisFlags.sessionId, id)));
      if (after) where.push(after);
    }
    const rows = await flagRows(db, user)
      .where(and(...where))
      .orderBy(desc(crisisFlags.resolvedAt), desc(crisisFlags.sessionId))
      .limit(limit + 1)
      .all();
    const page = pageOf(rows, limit, (r) => [r.flag.resolvedAt?.getTime() ?? 0, r.flag.sessionId]);
    // Who resolved each: the actor of its latest event (seq = its version), which for a resolved flag is the resolve.
    const ids = page.items.map((r) => r.flag.sessionId);
    const resolvers =
      ids.length === 0
        ? []
        : await db
            .select({ sessionId: crisisFlagEvents.sessionId, actorId: crisisFlagEvents.actorId, actorName: eventActors.displayName })
            .from(crisisFlagEvents)
            .innerJoin(crisisFlags, and(eq(crisisFlags.sessionId, crisisFlagEvents.sessionId), eq(crisisFlags.version, crisisFlagEvents.seq)))
            .leftJoin(eventActors, eq(eventActors.id, crisisFlagEvents.actorId))
            .where(and(inArray(crisisFlagEvents.sessionId, ids), eq(crisisFlagEvents.action, 'resolve')))
            .all();
    const by = new Map(resolvers.map((r) => [r.sessionId, r.actorId ? { id: r.actorId, name: r.actorName ?? '' } : null]));
    return c.json(
      ok({
        items: page.items.map((r) => ({
          ...flagOut(user, r),
          resolvedAt: (r.flag.resolvedAt ?? r.flag.updatedAt).toISOString(),
          resolvedBy: by.get(r.flag.sessionId) ?? null,
        })),
        nextCursor: page.nextCursor,
      }),
      200,
    );
  })
  .openapi(detailRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const { sessionId } = c.req.valid('param');
    const row = await loadFlag(db, user, sessionId);
    const events = await db
      .select({ event: crisisFlagEvents, actorName: eventActors.displayName })
      .from(crisisFlagEvents)
      .leftJoin(eventActors, eq(eventActors.id, crisisFlagEvents.actorId))
      .where(eq(crisisFlagEvents.sessionId, sessionId))
      .orderBy(asc(crisisFlagEvents.seq))
      .limit(500)
      .all();
    const notes = mayRead(user, row);
    return c.json(
      ok({
        ...flagOut(user, row),
        events: events.map(({ event: e, actorName }) => ({
          action: e.action,
          at: e.at.toISOString(),
          actor: e.actorId ? { id: e.actorId, name: actorName ?? '' } : null,
          fromState: e.fromState,
          toState: e.toState,
          note: notes ? e.note : null,
        })),
      }),
      200,
    );
  })
  .openapi(acknowledgeRoute, async (c) => c.json(ok(await changeFlag(c, 'acknowledge', c.req.valid('param').sessionId, null)), 200))
  .openapi(resolveRoute, async (c) => c.json(ok(await changeFlag(c, 'resolve', c.req.valid('param').sessionId, c.req.valid('json').note)), 200))
  .openapi(reopenRoute, async (c) => c.json(ok(await changeFlag(c, 'reopen', c.req.valid('param').sessionId, c.req.valid('json').note ?? null)), 200));
