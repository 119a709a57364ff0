/**
 * A coach's availability: weekly windows and one-off dates, wall-clock times in the coach's own time zone
 * (users.time_zone, set with PATCH /api/users/me), the times their slots are cut from (shared/src/slots.ts).
 * Coaches and admins, each their own windows; a coach's windows never overlap.
 */
import { z } from '@hono/zod-openapi';
import { MAX_AVAILABILITY_WINDOWS, utcWindowsInZone } from '@hybrid-coach/shared/slots';
import { and, asc, count, eq, exists, gt, inArray, isNull, lt, ne, notExists, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { coachAvailability, users } from '../db/schema';
import { passes } from '../lib/booking';
import { AppError, ok } from '../lib/errors';
import { authRoute, COACHES, createApp, IdParams, jsonBody, okBody } from '../lib/openapi';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00 (your local time)');
const ymd = z.string().date();

const Availability = z
  .object({
    id: z.string(),
    dayOfWeek: z.number().int().min(0).max(6).openapi({ description: '0 = Sunday' }),
    startTime: z.string(),
    endTime: z.string(),
    isRecurring: z.boolean(),
    specificDate: z.string().nullable(),
    closed: z.boolean().openapi({ description: 'A one-off exception: these hours are closed on that date (a day off)' }),
  })
  .openapi('Availability');

const AvailabilityInput = z
  .object({
    dayOfWeek: z.number().int().min(0).max(6).optional().openapi({ description: 'For a weekly window (weekday in the coach’s zone, 0 = Sunday)' }),
    specificDate: ymd.optional().openapi({ description: 'For a one-off window (date in the coach’s zone); then dayOfWeek is derived' }),
    startTime: hhmm,
    endTime: hhmm,
    closed: z
      .boolean()
      .optional()
      .openapi({ description: 'With specificDate: close these hours that day instead of opening them (weekly windows give no slots then)' }),
  })
  .strict()
  .refine((a) => !a.closed || a.specificDate !== undefined, { message: 'Only a one-off window (specificDate) can close hours', path: ['closed'] })
  .refine((a) => (a.dayOfWeek === undefined) !== (a.specificDate === undefined), {
    message: 'Give dayOfWeek (weekly) or specificDate (once), not both',
    path: ['dayOfWeek'],
  })
  .refine((a) => a.startTime < a.endTime, { message: 'The window must end after it starts', path: ['endTime'] })
  .openapi('AvailabilityInput');

type AvailabilityRow = typeof coachAvailability.$inferSelect;
const availabilityOut = (a: AvailabilityRow) => ({
  id: a.id,
  dayOfWeek: a.dayOfWeek,
  startTime: a.startTime,
  endTime: a.endTime,
  isRecurring: a.isRecurring,
  specificDate: a.specificDate,
  closed: a.closed,
});
const windowOf = (a: z.infer<typeof AvailabilityInput>) => ({
  dayOfWeek: a.specificDate ? new Date(`${a.specificDate}T00:00:00Z`).getUTCDay() : a.dayOfWeek!,
  startTime: a.startTime,
  endTime: a.endTime,
  isRecurring: a.specificDate === undefined,
  specificDate: a.specificDate ?? null,
  closed: a.closed ?? false,
});

type Window = ReturnType<typeof windowOf>;

/** The coach's other windows of the same kind as `w` (open, or closed) meeting it: same weekday or date, hours meeting. */
const clashesWith = (db: Db, coachId: string, w: Window, self: string) =>
  db
    .select({ id: coachAvailability.id })
    .from(coachAvailability)
    .where(
      and(
        eq(coachAvailability.coachId, coachId),
        ne(coachAvailability.id, self),
        // An exception closing hours only clashes with another exception.
        eq(coachAvailability.closed, w.closed),
        eq(coachAvailability.dayOfWeek, w.dayOfWeek),
        w.isRecurring ? undefined : or(eq(coachAvailability.isRecurring, true), eq(coachAvailability.specificDate, w.specificDate!)),
        lt(coachAvailability.startTime, w.endTime),
        gt(coachAvailability.endTime, w.startTime),
      ),
    );

const overlapping = () =>
  new AppError('CONFLICT', 'This window overlaps another of your windows on that day. Change or remove that one first.', {
    fields: { startTime: 'overlaps another window' },
  });

/**
 * The writes that move a coach's windows from UTC into the zone they confirm (the first zone they choose),
 * so that every slot offered stays at the same instant at that moment (`utcWindowsInZone`). For the
 * batch that sets users.time_zone, placed before that write: each is conditioned on the coach still having
 * no zone, so a second confirm at the same moment converts nothing twice. Later zone changes keep the
 * windows' local hours (the coach moved; their working day did not).
 */
export async function confirmZoneWrites(db: Db, coachId: string, zone: string, now: Date) {
  const rows = await db.select().from(coachAvailability).where(eq(coachAvailability.coachId, coachId)).all();
  if (rows.length === 0) return [];
  const unconfirmed = exists(
    db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, coachId), isNull(users.timeZone))),
  );
  const converted = utcWindowsInZone(rows, zone, now);
  return [
    db.delete(coachAvailability).where(
      and(
        eq(coachAvailability.coachId, coachId),
        inArray(
          coachAvailability.id,
          rows.map((r) => r.id),
        ),
        unconfirmed,
      ),
    ),
    // Insert … select: no row when the coach has a zone already. Columns in the table's order.
    ...converted.map((w) =>
      db
        .insert(coachAvailability)
        .select(
          sql`SELECT ${crypto.randomUUID()}, ${coachId}, ${w.dayOfWeek}, ${w.startTime}, ${w.endTime}, ${w.isRecurring ? 1 : 0}, ${w.specificDate}, ${w.closed ? 1 : 0}, ${w.createdAt.getTime()} WHERE ${unconfirmed}`,
        ),
    ),
  ];
}

export const availability = createApp()
  .openapi(
    authRoute({
      method: 'get',
      path: '/',
      summary: 'The signed-in coach’s availability windows',
      roles: COACHES,
      responses: { 200: okBody('Windows', z.array(Availability)) },
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
      path: '/',
      summary: `Add a weekly or one-off availability window (local time in the coach’s zone; 409 if it overlaps another); a coach keeps at most ${MAX_AVAILABILITY_WINDOWS}`,
      roles: COACHES,
      errors: ['CONFLICT'],
      request: { body: jsonBody(AvailabilityInput) },
      responses: { 201: okBody('Added', Availability) },
    }),
    async (c) => {
      const db = c.var.db;
      const coachId = c.get('user').id;
      const id = crypto.randomUUID();
      const w = windowOf(c.req.valid('json'));
      const windows = db.select({ n: count() }).from(coachAvailability).where(eq(coachAvailability.coachId, coachId));
      // Inserted, then taken back in the same batch if it overlaps another window or passes the limit.
      const [added, clashed, undone] = await db.batch([
        db
          .insert(coachAvailability)
          .values({ id, coachId, ...w })
          .returning(),
        db
          .delete(coachAvailability)
          .where(and(eq(coachAvailability.id, id), exists(clashesWith(db, coachId, w, id))))
          .returning({ id: coachAvailability.id }),
        db
          .delete(coachAvailability)
          .where(and(eq(coachAvailability.id, id), passes(windows, MAX_AVAILABILITY_WINDOWS)))
          .returning({ id: coachAvailability.id }),
      ]);
      if (clashed.length > 0) throw overlapping();
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
      path: '/{id}',
      summary: 'Replace one of the coach’s windows (409 if it would overlap another)',
      roles: COACHES,
      errors: ['NOT_FOUND', 'CONFLICT'],
      request: { params: IdParams, body: jsonBody(AvailabilityInput) },
      responses: { 200: okBody('Changed', Availability) },
    }),
    async (c) => {
      const db = c.var.db;
      const coachId = c.get('user').id;
      const { id } = c.req.valid('param');
      const w = windowOf(c.req.valid('json'));
      const mine = and(eq(coachAvailability.id, id), eq(coachAvailability.coachId, coachId));
      const row = await db
        .update(coachAvailability)
        .set(w)
        .where(and(mine, notExists(clashesWith(db, coachId, w, id))))
        .returning()
        .get();
      if (!row) {
        const found = await db.select({ id: coachAvailability.id }).from(coachAvailability).where(mine).get();
        throw found ? overlapping() : new AppError('NOT_FOUND', 'No such window');
      }
      return c.json(ok(availabilityOut(row)), 200);
    },
  )
  .openapi(
    authRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Remove one of the coach’s windows (booked appointments stay)',
      roles: COACHES,
      errors: ['NOT_FOUND'],
      request: { params: IdParams },
      responses: { 200: okBody('Removed', z.object({ id: z.string() })) },
    }),
    async (c) => {
      const gone = await c.var.db
        .delete(coachAvailability)
        .where(and(eq(coachAvailability.id, c.req.valid('param').id), eq(coachAvailability.coachId, c.get('user').id)))
        .returning({ id: coachAvailability.id });
      if (gone.length === 0) throw new AppError('NOT_FOUND', 'No such window');
      return c.json(ok({ id: gone[0]!.id }), 200);
    },
  );
