/**
 * Scheduling: coaches keep their weekly availability (and one-off dates); PREMIUM clients book a
 * coach's free 30-minute slot; either side cancels. Times are UTC instants (slots: shared/src/slots.ts);
 * portals show them in the viewer's time zone. No double booking of a coach or a client: the
 * database's partial unique indexes decide, also for two requests at the same moment (409).
 */
import { z } from '@hono/zod-openapi';
import type { SQLWrapper } from 'drizzle-orm';
import { and, asc, count, eq, gt, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import { type Db, isUniqueViolation, readInChunks } from '../db/client';
import { appointments, coachAvailability, users } from '../db/schema';
import { BOOKING_HORIZON_DAYS, MAX_AVAILABILITY_WINDOWS, MAX_UPCOMING_APPOINTMENTS, SLOT_MINUTES, bookingHorizon, freeSlots, isSlot } from '@hybrid-coach/shared/slots';
import { TIERS, UPGRADE_URL } from '@hybrid-coach/shared/tiers';
import { AppError, ok, okSchema } from '../lib/errors';
import { authRoute, createApp, json } from '../lib/openapi';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00 (UTC)');
const ymd = z.string().date();

const Availability = z
  .object({
    id: z.string(),
    dayOfWeek: z.number().int().min(0).max(6).openapi({ description: '0 = Sunday (UTC)' }),
    startTime: z.string(),
    endTime: z.string(),
    isRecurring: z.boolean(),
    specificDate: z.string().nullable(),
  })
  .openapi('Availability');

const AvailabilityInput = z
  .object({
    dayOfWeek: z.number().int().min(0).max(6).optional().openapi({ description: 'For a weekly window (UTC weekday, 0 = Sunday)' }),
    specificDate: ymd.optional().openapi({ description: 'For a one-off window (UTC date); then dayOfWeek is derived' }),
    startTime: hhmm,
    endTime: hhmm,
  })
  .strict()
  .refine((a) => (a.dayOfWeek === undefined) !== (a.specificDate === undefined), { message: 'Give dayOfWeek (weekly) or specificDate (once), not both', path: ['dayOfWeek'] })
  .refine((a) => a.startTime < a.endTime, { message: 'The window must end after it starts', path: ['endTime'] })
  .openapi('AvailabilityInput');

const Appointment = z
  .object({
    id: z.string(),
    scheduledFor: z.string().datetime(),
    durationMinutes: z.number().int(),
    status: z.enum(['SCHEDULED', 'ACTIVE', 'COMPLETED', 'CANCELLED']),
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
const Booking = z.object({ coachId: z.string().min(1).max(64), scheduledFor: z.string().datetime() }).strict().openapi('BookingRequest');
const IdParams = z.object({ id: z.string().min(1).max(64) });

type AvailabilityRow = typeof coachAvailability.$inferSelect;
const availabilityOut = (a: AvailabilityRow) => ({
  id: a.id,
  dayOfWeek: a.dayOfWeek,
  startTime: a.startTime,
  endTime: a.endTime,
  isRecurring: a.isRecurring,
  specificDate: a.specificDate,
});
const windowOf = (a: z.infer<typeof AvailabilityInput>) => ({
  dayOfWeek: a.specificDate ? new Date(`${a.specificDate}T00:00:00Z`).getUTCDay() : a.dayOfWeek!,
  startTime: a.startTime,
  endTime: a.endTime,
  isRecurring: a.specificDate === undefined,
  specificDate: a.specificDate ?? null,
});

/** Clients without human-coach access get 403 with the way to upgrade. */
async function assertPremium(db: Db, user: AuthUser): Promise<void> {
  if (user.role !== 'CLIENT') throw new AppError('FORBIDDEN', 'Booking is for clients');
  const row = await db.select({ tier: users.membershipTier }).from(users).where(eq(users.id, user.id)).get();
  if (!row || !TIERS[row.tier].limits.humanCoachAccess) {
    throw new AppError('TIER_LIMIT_REACHED', 'Booking a human coach is part of the Premium plan.', { details: { tier: row?.tier ?? null, upgradeUrl: UPGRADE_URL } });
  }
}

const ACTIVE = ['SCHEDULED', 'ACTIVE'] as const;

/** The client's scheduled appointments not over yet (those the cap counts). */
const upcomingOf = (db: Db, clientId: string, now: Date) =>
  db
    .select({ n: count() })
    .from(appointments)
    .where(and(eq(appointments.clientId, clientId), eq(appointments.status, 'SCHEDULED'), gt(appointments.scheduledFor, new Date(now.getTime() - SLOT_MINUTES * 60_000))));

/**
 * A cap, race-safe: the insert and a delete on this condition run in one D1 batch (a transaction, and
 * D1 runs one at a time), and the delete takes the new row back out when it made `counted` pass the
 * cap. Two requests at the same moment cannot both slip under it, as a count before the insert would let them.
 */
const passes = (counted: SQLWrapper, cap: number) => sql`(${counted}) > ${cap}`;

async function appointmentsOut(db: Db, rows: (typeof appointments.$inferSelect)[]) {
  const ids = [...new Set(rows.flatMap((r) => [r.clientId, r.coachId]))];
  const people = await readInChunks(ids, (chunk) => db.select({ id: users.id, displayName: users.displayName }).from(users).where(inArray(users.id, chunk)).all());
  const byId = new Map(people.map((p) => [p.id, p]));
  const person = (id: string) => byId.get(id) ?? { id, displayName: 'Unknown' };
  return rows.map((r) => ({
    id: r.id,
    scheduledFor: r.scheduledFor.toISOString(),
    durationMinutes: r.durationMinutes,
    status: r.status,
    client: person(r.clientId),
    coach: person(r.coachId),
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelledBy: r.cancelledBy,
  }));
}

export const scheduling = createApp()
  .openapi(
    authRoute({
      method: 'get',
      path: '/availability',
      summary: 'The signed-in coach’s availability windows',
      roles: ['COACH', 'ADMIN'],
      responses: { 200: { description: 'Windows', ...json(okSchema(z.array(Availability))) } },
    }),
    async (c) => {
      const rows = await c.var.db
        .select()
        .from(coachAvailability)
        .where(eq(coachAvailability.coachId, c.get('user').id))
        .orderBy(asc(coachAvailability.dayOfWeek), asc(coachAvailability.startTime))
        .all();
      return c.json(ok(rows.map(availabilityOut)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/availability',
      summary: `Add a weekly or one-off availability window (UTC); a coach keeps at most ${MAX_AVAILABILITY_WINDOWS}`,
      roles: ['COACH', 'ADMIN'],
      errors: ['CONFLICT'],
      request: { body: { ...json(AvailabilityInput), required: true } },
      responses: { 201: { description: 'Added', ...json(okSchema(Availability)) } },
    }),
    async (c) => {
      const db = c.var.db;
      const coachId = c.get('user').id;
      const id = crypto.randomUUID();
      const windows = db.select({ n: count() }).from(coachAvailability).where(eq(coachAvailability.coachId, coachId));
      const [added, undone] = await db.batch([
        db.insert(coachAvailability).values({ id, coachId, ...windowOf(c.req.valid('json')) }).returning(),
        db.delete(coachAvailability).where(and(eq(coachAvailability.id, id), passes(windows, MAX_AVAILABILITY_WINDOWS))).returning({ id: coachAvailability.id }),
      ]);
      if (undone.length > 0 || !added[0]) {
        throw new AppError('CONFLICT', `You have ${MAX_AVAILABILITY_WINDOWS} availability windows, the most you can keep. Remove or widen one first.`, {
          details: { limit: MAX_AVAILABILITY_WINDOWS },
        });
      }
      return c.json(ok(availabilityOut(added[0])), 201);
    },
  )
  .openapi(
    authRoute({
      method: 'put',
      path: '/availability/{id}',
      summary: 'Replace one of the coach’s windows',
      roles: ['COACH', 'ADMIN'],
      errors: ['NOT_FOUND'],
      request: { params: IdParams, body: { ...json(AvailabilityInput), required: true } },
      responses: { 200: { description: 'Changed', ...json(okSchema(Availability)) } },
    }),
    async (c) => {
      const row = await c.var.db
        .update(coachAvailability)
        .set(windowOf(c.req.valid('json')))
        .where(and(eq(coachAvailability.id, c.req.valid('param').id), eq(coachAvailability.coachId, c.get('user').id)))
        .returning()
        .get();
      if (!row) throw new AppError('NOT_FOUND', 'No such window');
      return c.json(ok(availabilityOut(row)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'delete',
      path: '/availability/{id}',
      summary: 'Remove one of the coach’s windows (booked appointments stay)',
      roles: ['COACH', 'ADMIN'],
      errors: ['NOT_FOUND'],
      request: { params: IdParams },
      responses: { 200: { description: 'Removed', ...json(okSchema(z.object({ id: z.string() }))) } },
    }),
    async (c) => {
      const gone = await c.var.db
        .delete(coachAvailability)
        .where(and(eq(coachAvailability.id, c.req.valid('param').id), eq(coachAvailability.coachId, c.get('user').id)))
        .returning({ id: coachAvailability.id });
      if (gone.length === 0) throw new AppError('NOT_FOUND', 'No such window');
      return c.json(ok({ id: gone[0]!.id }), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/coaches/slots',
      summary: `PREMIUM clients: the free slots of each coach open for bookings, in the coming days (up to ${BOOKING_HORIZON_DAYS} days ahead)`,
      errors: ['FORBIDDEN', 'TIER_LIMIT_REACHED'],
      request: { query: z.object({ from: z.string().datetime().optional(), days: z.coerce.number().int().min(1).max(28).default(7) }) },
      responses: {
        200: {
          description: 'Coaches with their free slot starts (UTC)',
          ...json(okSchema(z.array(z.object({ coach: z.object({ id: z.string(), displayName: z.string() }), slots: z.array(z.string().datetime()) })))),
        }
      },
    }),
    async (c) => {
      const db = c.var.db;
      await assertPremium(db, c.get('user'));
      const now = new Date();
      const q = c.req.valid('query');
      const from = q.from ? new Date(Math.max(Date.parse(q.from), now.getTime())) : now;
      // Nothing past the booking horizon is offered (a `from` beyond it finds no slots).
      const to = new Date(Math.min(from.getTime() + q.days * 86_400_000, bookingHorizon(now).getTime()));
      if (to <= from) return c.json(ok([]), 200);
      const coaches = await db
        .select({ id: users.id, displayName: users.displayName })
        .from(users)
        .where(and(eq(users.role, 'COACH'), eq(users.isAvailable, true)))
        .all();
      const ids = coaches.map((x) => x.id);
      if (ids.length === 0) return c.json(ok([]), 200);
      const [windows, booked] = await Promise.all([
        readInChunks(ids, (chunk) => db.select().from(coachAvailability).where(inArray(coachAvailability.coachId, chunk)).all()),
        readInChunks(ids, (chunk) =>
          db
            .select({ coachId: appointments.coachId, at: appointments.scheduledFor })
            .from(appointments)
            .where(and(inArray(appointments.coachId, chunk), inArray(appointments.status, [...ACTIVE]), gte(appointments.scheduledFor, from), lt(appointments.scheduledFor, to)))
            .all(),
        ),
      ]);
      const result = coaches
        .map((coach) => ({
          coach,
          slots: freeSlots(
            windows.filter((w) => w.coachId === coach.id),
            booked.filter((b) => b.coachId === coach.id).map((b) => b.at),
            from,
            to,
            now,
          ).map((d) => d.toISOString()),
        }))
        .filter((x) => x.slots.length > 0);
      return c.json(ok(result), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/appointments',
      summary: `PREMIUM clients book a coach’s free slot (30 minutes), up to ${BOOKING_HORIZON_DAYS} days ahead; at most ${MAX_UPCOMING_APPOINTMENTS} scheduled at once`,
      errors: ['FORBIDDEN', 'TIER_LIMIT_REACHED', 'NOT_FOUND', 'CONFLICT'],
      request: { body: { ...json(Booking), required: true } },
      responses: { 201: { description: 'Booked', ...json(okSchema(Appointment)) } },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      await assertPremium(db, user);
      const { coachId, scheduledFor } = c.req.valid('json');
      const at = new Date(scheduledFor);
      const now = new Date();
      if (at >= bookingHorizon(now)) {
        throw new AppError('VALIDATION_ERROR', `Appointments can be booked up to ${BOOKING_HORIZON_DAYS} days ahead`, {
          fields: { scheduledFor: `more than ${BOOKING_HORIZON_DAYS} days ahead` },
        });
      }
      const coach = await db
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.id, coachId), eq(users.role, 'COACH'), eq(users.isAvailable, true)))
        .get();
      if (!coach) throw new AppError('NOT_FOUND', 'No such coach taking bookings');
      const windows = await db.select().from(coachAvailability).where(eq(coachAvailability.coachId, coachId)).all();
      if (!isSlot(windows, at, now)) {
        throw new AppError('VALIDATION_ERROR', 'That time is not one of the coach’s slots', { fields: { scheduledFor: 'not a free slot of this coach' } });
      }
      const id = crypto.randomUUID();
      const [booked, undone] = await db.batch([
        db.insert(appointments).values({ id, clientId: user.id, coachId, scheduledFor: at, durationMinutes: SLOT_MINUTES }).onConflictDoNothing().returning(),
        db.delete(appointments).where(and(eq(appointments.id, id), passes(upcomingOf(db, user.id, now), MAX_UPCOMING_APPOINTMENTS))).returning({ id: appointments.id }),
      ]);
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
      return c.json(ok((await appointmentsOut(db, [row]))[0]!), 201);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/appointments',
      summary: 'The signed-in client’s or coach’s appointments, soonest first (upcoming by default)',
      request: { query: z.object({ include: z.enum(['upcoming', 'all']).default('upcoming') }) },
      responses: { 200: { description: 'Appointments', ...json(okSchema(z.array(Appointment))) } },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const whose = user.role === 'CLIENT' ? eq(appointments.clientId, user.id) : eq(appointments.coachId, user.id);
      const upcoming = c.req.valid('query').include === 'upcoming';
      const rows = await db
        .select()
        .from(appointments)
        .where(and(whose, upcoming ? inArray(appointments.status, [...ACTIVE]) : undefined, upcoming ? gte(appointments.scheduledFor, new Date(Date.now() - SLOT_MINUTES * 60_000)) : undefined))
        .orderBy(asc(appointments.scheduledFor))
        .limit(200)
        .all();
      return c.json(ok(await appointmentsOut(db, rows)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/appointments/{id}/cancel',
      summary: 'The client or the coach cancels a scheduled appointment (who and when are recorded)',
      errors: ['NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams },
      responses: { 200: { description: 'Cancelled', ...json(okSchema(Appointment)) } },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const found = await db.select().from(appointments).where(eq(appointments.id, c.req.valid('param').id)).get();
      // Someone else's appointment is as invisible as one that does not exist.
      if (!found || (found.clientId !== user.id && found.coachId !== user.id && user.role !== 'ADMIN')) throw new AppError('NOT_FOUND', 'No such appointment');
      const row = await db
        .update(appointments)
        .set({ status: 'CANCELLED', cancelledAt: new Date(), cancelledBy: user.id })
        .where(and(eq(appointments.id, found.id), eq(appointments.status, 'SCHEDULED')))
        .returning()
        .get();
      if (!row) throw new AppError('CONFLICT', `This appointment is ${found.status.toLowerCase()}; only a scheduled one can be cancelled`);
      return c.json(ok((await appointmentsOut(db, [row]))[0]!), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'post',
      path: '/appointments/{id}/reassign',
      summary: 'The appointment’s coach (or an admin) hands a scheduled appointment to another coach',
      roles: ['COACH', 'ADMIN'],
      errors: ['NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams, body: { ...json(z.object({ coachId: z.string().min(1).max(64) }).strict().openapi('ReassignRequest')), required: true } },
      responses: { 200: { description: 'Reassigned', ...json(okSchema(Appointment)) } },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const { coachId } = c.req.valid('json');
      const found = await db.select().from(appointments).where(eq(appointments.id, c.req.valid('param').id)).get();
      if (!found || (found.coachId !== user.id && user.role !== 'ADMIN')) throw new AppError('NOT_FOUND', 'No such appointment');
      const target = await db.select({ id: users.id }).from(users).where(and(eq(users.id, coachId), eq(users.role, 'COACH'), isNull(users.deletedAt))).get();
      if (!target) throw new AppError('VALIDATION_ERROR', 'No such coach', { fields: { coachId: 'not a coach' } });
      if (found.status !== 'SCHEDULED') throw new AppError('CONFLICT', `This appointment is ${found.status.toLowerCase()}; only a scheduled one can be reassigned`);
      let row: typeof appointments.$inferSelect | undefined;
      try {
        row = await db
          .update(appointments)
          .set({ coachId })
          .where(and(eq(appointments.id, found.id), eq(appointments.status, 'SCHEDULED')))
          .returning()
          .get();
      } catch (err) {
        // The new coach's slot is taken (the partial unique index).
        if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'That coach has an appointment at that time');
        throw err;
      }
      if (!row) throw new AppError('CONFLICT', 'This appointment changed meanwhile');
      return c.json(ok((await appointmentsOut(db, [row]))[0]!), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'get',
      path: '/appointments/{id}/reassign-options',
      summary: 'The coaches a scheduled appointment could go to: each says whether that time is free for them and open in their availability',
      roles: ['COACH', 'ADMIN'],
      errors: ['NOT_FOUND'],
      request: { params: IdParams },
      responses: { 200: { description: 'Other coaches, those free at that time first, then by name', ...json(okSchema(z.array(ReassignOption))) } },
    }),
    async (c) => {
      const user = c.get('user');
      const db = c.var.db;
      const found = await db.select().from(appointments).where(eq(appointments.id, c.req.valid('param').id)).get();
      if (!found || (found.coachId !== user.id && user.role !== 'ADMIN')) throw new AppError('NOT_FOUND', 'No such appointment');
      const coaches = await db
        .select({ id: users.id, displayName: users.displayName, isAvailable: users.isAvailable })
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
        offersThisTime: x.isAvailable && isSlot(windows.filter((w) => w.coachId === x.id), found.scheduledFor, new Date(found.scheduledFor.getTime() - 1)),
      }));
      options.sort((a, b) => Number(b.free) - Number(a.free) || Number(b.offersThisTime) - Number(a.offersThisTime) || a.displayName.localeCompare(b.displayName));
      return c.json(ok(options), 200);
    },
  );
