import { z } from '@hono/zod-openapi';
import { describeError, log } from '@hybrid-coach/shared/log';
import type { RoomSnapshot } from '@hybrid-coach/shared/room-events';
import { TIERS } from '@hybrid-coach/shared/tiers';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import type { AppEnv, AuthUser } from '../app-env';
import { type Db, isUniqueViolation } from '../db/client';
import { appointments, coachingSessions, messages, users } from '../db/schema';
import { assertConsented } from '../lib/consent';
import { AppError, ok } from '../lib/errors';
import { assertNoLiveSession } from '../lib/live-session';
import { mintRoomToken, ROOM_DEPARTURE_TIMEOUT_S, ROOM_EMPTY_TIMEOUT_S, ROOM_MAX_PARTICIPANTS, roomNameFor, roomService } from '../lib/livekit';
import { authRoute, createApp, Id, IdParams, jsonBody, okBody } from '../lib/openapi';
import { assertMember, claimMonthlySession, isCoachLike, loadSession, releaseMonthlySession, sessionRoom } from '../lib/rooms';
import { assertCanStartSession } from '../lib/usage';
import { ticketedUpgrade } from '../lib/ws-tickets';

const Params = z.object({ sessionId: Id });

const RoomTicket = z
  .object({
    sessionId: z.string(),
    roomName: z.string(),
    token: z.string().openapi({ description: 'LiveKit access token for this room only, valid 2 hours' }),
    livekitUrl: z.string(),
    capMinutes: z.number().int().nullable(),
    remainingMinutes: z.number().int().nullable(),
  })
  .openapi('RoomTicket');

const JoinTicket = z
  .object({
    sessionId: z.string(),
    roomName: z.string(),
    token: z.string(),
    livekitUrl: z.string(),
    role: z.enum(['client', 'coach']),
  })
  .openapi('JoinTicket');

export const RoomState = z
  .object({
    sessionId: z.string(),
    roomName: z.string(),
    status: z.enum(['WAITING', 'ACTIVE', 'COMPLETED']),
    participants: z.array(
      z.object({
        identity: z.string(),
        name: z.string(),
        role: z.enum(['client', 'coach', 'ai', 'other']),
        joinedAt: z.number().nullable(),
      }),
    ),
    coachMutedFromAi: z.boolean(),
    muteChangedAt: z.number().nullable(),
    muteAppliedByAi: z.boolean(),
    timer: z.object({
      startedAt: z.number().nullable(),
      elapsedSeconds: z.number(),
      capMinutes: z.number().nullable(),
      remainingSeconds: z.number().nullable(),
    }),
    warningsSent: z.array(z.enum(['5min', '1min'])),
    end: z
      .object({
        reason: z.enum(['cap', 'client', 'coach', 'room_finished', 'empty']),
        at: z.number(),
        durationSeconds: z.number(),
        minutes: z.number(),
      })
      .nullable(),
  })
  .openapi('RoomState');

/** The document's RoomState and the live events' RoomSnapshot (shared/src/room-events.ts) are one state: a type error if they drift. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const ROOM_STATE_MATCHES_SNAPSHOT: Same<z.infer<typeof RoomState>, RoomSnapshot> = true;

const createRoomRoute = authRoute({
  method: 'post',
  path: '/',
  summary: 'Start a coaching session (clients): tier check, LiveKit room, AI dispatched, client token',
  description:
    'One live session per client: while one is WAITING or ACTIVE, this answers 409 CONFLICT with `details.sessionId`, to rejoin through POST /api/rooms/{sessionId}/join. A client who has not agreed to the current consent text (GET /api/users/me/consent) gets 403 CONSENT_REQUIRED.',
  roles: ['CLIENT'],
  errors: ['CONSENT_REQUIRED', 'CONFLICT', 'TIER_LIMIT_REACHED', 'SERVICE_UNAVAILABLE'],
  responses: { 201: okBody('Session created', RoomTicket) },
});

/** How long before an appointment its room opens. */
export const APPOINTMENT_ROOM_OPENS_MS = 10 * 60_000;

const appointmentRoomRoute = authRoute({
  method: 'post',
  path: '/appointment/{id}',
  summary: 'The client starts a booked appointment’s session (from 10 minutes before it); its coach is the session’s coach',
  description:
    'As POST /api/rooms, a client with a live session (this appointment’s or another) gets 409 CONFLICT with `details.sessionId` and `details.appointmentId`; without consent to the current text, 403 CONSENT_REQUIRED.',
  roles: ['CLIENT'],
  errors: ['CONSENT_REQUIRED', 'NOT_FOUND', 'CONFLICT', 'TIER_LIMIT_REACHED', 'SERVICE_UNAVAILABLE'],
  request: { params: IdParams },
  responses: { 201: okBody('Session created', RoomTicket) },
});

const joinRoute = authRoute({
  method: 'post',
  path: '/{sessionId}/join',
  summary: 'A token to (re)join: the session’s client, or a coach',
  errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  request: { params: Params },
  responses: { 200: okBody('Join ticket', JoinTicket) },
});

const muteRoute = authRoute({
  method: 'post',
  path: '/{sessionId}/mute-ai',
  summary: 'The coach of the session mutes or unmutes themself from the AI',
  errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  request: { params: Params, body: jsonBody(z.object({ muted: z.boolean() }).openapi('MuteRequest')) },
  responses: { 200: okBody('The new state', RoomState) },
});

const Whisper = z.object({ text: z.string().trim().min(1).max(1000) }).openapi('WhisperRequest');
const WhisperAnswer = z.object({ id: z.string(), text: z.string(), sentAt: z.string().datetime(), deliveredToAi: z.boolean() }).openapi('Whisper');

const whisperRoute = authRoute({
  method: 'post',
  path: '/{sessionId}/whisper',
  summary: 'The coach of the session steers the AI privately: never spoken, shown only to coaches',
  errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT'],
  request: { params: Params, body: jsonBody(Whisper) },
  responses: { 201: okBody('Stored, and on its way to the AI', WhisperAnswer) },
});

const endRoute = authRoute({
  method: 'post',
  path: '/{sessionId}/end',
  summary: 'End the session for everyone (its client or coach)',
  errors: ['FORBIDDEN', 'NOT_FOUND'],
  request: { params: Params },
  responses: { 200: okBody('The final state', RoomState) },
});

const stateRoute = authRoute({
  method: 'get',
  path: '/{sessionId}',
  summary: 'Live state: participants, coach mute, timer, status',
  errors: ['FORBIDDEN', 'NOT_FOUND'],
  request: { params: Params },
  responses: { 200: okBody('Live state', RoomState) },
});

/** How long a WebSocket ticket stays valid: long enough to open the socket, too short to be worth stealing. */
export const WS_TICKET_TTL_MS = 30_000;

/** A WebSocket ticket as the API answers it, for the socket at `socketPath`. */
export const wsTicketSchema = (name: string, socketPath: string) =>
  z
    .object({
      ticket: z.string().openapi({ description: `Single use, for GET ${socketPath}?ticket=…` }),
      expiresAt: z.string().datetime(),
    })
    .openapi(name);

const WsTicket = wsTicketSchema('WsTicket', '/api/rooms/{sessionId}/ws');

const wsTicketRoute = authRoute({
  method: 'post',
  path: '/{sessionId}/ws-ticket',
  summary: 'A single-use ticket, valid 30 seconds, to open the session’s live events WebSocket (its client, its coach, or an admin)',
  errors: ['FORBIDDEN', 'NOT_FOUND'],
  request: { params: Params },
  responses: { 201: okBody('The ticket', WsTicket) },
});

/**
 * A new session for the signed-in client: no other live session, tier check, the session row, the
 * LiveKit room, the AI dispatched; for a booked appointment, its coach is the session's coach.
 */
async function startSession(c: Context<AppEnv>, booked: { coachId?: string; appointmentId?: string }) {
  const user = c.get('user');
  const db = c.var.db;
  const now = new Date();
  // No session without the client's agreement to what is recorded (before anything else is looked at).
  await assertConsented(db, user.id);
  // Before the tier check: a client who has a session under way is sent back to it, whatever the month says.
  await assertNoLiveSession(c.env, db, user.id);
  const { tier, capMinutes, usage } = await assertCanStartSession(db, user.id, now);
  if (!(await claimMonthlySession(db, user.id, now))) {
    // Lost a race with another start: the month is used up after all.
    await assertCanStartSession(db, user.id, now);
    throw new AppError('CONFLICT', 'Another session was started at the same moment');
  }
  const sessionId = crypto.randomUUID();
  const roomName = roomNameFor(sessionId);
  // The row first, so that of two starts at once only one creates a room and dispatches an AI job.
  try {
    await db.insert(coachingSessions).values({
      id: sessionId,
      roomName,
      clientId: user.id,
      tierAtStart: tier,
      capMinutes,
      coachId: booked.coachId ?? null,
      appointmentId: booked.appointmentId ?? null,
    });
  } catch (err) {
    await releaseMonthlySession(db, user.id);
    if (!isUniqueViolation(err)) throw err;
    await assertNoLiveSession(c.env, db, user.id);
    throw new AppError('CONFLICT', 'Another session was started at the same moment');
  }
  /** Takes the start back: no row, the month's session returned. */
  const undo = async () => {
    await db.delete(coachingSessions).where(eq(coachingSessions.id, sessionId));
    await releaseMonthlySession(db, user.id);
  };
  try {
    await roomService(c.env).createRoom({
      name: roomName,
      emptyTimeout: ROOM_EMPTY_TIMEOUT_S,
      departureTimeout: ROOM_DEPARTURE_TIMEOUT_S,
      maxParticipants: ROOM_MAX_PARTICIPANTS,
      metadata: JSON.stringify({ sessionId }),
    });
  } catch (err) {
    await undo();
    log('error', 'livekit createRoom failed', { requestId: c.get('requestId'), userId: user.id, ...describeError(err) });
    throw new AppError('SERVICE_UNAVAILABLE', 'The call service is not answering. Please try again in a moment.');
  }
  try {
    // The object dispatches the AI agent (and retries until LiveKit takes it).
    await sessionRoom(c.env, sessionId).init({ sessionId, roomName, clientId: user.id, tier, capMinutes });
    // A booked session's coach is the appointment's coach.
    if (booked.coachId) await sessionRoom(c.env, sessionId).setCoach(booked.coachId);
  } catch (err) {
    // Nothing would ever end a session whose object is not set up: it must not stay live.
    await undo();
    await roomService(c.env)
      .deleteRoom(roomName)
      .catch(() => undefined);
    throw err;
  }
  const token = await mintRoomToken(c.env, { roomName, identity: user.id, name: user.displayName, role: 'client' });
  log('info', 'session created', { requestId: c.get('requestId'), userId: user.id, sessionId });
  return { sessionId, roomName, token, livekitUrl: c.env.LIVEKIT_URL, capMinutes, remainingMinutes: usage.remainingMinutes };
}

/** The session, if `user` is the coach in it and it has not ended: 403 for anyone else, 409 once it has ended. */
async function liveSessionOfCoach(db: Db, user: AuthUser, sessionId: string, toDo: string) {
  const session = await loadSession(db, sessionId);
  if (!isCoachLike(user) || session.coachId !== user.id) throw new AppError('FORBIDDEN', `Only the coach in this session can ${toDo}`);
  if (session.status === 'COMPLETED' || session.status === 'CANCELLED') throw new AppError('CONFLICT', 'This session has ended');
  return session;
}

/** The session, for its client, its coach, or an admin (403 for anyone else). */
async function sessionSeenBy(db: Db, user: AuthUser, sessionId: string) {
  const session = await loadSession(db, sessionId);
  if (user.role !== 'ADMIN') assertMember(user, session);
  return session;
}

export const rooms = createApp()
  .openapi(createRoomRoute, async (c) => c.json(ok(await startSession(c, {})), 201))
  .openapi(appointmentRoomRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const appointment = await db
      .select()
      .from(appointments)
      .where(eq(appointments.id, c.req.valid('param').id))
      .get();
    if (!appointment || appointment.clientId !== user.id) throw new AppError('NOT_FOUND', 'No such appointment');
    await assertConsented(db, user.id);
    const now = Date.now();
    const opensAt = appointment.scheduledFor.getTime() - APPOINTMENT_ROOM_OPENS_MS;
    const closesAt = appointment.scheduledFor.getTime() + appointment.durationMinutes * 60_000;
    if (now < opensAt) {
      throw new AppError('CONFLICT', `The room opens 10 minutes before the appointment`, { details: { opensAt: new Date(opensAt).toISOString() } });
    }
    if (now >= closesAt) throw new AppError('CONFLICT', 'This appointment’s time has passed');
    // One live session per client: this appointment's own (started a moment ago) or any other is rejoined instead.
    await assertNoLiveSession(c.env, db, user.id);
    // Once: the first start takes the appointment (a second one rejoins through /join).
    const taken = await db
      .update(appointments)
      .set({ status: 'ACTIVE' })
      .where(and(eq(appointments.id, appointment.id), eq(appointments.status, 'SCHEDULED')))
      .returning({ id: appointments.id })
      .get();
    if (!taken) throw new AppError('CONFLICT', `This appointment is ${appointment.status.toLowerCase()}`);
    try {
      return c.json(ok(await startSession(c, { coachId: appointment.coachId, appointmentId: appointment.id })), 201);
    } catch (err) {
      await db.update(appointments).set({ status: 'SCHEDULED' }).where(eq(appointments.id, appointment.id));
      throw err;
    }
  })
  .openapi(joinRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const session = await loadSession(db, c.req.valid('param').sessionId);
    let role: 'client' | 'coach';
    if (user.id === session.clientId) {
      role = 'client';
    } else if (isCoachLike(user)) {
      role = 'coach';
      const client = await db.select({ tier: users.membershipTier }).from(users).where(eq(users.id, session.clientId)).get();
      if (!client || !TIERS[client.tier].limits.humanCoachAccess) {
        throw new AppError('FORBIDDEN', 'Human coaches join Premium clients’ sessions only');
      }
    } else {
      throw new AppError('FORBIDDEN', 'You are not part of this session');
    }
    if (session.status === 'COMPLETED' || session.status === 'CANCELLED') {
      throw new AppError('CONFLICT', 'This session has ended');
    }
    if (role === 'coach') {
      const claimed = await db
        .update(coachingSessions)
        .set({ coachId: user.id })
        .where(and(eq(coachingSessions.id, session.id), isNull(coachingSessions.coachId)))
        .returning({ id: coachingSessions.id })
        .get();
      if (!claimed && session.coachId !== user.id) {
        const now = await loadSession(db, session.id);
        if (now.coachId !== user.id) throw new AppError('CONFLICT', 'Another coach is already in this session');
      }
      await sessionRoom(c.env, session.id).setCoach(user.id);
    }
    const token = await mintRoomToken(c.env, { roomName: session.roomName, identity: user.id, name: user.displayName, role });
    return c.json(ok({ sessionId: session.id, roomName: session.roomName, token, livekitUrl: c.env.LIVEKIT_URL, role }), 200);
  })
  .openapi(muteRoute, async (c) => {
    const user = c.get('user');
    const session = await liveSessionOfCoach(c.var.db, user, c.req.valid('param').sessionId, 'change what the AI hears');
    const state = await sessionRoom(c.env, session.id).setCoachMute(user.id, c.req.valid('json').muted);
    return c.json(ok(state), 200);
  })
  .openapi(whisperRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const session = await liveSessionOfCoach(db, user, c.req.valid('param').sessionId, 'whisper to the AI');
    const text = c.req.valid('json').text;
    const sentAt = new Date();
    const [line] = await db
      .insert(messages)
      .values({
        sessionId: session.id,
        speakerIdentity: user.id,
        speakerRole: 'coach',
        kind: 'whisper',
        text,
        heardByAi: true,
        spokenAt: sentAt,
        idempotencyKey: `whisper:${crypto.randomUUID()}`,
      })
      .returning({ id: messages.id });
    const delivered = await sessionRoom(c.env, session.id).whisper({ id: line!.id, speakerIdentity: user.id, text, spokenAt: sentAt.getTime() });
    log('info', 'coach whisper', { requestId: c.get('requestId'), userId: user.id, sessionId: session.id, deliveredToAi: delivered });
    return c.json(ok({ id: line!.id, text, sentAt: sentAt.toISOString(), deliveredToAi: delivered }), 201);
  })
  .openapi(endRoute, async (c) => {
    const user = c.get('user');
    const session = await loadSession(c.var.db, c.req.valid('param').sessionId);
    const role = assertMember(user, session);
    const state = await sessionRoom(c.env, session.id).end(role);
    log('info', 'session ended', { requestId: c.get('requestId'), userId: user.id, sessionId: session.id, by: role });
    return c.json(ok(state), 200);
  })
  .openapi(stateRoute, async (c) => {
    const user = c.get('user');
    const session = await sessionSeenBy(c.var.db, user, c.req.valid('param').sessionId);
    const state = await sessionRoom(c.env, session.id).getState();
    if (!state) throw new AppError('NOT_FOUND', 'No live state for this session');
    return c.json(ok(state), 200);
  })
  .openapi(wsTicketRoute, async (c) => {
    const user = c.get('user');
    const session = await sessionSeenBy(c.var.db, user, c.req.valid('param').sessionId);
    const { ticket, expiresAt } = await sessionRoom(c.env, session.id).mintWsTicket({ userId: user.id, role: user.role }, WS_TICKET_TTL_MS);
    return c.json(ok({ ticket, expiresAt: new Date(expiresAt).toISOString() }), 201);
  })
  /**
   * Live updates for the session's client and coach: state, timer, participants, mute. Admitted by a
   * ticket from POST /api/rooms/:id/ws-ticket (used once), never by the login token.
   */
  .get('/:sessionId/ws', async (c) => {
    const session = await loadSession(c.var.db, c.req.param('sessionId'));
    return ticketedUpgrade(c.req.raw, sessionRoom(c.env, session.id), '/api/rooms/{sessionId}/ws-ticket');
  });
