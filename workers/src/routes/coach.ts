/**
 * What a coach's portal needs beyond sessions and notes: the clients they coach (each with the client
 * data sidebar: profile, session history with summaries) and the sessions live now that they can
 * join. Coaches and admins only.
 */

import { z } from '@hono/zod-openapi';
import { ProfileFacts } from '@hybrid-coach/shared/data-export';
import { describeError, log } from '@hybrid-coach/shared/log';
import { MEMBERSHIP_TIERS } from '@hybrid-coach/shared/tiers';
import { and, desc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AuthUser } from '../app-env';
import { chunked, type Db } from '../db/client';
import { appointments, coachingSessions, profiles, sessionRatings, users } from '../db/schema';
import { profileOf } from '../lib/agent-context';
import { AppError, ok } from '../lib/errors';
import { openProfile } from '../lib/field-crypto';
import { authRoute, COACHES, createApp, Id, limitQuery, okBody } from '../lib/openapi';
import { isCoachLike, sessionRoom } from '../lib/rooms';
import { assertCoaches } from './notes';

const iso = z.string().datetime().nullable();

const ClientListItem = z
  .object({
    id: z.string(),
    displayName: z.string(),
    email: z.string(),
    tier: z.enum(MEMBERSHIP_TIERS),
    sessionCount: z.number().int().openapi({ description: 'All of the client’s sessions, with the AI alone or with a coach' }),
    lastSessionAt: iso,
    nextAppointmentAt: iso.openapi({ description: 'The client’s next appointment with this coach' }),
  })
  .openapi('CoachClient');

const ClientSession = z
  .object({
    id: z.string(),
    status: z.enum(['WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED']),
    createdAt: z.string().datetime(),
    startedAt: iso,
    durationSeconds: z.number().int().nullable(),
    coachId: z.string().nullable(),
    coachName: z.string().nullable().openapi({ description: 'null: the client and the AI alone' }),
    aiSummary: z.string().nullable(),
    rating: z.number().int().nullable(),
    flagged: z.boolean(),
    reviewable: z.boolean().openapi({ description: 'The caller can open its transcript (GET /api/sessions/:id): their own session (admins: every one)' }),
  })
  .openapi('CoachClientSession');

const ClientDetail = z
  .object({
    client: ClientListItem,
    profile: ProfileFacts.extend({ onboardingCompleted: z.boolean() }),
    sessions: z.array(ClientSession).openapi({ description: 'Newest first, at most 50' }),
  })
  .openapi('CoachClientDetail');

const LiveSession = z
  .object({
    sessionId: z.string(),
    clientId: z.string(),
    clientName: z.string(),
    status: z.enum(['WAITING', 'ACTIVE']),
    coachId: z.string().nullable(),
    coachName: z.string().nullable(),
    coachPresent: z.boolean().openapi({ description: 'A coach is in the room now' }),
    aiPresent: z.boolean(),
    clientPresent: z.boolean(),
    startedAt: iso.openapi({ description: 'When the usage timer started (null: not yet)' }),
    capMinutes: z.number().int().nullable(),
    remainingSeconds: z.number().int().nullable().openapi({ description: 'null: no cap' }),
    canJoin: z.boolean().openapi({ description: 'No other coach has taken it' }),
  })
  .openapi('LiveSession');

/** Clients one list answers with (each costs a look at their sessions and appointments). */
export const MAX_CLIENTS = 500;

const listClientsRoute = authRoute({
  method: 'get',
  path: '/clients',
  summary: 'The clients the signed-in coach has had a session or an appointment with (admins: every client with a session)',
  roles: COACHES,
  request: {
    query: z.object({
      limit: limitQuery(MAX_CLIENTS, MAX_CLIENTS, `The first this many by name (at most ${MAX_CLIENTS})`),
    }),
  },
  responses: { 200: okBody('By name', z.array(ClientListItem)) },
});

const clientRoute = authRoute({
  method: 'get',
  path: '/clients/{clientId}',
  summary: 'One of the coach’s clients: profile and session history with summaries (the client data sidebar)',
  roles: COACHES,
  errors: ['NOT_FOUND'],
  request: { params: z.object({ clientId: Id }) },
  responses: { 200: okBody('The client', ClientDetail) },
});

const liveRoute = authRoute({
  method: 'get',
  path: '/live',
  summary: 'Sessions live now that the coach can join: their own, and Premium clients’ sessions no coach has taken',
  roles: COACHES,
  responses: { 200: okBody('Oldest first (who has waited longest), at most 50', z.array(LiveSession)) },
});

const toIso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/**
 * The first `limit` clients by name the coach has coached (a session or an appointment together);
 * admins: every client with a session. Chosen and cut in D1, so a long history costs one page.
 */
async function clientIdsOf(db: Db, user: AuthUser, limit: number): Promise<string[]> {
  const withSession = (coachId?: string) =>
    inArray(
      users.id,
      db
        .select({ id: coachingSessions.clientId })
        .from(coachingSessions)
        .where(coachId ? eq(coachingSessions.coachId, coachId) : undefined),
    );
  const coached =
    user.role === 'ADMIN'
      ? withSession()
      : or(withSession(user.id), inArray(users.id, db.select({ id: appointments.clientId }).from(appointments).where(eq(appointments.coachId, user.id))));
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(coached, isNull(users.deletedAt)))
    .orderBy(sql`${users.displayName} COLLATE NOCASE`, users.id)
    .limit(limit)
    .all();
  return rows.map((r) => r.id);
}

/** The list items for these clients (D1 binds at most 100 parameters a query: chunked). */
async function clientItems(db: Db, user: AuthUser, ids: string[], now: Date): Promise<z.infer<typeof ClientListItem>[]> {
  const items: z.infer<typeof ClientListItem>[] = [];
  for (const chunk of chunked(ids)) {
    const [people, sessions, upcoming] = await Promise.all([
      db
        .select({ id: users.id, displayName: users.displayName, email: users.email, tier: users.membershipTier })
        .from(users)
        .where(and(inArray(users.id, chunk), isNull(users.deletedAt)))
        .all(),
      db
        .select({ clientId: coachingSessions.clientId, createdAt: coachingSessions.createdAt })
        .from(coachingSessions)
        .where(inArray(coachingSessions.clientId, chunk))
        .all(),
      db
        .select({ clientId: appointments.clientId, scheduledFor: appointments.scheduledFor, status: appointments.status, coachId: appointments.coachId })
        .from(appointments)
        .where(and(inArray(appointments.clientId, chunk), eq(appointments.status, 'SCHEDULED')))
        .all(),
    ]);
    for (const p of people) {
      const own = sessions.filter((s) => s.clientId === p.id);
      const last = own.reduce<Date | null>((m, s) => (!m || s.createdAt > m ? s.createdAt : m), null);
      const next = upcoming
        .filter((a) => a.clientId === p.id && a.scheduledFor > now && (user.role === 'ADMIN' || a.coachId === user.id))
        .reduce<Date | null>((m, a) => (!m || a.scheduledFor < m ? a.scheduledFor : m), null);
      items.push({ ...p, sessionCount: own.length, lastSessionAt: toIso(last), nextAppointmentAt: toIso(next) });
    }
  }
  return items.sort((a, b) => a.displayName.localeCompare(b.displayName));
}

const coachUsers = alias(users, 'coach_user');

export const coach = createApp()
  .openapi(listClientsRoute, async (c) => {
    const db = c.var.db;
    const user = c.get('user');
    return c.json(ok(await clientItems(db, user, await clientIdsOf(db, user, c.req.valid('query').limit), new Date())), 200);
  })
  .openapi(clientRoute, async (c) => {
    const db = c.var.db;
    const user = c.get('user');
    const { clientId } = c.req.valid('param');
    // Someone the coach has never coached is as unknown as no one (404).
    await assertCoaches(db, user, clientId);
    const [[client], profile, rows] = await Promise.all([
      clientItems(db, user, [clientId], new Date()),
      db.select().from(profiles).where(eq(profiles.userId, clientId)).get(),
      db
        .select({ session: coachingSessions, coachName: coachUsers.displayName, rating: sessionRatings.rating })
        .from(coachingSessions)
        .leftJoin(coachUsers, eq(coachUsers.id, coachingSessions.coachId))
        .leftJoin(sessionRatings, eq(sessionRatings.sessionId, coachingSessions.id))
        .where(eq(coachingSessions.clientId, clientId))
        .orderBy(desc(coachingSessions.createdAt))
        .limit(50)
        .all(),
    ]);
    // A deleted account is gone from the coach's list too.
    if (!client) throw new AppError('NOT_FOUND', 'No such client among yours');
    return c.json(
      ok({
        client,
        profile: profileOf(await openProfile(c.env, profile)),
        sessions: rows.map(({ session: s, coachName, rating }) => ({
          id: s.id,
          status: s.status,
          createdAt: s.createdAt.toISOString(),
          startedAt: toIso(s.startedAt),
          durationSeconds: s.durationSeconds,
          coachId: s.coachId,
          coachName: coachName ?? null,
          aiSummary: s.aiSummary,
          rating: rating ?? null,
          flagged: s.flaggedAt !== null,
          reviewable: user.role === 'ADMIN' || s.coachId === user.id,
        })),
      }),
      200,
    );
  })
  .openapi(liveRoute, async (c) => {
    const db = c.var.db;
    const user = c.get('user');
    const clientUsers = alias(users, 'client_user');
    const rows = await db
      .select({ session: coachingSessions, clientName: clientUsers.displayName, clientTier: clientUsers.membershipTier, coachName: coachUsers.displayName })
      .from(coachingSessions)
      .innerJoin(clientUsers, eq(clientUsers.id, coachingSessions.clientId))
      .leftJoin(coachUsers, eq(coachUsers.id, coachingSessions.coachId))
      .where(
        and(
          inArray(coachingSessions.status, ['WAITING', 'ACTIVE']),
          user.role === 'ADMIN'
            ? undefined
            : // The coach's own; and Premium clients' sessions no coach has taken (human coaches join Premium only).
              or(eq(coachingSessions.coachId, user.id), and(isNull(coachingSessions.coachId), eq(clientUsers.membershipTier, 'PREMIUM'))),
        ),
      )
      .orderBy(coachingSessions.createdAt)
      .limit(50)
      .all();
    const live = await Promise.all(
      rows.map(async ({ session: s, clientName, coachName }) => {
        // The room's own object knows who is in it and the timer; D1 knows the rest.
        const state = await sessionRoom(c.env, s.id)
          .getState()
          .catch((err: unknown) => {
            log('warn', 'live sessions: room state unavailable', { requestId: c.get('requestId'), sessionId: s.id, ...describeError(err) });
            return null;
          });
        if (state && state.status === 'COMPLETED') return null;
        const present = (role: string) => state?.participants.some((p) => p.role === role) ?? false;
        return {
          sessionId: s.id,
          clientId: s.clientId,
          clientName,
          status: (state?.status ?? s.status) as 'WAITING' | 'ACTIVE',
          coachId: s.coachId,
          coachName: coachName ?? null,
          coachPresent: present('coach'),
          aiPresent: present('ai'),
          clientPresent: present('client'),
          startedAt: state?.timer.startedAt ? new Date(state.timer.startedAt).toISOString() : toIso(s.startedAt),
          capMinutes: s.capMinutes,
          remainingSeconds: state?.timer.remainingSeconds ?? (s.capMinutes !== null ? s.capMinutes * 60 : null),
          canJoin: isCoachLike(user) && (s.coachId === null || s.coachId === user.id),
        };
      }),
    );
    return c.json(ok(live.filter((s) => s !== null)), 200);
  });
