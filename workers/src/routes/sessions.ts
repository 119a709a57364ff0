import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { db as openDb } from '../db/client';
import { coachingSessions, messages } from '../db/schema';
import { AppError, errorResponses, ok, okSchema } from '../lib/errors';
import { bearerSecurity, createApp, json } from '../lib/openapi';
import { isCoachLike } from '../lib/rooms';
import { requireAuth } from '../lib/session';

const iso = z.string().datetime().nullable();

const SessionSummary = z
  .object({
    id: z.string(),
    roomName: z.string(),
    clientId: z.string(),
    coachId: z.string().nullable(),
    status: z.enum(['WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED']),
    tierAtStart: z.enum(['FREE', 'VAGUS_MEMBER', 'PREMIUM']),
    capMinutes: z.number().int().nullable(),
    createdAt: z.string().datetime(),
    startedAt: iso,
    endedAt: iso,
    durationSeconds: z.number().int().nullable(),
    minutesCharged: z.number().int().nullable(),
    endReason: z.string().nullable(),
    aiSummary: z.string().nullable(),
  })
  .openapi('SessionSummary');

const TranscriptLine = z
  .object({
    id: z.string(),
    speakerIdentity: z.string(),
    speakerRole: z.enum(['client', 'coach', 'ai']),
    text: z.string(),
    heardByAi: z.boolean(),
    spokenAt: z.string().datetime(),
  })
  .openapi('TranscriptLine');

const SessionDetail = SessionSummary.extend({ transcript: z.array(TranscriptLine) }).openapi('SessionDetail');

const toIso = (d: Date | null) => (d ? d.toISOString() : null);
const summary = (s: typeof coachingSessions.$inferSelect) => ({
  id: s.id,
  roomName: s.roomName,
  clientId: s.clientId,
  coachId: s.coachId,
  status: s.status,
  tierAtStart: s.tierAtStart,
  capMinutes: s.capMinutes,
  createdAt: s.createdAt.toISOString(),
  startedAt: toIso(s.startedAt),
  endedAt: toIso(s.endedAt),
  durationSeconds: s.durationSeconds,
  minutesCharged: s.minutesCharged,
  endReason: s.endReason,
  aiSummary: s.aiSummary,
});

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Session history: a client’s own sessions, a coach’s sessions',
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }) },
  responses: {
    200: { description: 'Newest first', ...json(okSchema(z.array(SessionSummary))) },
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED'),
  },
});

const detailRoute = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One session with its transcript lines',
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { params: z.object({ id: z.string().min(1).max(64) }) },
  responses: {
    200: { description: 'The session', ...json(okSchema(SessionDetail)) },
    ...errorResponses('UNAUTHORIZED', 'NOT_FOUND'),
  },
});

export const sessions = createApp()
  .openapi(listRoute, async (c) => {
    const user = c.get('user');
    const mine: SQL | undefined =
      user.role === 'ADMIN' ? undefined : isCoachLike(user) ? eq(coachingSessions.coachId, user.id) : eq(coachingSessions.clientId, user.id);
    const rows = await openDb(c.env)
      .select()
      .from(coachingSessions)
      .where(mine)
      .orderBy(desc(coachingSessions.createdAt))
      .limit(c.req.valid('query').limit)
      .all();
    return c.json(ok(rows.map(summary)), 200);
  })
  .openapi(detailRoute, async (c) => {
    const user = c.get('user');
    const db = openDb(c.env);
    const owner =
      user.role === 'ADMIN' ? undefined : isCoachLike(user) ? eq(coachingSessions.coachId, user.id) : eq(coachingSessions.clientId, user.id);
    const session = await db
      .select()
      .from(coachingSessions)
      .where(and(eq(coachingSessions.id, c.req.valid('param').id), owner))
      .get();
    // Someone else's session is as invisible as one that does not exist.
    if (!session) throw new AppError('NOT_FOUND', 'No such session');
    const lines = await db.select().from(messages).where(eq(messages.sessionId, session.id)).orderBy(asc(messages.spokenAt)).all();
    return c.json(
      ok({
        ...summary(session),
        transcript: lines.map((m) => ({
          id: m.id,
          speakerIdentity: m.speakerIdentity,
          speakerRole: m.speakerRole,
          text: m.text,
          heardByAi: m.heardByAi,
          spokenAt: m.spokenAt.toISOString(),
        })),
      }),
      200,
    );
  });
