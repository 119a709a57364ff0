import { z } from '@hono/zod-openapi';
import { TIERS } from '@hybrid-coach/shared/tiers';
import type { SQL } from 'drizzle-orm';
import { and, asc, desc, eq, isNotNull, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { coachingSessions, MESSAGE_KINDS, messages, sessionRatings, users } from '../db/schema';
import { auditInsert } from '../lib/audit';
import { inFlagCircle } from '../lib/crisis-flags';
import { AppError, ok } from '../lib/errors';
import { authRoute, createApp, IdParams, jsonBody, limitQuery, okBody } from '../lib/openapi';
import { isCoachLike } from '../lib/rooms';

const iso = z.string().datetime().nullable();

/** A rating's tip: whole US dollars, 1, 3 or 5, or none. */
const Tip = z.union([z.literal(1), z.literal(3), z.literal(5)]).nullable();
const Stars = z.number().int().min(1).max(5);

const SessionRating = z
  .object({
    rating: Stars,
    tip: Tip.openapi({ description: 'Whole US dollars' }),
    comment: z.string().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi('SessionRating');

const RatingBody = z
  .object({
    rating: Stars,
    tip: Tip.default(null).openapi({ description: 'An optional tip in whole US dollars: 1, 3 or 5' }),
    comment: z
      .string()
      .max(2000)
      .optional()
      .transform((v) => (v?.trim() ? v.trim() : null)),
  })
  .strict()
  .openapi('RatingRequest');

const SessionSummary = z
  .object({
    id: z.string(),
    roomName: z.string(),
    clientId: z.string(),
    clientName: z.string(),
    coachId: z.string().nullable(),
    coachName: z.string().nullable().openapi({ description: 'null: the client and the AI alone' }),
    appointmentId: z.string().nullable().openapi({ description: 'The booked appointment this session is for' }),
    status: z.enum(['WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED']),
    tierAtStart: z.enum(['FREE', 'VAGUS_MEMBER', 'PREMIUM']),
    capMinutes: z.number().int().nullable(),
    createdAt: z.string().datetime(),
    startedAt: iso,
    endedAt: iso,
    durationSeconds: z.number().int().nullable(),
    minutesCharged: z.number().int().nullable(),
    endReason: z.string().nullable(),
    aiSummary: z.string().nullable().openapi({ description: 'A short teaser when reportAccess is teaser' }),
    reportAccess: z
      .enum(['full', 'teaser'])
      .openapi({ description: 'teaser: the caller’s tier has no AI reports; summary cut short, transcript withheld once the session is over' }),
    rating: SessionRating.nullable(),
    flag: z
      .object({ at: z.string().datetime(), reason: z.string() })
      .nullable()
      .openapi({ description: 'Coaches only (null for clients): the client talked of self-harm or crisis; a coach should follow up' }),
  })
  .openapi('SessionSummary');

const TranscriptLine = z
  .object({
    id: z.string(),
    speakerIdentity: z.string(),
    speakerRole: z.enum(['client', 'coach', 'ai']),
    text: z.string(),
    heardByAi: z.boolean(),
    kind: z.enum(MESSAGE_KINDS).openapi({ description: 'whisper: a coach’s private instruction to the AI, shown to coaches only' }),
    spokenAt: z.string().datetime(),
  })
  .openapi('TranscriptLine');

/** Lines one session detail carries: many hours of talk; past it the transcript is cut, and transcriptLineCount says so. */
export const MAX_TRANSCRIPT_LINES = 5000;

const SessionDetail = SessionSummary.extend({
  transcript: z.array(TranscriptLine).openapi({ description: `In spoken order, the first ${MAX_TRANSCRIPT_LINES} lines at most` }),
  transcriptLineCount: z.number().int().openapi({ description: 'Lines recorded, also when the transcript itself is withheld' }),
}).openapi('SessionDetail');

const toIso = (d: Date | null) => (d ? d.toISOString() : null);
type SessionRow = typeof coachingSessions.$inferSelect;
type RatingRow = typeof sessionRatings.$inferSelect;

/** Characters of the AI summary a tier without reports sees. */
export const TEASER_CHARS = 140;

/**
 * Clients whose tier (read from D1 for this request) has no AI reports get a teaser of a finished
 * session's report; while a session is live its transcript is theirs in full (they are hearing it).
 */
const accessOf = (user: AuthUser, s: SessionRow): 'full' | 'teaser' =>
  isCoachLike(user) || TIERS[user.tier].limits.aiReportsEnabled || s.status === 'WAITING' || s.status === 'ACTIVE' ? 'full' : 'teaser';

/** The first TEASER_CHARS of the summary, cut at a word, with an ellipsis. */
export function teaserOf(text: string): string {
  if (text.length <= TEASER_CHARS) return text;
  const cut = text.slice(0, TEASER_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${(space > TEASER_CHARS / 2 ? cut.slice(0, space) : cut).replace(/[\s,.;:]+$/, '')}…`;
}

const ratingOut = (r: RatingRow) => ({
  rating: r.rating,
  // The CHECK constraint keeps tip_dollars to these values.
  tip: r.tipDollars as 1 | 3 | 5 | null,
  comment: r.comment,
  createdAt: r.createdAt.toISOString(),
});
const ratingOf = (r: RatingRow | null | undefined) => (r ? ratingOut(r) : null);

interface Row {
  session: SessionRow;
  rating: RatingRow | null;
  clientName: string | null;
  coachName: string | null;
}

const summary = (user: AuthUser, { session: s, rating, clientName, coachName }: Row, access: 'full' | 'teaser') => ({
  id: s.id,
  roomName: s.roomName,
  clientId: s.clientId,
  clientName: clientName ?? '',
  coachId: s.coachId,
  coachName,
  appointmentId: s.appointmentId,
  status: s.status,
  tierAtStart: s.tierAtStart,
  capMinutes: s.capMinutes,
  createdAt: s.createdAt.toISOString(),
  startedAt: toIso(s.startedAt),
  endedAt: toIso(s.endedAt),
  durationSeconds: s.durationSeconds,
  minutesCharged: s.minutesCharged,
  endReason: s.endReason,
  aiSummary: s.aiSummary && access === 'teaser' ? teaserOf(s.aiSummary) : s.aiSummary,
  reportAccess: access,
  rating: ratingOf(rating),
  flag: isCoachLike(user) && s.flaggedAt ? { at: s.flaggedAt.toISOString(), reason: s.flagReason ?? '' } : null,
});

const listRoute = authRoute({
  method: 'get',
  path: '/',
  summary: 'Session history: a client’s own sessions, a coach’s own sessions (admins: all)',
  request: {
    query: z.object({
      limit: limitQuery(100, 50),
      flagged: z
        .enum(['true', 'false'])
        .optional()
        .transform((v) => v === 'true')
        .openapi({ description: 'true: only sessions flagged for follow-up (a coach sees their own; admins all)' }),
    }),
  },
  responses: { 200: okBody('Newest first', z.array(SessionSummary)) },
});

const detailRoute = authRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One session with its transcript lines',
  errors: ['NOT_FOUND'],
  request: { params: IdParams },
  responses: { 200: okBody('The session', SessionDetail) },
});

const ratingRoute = authRoute({
  method: 'post',
  path: '/{id}/rating',
  summary: 'The session’s client rates a completed session (1–5), with an optional tip and comment; once',
  errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  request: { params: IdParams, body: jsonBody(RatingBody) },
  responses: { 201: okBody('Saved', SessionRating) },
});

const coachUsers = alias(users, 'coach_user');
/** A session with its rating and the names of its client and coach. */
const withNames = (db: Db) =>
  db
    .select({ session: coachingSessions, rating: sessionRatings, clientName: users.displayName, coachName: coachUsers.displayName })
    .from(coachingSessions)
    .leftJoin(sessionRatings, eq(sessionRatings.sessionId, coachingSessions.id))
    .leftJoin(users, eq(users.id, coachingSessions.clientId))
    .leftJoin(coachUsers, eq(coachUsers.id, coachingSessions.coachId));

/**
 * Who may see which sessions: admins all (a flagged session the AI had alone is theirs to follow up);
 * coaches the ones they are the coach of, flagged or not, never another coach's (whispers, FREE
 * clients they never met); clients their own.
 */
const visibleTo = (user: AuthUser): SQL | undefined =>
  user.role === 'ADMIN' ? undefined : user.role === 'COACH' ? eq(coachingSessions.coachId, user.id) : eq(coachingSessions.clientId, user.id);

export const sessions = createApp()
  .openapi(listRoute, async (c) => {
    const user = c.get('user');
    const query = c.req.valid('query');
    const rows = await withNames(c.var.db)
      .where(and(visibleTo(user), query.flagged ? isNotNull(coachingSessions.flaggedAt) : undefined))
      .orderBy(desc(coachingSessions.createdAt))
      .limit(query.limit)
      .all();
    return c.json(ok(rows.map((r) => summary(user, r, accessOf(user, r.session)))), 200);
  })
  .openapi(detailRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    // Besides their own, a coach reads a flagged session they own the flag of, or whose client they coach (issue 16).
    const row = await withNames(db)
      .where(and(eq(coachingSessions.id, c.req.valid('param').id), user.role === 'COACH' ? or(visibleTo(user), inFlagCircle(db, user)) : visibleTo(user)))
      .get();
    // Someone else's session is as invisible as one that does not exist.
    if (!row) throw new AppError('NOT_FOUND', 'No such session');
    const { session } = row;
    const access = accessOf(user, session);
    // A coach's whispers to the AI are for coaches' eyes only.
    const shown = and(eq(messages.sessionId, session.id), isCoachLike(user) ? undefined : eq(messages.kind, 'speech'));
    const [lines, lineCount] = await Promise.all([
      access === 'full' ? db.select().from(messages).where(shown).orderBy(asc(messages.spokenAt)).limit(MAX_TRANSCRIPT_LINES).all() : [],
      db.$count(messages, shown),
    ]);
    // Reading a transcript of a session one was not in is on record before it is answered (who, which, when).
    if (access === 'full' && user.id !== session.clientId && user.id !== session.coachId) {
      await auditInsert(db, {
        actorId: user.id,
        action: 'transcript.read',
        target: { type: 'session', id: session.id },
        after: { lines: lines.length, flagged: session.flaggedAt !== null, as: user.role === 'ADMIN' ? 'admin' : 'flag-circle' },
        requestId: c.get('requestId'),
      });
    }
    return c.json(
      ok({
        ...summary(user, row, access),
        transcriptLineCount: lineCount,
        // The full report never leaves the server for a tier without reports.
        transcript: lines.map((m) => ({
          id: m.id,
          speakerIdentity: m.speakerIdentity,
          speakerRole: m.speakerRole,
          text: m.text,
          heardByAi: m.heardByAi,
          kind: m.kind,
          spokenAt: m.spokenAt.toISOString(),
        })),
      }),
      200,
    );
  })
  .openapi(ratingRoute, async (c) => {
    const user = c.get('user');
    const { rating, tip, comment } = c.req.valid('json');
    const db = c.var.db;
    const session = await db
      .select()
      .from(coachingSessions)
      .where(and(eq(coachingSessions.id, c.req.valid('param').id), visibleTo(user)))
      .get();
    if (!session) throw new AppError('NOT_FOUND', 'No such session');
    if (session.clientId !== user.id) throw new AppError('FORBIDDEN', 'Only the session’s client can rate it');
    if (session.status !== 'COMPLETED') throw new AppError('CONFLICT', 'A session can be rated once it has ended');
    // The unique session_id makes "once" the database's rule, also for two requests at the same moment.
    const saved = await db
      .insert(sessionRatings)
      .values({ sessionId: session.id, rating, tipDollars: tip, comment })
      .onConflictDoNothing({ target: sessionRatings.sessionId })
      .returning()
      .get();
    if (!saved) throw new AppError('CONFLICT', 'This session has been rated already');
    return c.json(ok(ratingOut(saved)), 201);
  });
