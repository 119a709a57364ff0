/**
 * Appointments: PREMIUM clients book a coach's free slot and move it to another; either side cancels; the
 * coach (or an admin) hands one to another coach; one nobody started becomes MISSED. No double booking of
 * a coach or a client: the database's partial unique indexes decide, also for two requests at the same
 * moment (409).
 */
import { z } from '@hono/zod-openapi';
import { BOOKING_HORIZON_DAYS, bookingHorizon, DEFAULT_TIME_ZONE, isSlot, MAX_UPCOMING_APPOINTMENTS, SLOT_MINUTES } from '@hybrid-coach/shared/slots';
import type { SQL } from 'drizzle-orm';
import { and, asc, count, eq, gt, gte, inArray, isNull } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import { type Db, isUniqueViolation, readInChunks } from '../db/client';
import { APPOINTMENT_STATUSES, appointments, coachAvailability, users } from '../db/schema';
import { ACTIVE, assertPremium, markMissed, passes, takesBookings } from '../lib/booking';
import { AppError, ok } from '../lib/errors';
import { authRoute, COACHES, createApp, Id, IdParams, jsonBody, okBody } from '../lib/openapi';
import { appointmentIs, appointmentMailWrites, appointmentWithParties, calendarEventOf, partyColumns, sequenceAt } from '../mail/appointment-mail';
import { icsEvent } from '../mail/ics';
import { kickOutbox } from '../mail/outbox';

const Appointment = z
  .object({
    id: z.string(),
    scheduledFor: z.string().datetime(),
    durationMinutes: z.number().int(),
    status: z.enum(APPOINTMENT_STATUSES).openapi({ description: 'MISSED: its time passed (by its length and 15 minutes) and nobody started it' }),
    client: z.object({ id: z.string(), displayName: z.string() }),
    coach: z.object({ id: z.string(), displayName: z.string() }),
    cancelledAt: z.string().datetime().nullable(),
    cancelledBy: z.string().nullable(),
  })
  .openapi('Appointment');

const ReassignOption = z
  .object({
    id: z.string(),
    displayName: z.string(),
    free: z.boolean().openapi({ description: 'No appointment of theirs at that time (reassigning to a busy coach answers 409)' }),
    offersThisTime: z.boolean().openapi({ description: 'They take bookings and the time is inside one of their availability windows' }),
  })
  .openapi('ReassignOption');
const Booking = z.object({ coachId: Id, scheduledFor: z.string().datetime() }).strict().openapi('BookingRequest');
const ReassignRequest = z.object({ coachId: Id }).strict().openapi('ReassignRequest');
const RescheduleRequest = z.object({ scheduledFor: z.string().datetime() }).strict().openapi('RescheduleRequest');

/** The client's scheduled appointments not over yet (those the cap counts). */
const upcomingOf = (db: Db, clientId: string, now: Date) =>
  db
    .select({ n: count() })
    .from(appointments)
    .where(
      and(
        eq(appointments.clientId, clientId),
        eq(appointments.status, 'SCHEDULED'),
        gt(appointments.scheduledFor, new Date(now.getTime() - SLOT_MINUTES * 60_000)),
      ),
    );

const person = { columns: { id: true, displayName: true } } as const;
/** The read of appointments with their client and coach (the schema's relations), soonest first. */
const appointmentsQuery = (db: Db, where: SQL | undefined, limit?: number) =>
  db.query.appointments.findMany({ where, with: { client: person, coach: person }, orderBy: asc(appointments.scheduledFor), limit });

/** Appointments as the API answers them. */
const toOut = (rows: Awaited<ReturnType<typeof appointmentsQuery>>) =>
  rows.map((r) => ({
    id: r.id,
    scheduledFor: r.scheduledFor.toISOString(),
    durationMinutes: r.durationMinutes,
    status: r.status,
    client: r.client,
    coach: r.coach,
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelledBy: r.cancelledBy,
  }));

const appointmentsOut = async (db: Db, where: SQL | undefined, limit?: number) => toOut(await appointmentsQuery(db, where, limit));

/** One appointment, as appointmentsOut answers it. */
const appointmentOut = async (db: Db, id: string) => (await appointmentsOut(db, eq(appointments.id, id)))[0]!;

/**
 * The appointment with its client and coach (one query), if `user` is on the side asked for or an admin
 * (not for 'client'); someone else's appointment is as invisible as one that does not exist (404).
 */
async function appointmentFor(db: Db, user: AuthUser, id: string, side: 'either' | 'coach' | 'client') {
  const found = await appointmentWithParties(db, id);
  const mine = found && ((side !== 'client' && found.coachId === user.id) || (side !== 'coach' && found.clientId === user.id));
  if (!found || !(mine || (side !== 'client' && user.role === 'ADMIN'))) throw new AppError('NOT_FOUND', 'No such appointment');
  return found;
}

export const appointmentsApp = createApp()
  .openapi(
    authRoute({
      method: 'post',
      path: '/',
      summary: `PREMIUM clients book a coach’s free slot (30 minutes), up to ${BOOKING_HORIZON_DAYS} days ahead; at most ${MAX_UPCOMING_APPOINTMENTS} scheduled at once`,
      errors: ['FORBIDDEN', 'TIER_LIMIT_REACHED', 'NOT_FOUND', 'CONFLICT'],
      request: { body: jsonBody(Booking) },
      responses: { 201: okBody('Booked', Appointment) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const client = await assertPremium(db, user);
      const { coachId, scheduledFor } = c.req.valid('json');
      const at = new Date(scheduledFor);
      const now = new Date();
      if (at >= bookingHorizon(now)) {
        throw new AppError('VALIDATION_ERROR', `Appointments can be booked up to ${BOOKING_HORIZON_DAYS} days ahead`, {
          fields: { scheduledFor: `more than ${BOOKING_HORIZON_DAYS} days ahead` },
        });
      }
      const coach = await db.select(partyColumns(users)).from(users).where(takesBookings(coachId)).get();
      if (!coach) throw new AppError('NOT_FOUND', 'No such coach taking bookings');
      const windows = await db.select().from(coachAvailability).where(eq(coachAvailability.coachId, coachId)).all();
      if (!isSlot(windows, at, now, coach.timeZone ?? DEFAULT_TIME_ZONE)) {
        throw new AppError('VALIDATION_ERROR', 'That time is not one of the coach’s slots', { fields: { scheduledFor: 'not a free slot of this coach' } });
      }
      const id = crypto.randomUUID();
      const facts = { id, scheduledFor: at, durationMinutes: SLOT_MINUTES, client, coach };
      const [booked, undone] = await db.batch([
        db.insert(appointments).values({ id, clientId: user.id, coachId, scheduledFor: at, durationMinutes: SLOT_MINUTES }).onConflictDoNothing().returning(),
        db
          .delete(appointments)
          .where(and(eq(appointments.id, id), passes(upcomingOf(db, user.id, now), MAX_UPCOMING_APPOINTMENTS)))
          .returning({ id: appointments.id }),
        // Booked, and the reminders, only if the booking stood (the guard at the end of these writes).
        ...(await appointmentMailWrites(c.env, db, facts, { kind: 'booked' }, appointmentIs(id, 'SCHEDULED'), now)),
      ]);
      kickOutbox(c.env, c.executionCtx);
      if (undone.length > 0) {
        throw new AppError('CONFLICT', `You have ${MAX_UPCOMING_APPOINTMENTS} appointments coming up, the most at once. Cancel one to book another.`, {
          details: { limit: MAX_UPCOMING_APPOINTMENTS },
        });
      }
      const row = booked[0];
      if (!row) {
        const mine = await db
          .select({ id: appointments.id })
          .from(appointments)
          .where(and(eq(appointments.clientId, user.id), eq(appointments.scheduledFor, at), inArray(appointments.status, [...ACTIVE])))
          .get();
        throw new AppError('CONFLICT', mine ? 'You already have an appointment at that time' : 'That slot has just been booked');
      }
      return c.json(ok(await appointmentOut(db, row.id)), 201);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/',
      summary: 'The signed-in client’s or coach’s appointments, soonest first (upcoming by default)',
      request: { query: z.object({ include: z.enum(['upcoming', 'all']).default('upcoming') }) },
      responses: { 200: okBody('Appointments', z.array(Appointment)) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const whose = user.role === 'CLIENT' ? eq(appointments.clientId, user.id) : eq(appointments.coachId, user.id);
      const upcoming = c.req.valid('query').include === 'upcoming';
      const now = new Date();
      const when = upcoming ? [inArray(appointments.status, [...ACTIVE]), gte(appointments.scheduledFor, new Date(now.getTime() - SLOT_MINUTES * 60_000))] : [];
      // Both sides see a missed appointment as MISSED when they look (the cron marks the rest): the
      // mark goes in the read's own batch, so it costs no round trip.
      const [, rows] = await db.batch([markMissed(db, now), appointmentsQuery(db, and(whose, ...when), 200)]);
      return c.json(ok(toOut(rows)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/{id}/cancel',
      summary: 'The client or the coach cancels a scheduled appointment (who and when are recorded)',
      errors: ['NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams },
      responses: { 200: okBody('Cancelled', Appointment) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const found = await appointmentFor(db, user, c.req.valid('param').id, 'either');
      const [[row]] = await db.batch([
        db
          .update(appointments)
          .set({ status: 'CANCELLED', cancelledAt: new Date(), cancelledBy: user.id })
          .where(and(eq(appointments.id, found.id), eq(appointments.status, 'SCHEDULED')))
          .returning(),
        ...(await appointmentMailWrites(c.env, db, found, { kind: 'cancelled' }, appointmentIs(found.id, 'CANCELLED'))),
      ]);
      kickOutbox(c.env, c.executionCtx);
      if (!row) throw new AppError('CONFLICT', `This appointment is ${found.status.toLowerCase()}; only a scheduled one can be cancelled`);
      return c.json(ok(await appointmentOut(db, row.id)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/{id}/ics',
      summary: 'The appointment as an iCalendar file for either side (its stable UID; a cancelled one removes the event)',
      description:
        'SEQUENCE is the seconds since 2023 at the download: never lower than that of any email sent before, so a calendar takes it as the newest version.',
      errors: ['NOT_FOUND'],
      request: { params: IdParams },
      responses: { 200: { description: 'text/calendar (RFC 5545)', content: { 'text/calendar': { schema: z.string() } } } },
    }),
    async (c) => {
      const found = await appointmentFor(c.var.db, c.get('user'), c.req.valid('param').id, 'either');
      const now = new Date();
      const method = found.status === 'CANCELLED' ? 'CANCEL' : 'PUBLISH';
      return c.body(icsEvent(calendarEventOf(c.env, found, method, sequenceAt(now), now)), 200, {
        'Content-Type': 'text/calendar; charset=utf-8',
        'Content-Disposition': 'attachment; filename="appointment.ics"',
      });
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/{id}/reschedule',
      summary: 'The client moves their scheduled appointment, before it begins, to another free slot of its coach in one step',
      description:
        'The same checks as booking: a client no longer PREMIUM gets 403 `TIER_LIMIT_REACHED` with the upgrade path, and a coach no longer taking bookings 409 `CONFLICT`; either way the appointment keeps its time. One D1 batch: the appointment takes the new time only if that slot is still free for the coach and the client (the same unique indexes as booking); otherwise 409 and it keeps its time. Both sides get an email with the .ics (same UID, higher SEQUENCE); the reminders follow the new time.',
      roles: ['CLIENT'],
      errors: ['VALIDATION_ERROR', 'TIER_LIMIT_REACHED', 'NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams, body: jsonBody(RescheduleRequest) },
      responses: { 200: okBody('Moved', Appointment) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const at = new Date(c.req.valid('json').scheduledFor);
      const found = await appointmentFor(db, user, c.req.valid('param').id, 'client');
      const now = new Date();
      if (found.status !== 'SCHEDULED') throw new AppError('CONFLICT', `This appointment is ${found.status.toLowerCase()}; only a scheduled one can be moved`);
      if (found.scheduledFor <= now) throw new AppError('CONFLICT', 'This appointment has begun; it can no longer be moved');
      // What booking checks holds for a move too: a new time is a new booking of the coach.
      await assertPremium(db, user);
      if (!(await db.select({ id: users.id }).from(users).where(takesBookings(found.coachId)).get())) {
        throw new AppError('CONFLICT', `${found.coach.displayName} is not taking bookings now; your appointment keeps its time`);
      }
      if (at.getTime() === found.scheduledFor.getTime()) {
        throw new AppError('VALIDATION_ERROR', 'The appointment is already at that time', { fields: { scheduledFor: 'the time it already has' } });
      }
      if (at >= bookingHorizon(now)) {
        throw new AppError('VALIDATION_ERROR', `Appointments can be booked up to ${BOOKING_HORIZON_DAYS} days ahead`, {
          fields: { scheduledFor: `more than ${BOOKING_HORIZON_DAYS} days ahead` },
        });
      }
      const windows = await db.select().from(coachAvailability).where(eq(coachAvailability.coachId, found.coachId)).all();
      if (!isSlot(windows, at, now, found.coach.timeZone ?? DEFAULT_TIME_ZONE)) {
        throw new AppError('VALIDATION_ERROR', 'That time is not one of the coach’s slots', { fields: { scheduledFor: 'not a free slot of this coach' } });
      }
      let row: typeof appointments.$inferSelect | undefined;
      try {
        [[row]] = await db.batch([
          // Still scheduled and not begun: a cancel or a start meanwhile wins.
          db
            .update(appointments)
            .set({ scheduledFor: at })
            .where(and(eq(appointments.id, found.id), eq(appointments.status, 'SCHEDULED'), eq(appointments.scheduledFor, found.scheduledFor)))
            .returning(),
          ...(await appointmentMailWrites(
            c.env,
            db,
            { ...found, scheduledFor: at },
            { kind: 'rescheduled', from: found.scheduledFor },
            appointmentIs(found.id, 'SCHEDULED', { at }),
            now,
          )),
        ]);
      } catch (err) {
        // The new slot is taken (the partial unique indexes): the batch is undone, the old time kept.
        if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'That slot has just been booked; your appointment keeps its time');
        throw err;
      }
      kickOutbox(c.env, c.executionCtx);
      if (!row) throw new AppError('CONFLICT', 'This appointment changed meanwhile');
      return c.json(ok(await appointmentOut(db, row.id)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/{id}/reassign',
      summary: 'The appointment’s coach (or an admin) hands a scheduled appointment to another coach',
      roles: COACHES,
      errors: ['NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams, body: jsonBody(ReassignRequest) },
      responses: { 200: okBody('Reassigned', Appointment) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const { coachId } = c.req.valid('json');
      const found = await appointmentFor(db, user, c.req.valid('param').id, 'coach');
      const target = await db
        .select(partyColumns(users))
        .from(users)
        .where(and(eq(users.id, coachId), eq(users.role, 'COACH'), isNull(users.deletedAt)))
        .get();
      if (!target) throw new AppError('VALIDATION_ERROR', 'No such coach', { fields: { coachId: 'not a coach' } });
      if (found.status !== 'SCHEDULED')
        throw new AppError('CONFLICT', `This appointment is ${found.status.toLowerCase()}; only a scheduled one can be reassigned`);
      const facts = { ...found, coach: target };
      const event = { kind: 'reassigned' as const, from: found.coach };
      let row: typeof appointments.$inferSelect | undefined;
      try {
        [[row]] = await db.batch([
          db
            .update(appointments)
            .set({ coachId })
            .where(and(eq(appointments.id, found.id), eq(appointments.status, 'SCHEDULED')))
            .returning(),
          ...(await appointmentMailWrites(c.env, db, facts, event, appointmentIs(found.id, 'SCHEDULED', { coachId }))),
        ]);
        kickOutbox(c.env, c.executionCtx);
      } catch (err) {
        // The new coach's slot is taken (the partial unique index).
        if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'That coach has an appointment at that time');
        throw err;
      }
      if (!row) throw new AppError('CONFLICT', 'This appointment changed meanwhile');
      return c.json(ok(await appointmentOut(db, row.id)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/{id}/reassign-options',
      summary: 'The coaches a scheduled appointment could go to: each says whether that time is free for them and open in their availability',
      roles: COACHES,
      errors: ['NOT_FOUND'],
      request: { params: IdParams },
      responses: { 200: okBody('Other coaches, those free at that time first, then by name', z.array(ReassignOption)) },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const found = await appointmentFor(db, user, c.req.valid('param').id, 'coach');
      const coaches = await db
        .select({ id: users.id, displayName: users.displayName, isAvailable: users.isAvailable, timeZone: users.timeZone })
        .from(users)
        .where(and(eq(users.role, 'COACH'), isNull(users.deletedAt)))
        .all();
      const others = coaches.filter((x) => x.id !== found.coachId);
      const ids = others.map((x) => x.id);
      const [windows, busy] = ids.length
        ? await Promise.all([
            readInChunks(ids, (chunk) => db.select().from(coachAvailability).where(inArray(coachAvailability.coachId, chunk)).all()),
            readInChunks(ids, (chunk) =>
              db
                .select({ coachId: appointments.coachId })
                .from(appointments)
                .where(and(inArray(appointments.coachId, chunk), eq(appointments.scheduledFor, found.scheduledFor), inArray(appointments.status, [...ACTIVE])))
                .all(),
            ),
          ])
        : [[], []];
      const busyIds = new Set(busy.map((b) => b.coachId));
      const options = others.map((x) => ({
        id: x.id,
        displayName: x.displayName,
        free: !busyIds.has(x.id),
        // Inside one of their windows and taking bookings: the time is one they offer.
        offersThisTime:
          x.isAvailable &&
          isSlot(
            windows.filter((w) => w.coachId === x.id),
            found.scheduledFor,
            new Date(found.scheduledFor.getTime() - 1),
            x.timeZone ?? DEFAULT_TIME_ZONE,
          ),
      }));
      options.sort(
        (a, b) => Number(b.free) - Number(a.free) || Number(b.offersThisTime) - Number(a.offersThisTime) || a.displayName.localeCompare(b.displayName),
      );
      return c.json(ok(options), 200);
    },
  );
