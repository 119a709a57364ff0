/**
 * A coach's availability: weekly windows and one-off dates (UTC), the times their slots are cut from
 * (shared/src/slots.ts). Coaches and admins, each their own windows.
 */
import { z } from '@hono/zod-openapi';
import { MAX_AVAILABILITY_WINDOWS } from '@hybrid-coach/shared/slots';
import { and, asc, count, eq } from 'drizzle-orm';
import { coachAvailability } from '../db/schema';
import { passes } from '../lib/booking';
import { AppError, ok } from '../lib/errors';
import { authRoute, COACHES, createApp, IdParams, jsonBody, okBody } from '../lib/openapi';

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
});
const windowOf = (a: z.infer<typeof AvailabilityInput>) => ({
  dayOfWeek: a.specificDate ? new Date(`${a.specificDate}T00:00:00Z`).getUTCDay() : a.dayOfWeek!,
  startTime: a.startTime,
  endTime: a.endTime,
  isRecurring: a.specificDate === undefined,
  specificDate: a.specificDate ?? null,
});

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
      summary: `Add a weekly or one-off availability window (UTC); a coach keeps at most ${MAX_AVAILABILITY_WINDOWS}`,
      roles: COACHES,
      errors: ['CONFLICT'],
      request: { body: jsonBody(AvailabilityInput) },
      responses: { 201: okBody('Added', Availability) },
    }),
    async (c) => {
      const db = c.var.db;
      const coachId = c.get('user').id;
      const id = crypto.randomUUID();
      const windows = db.select({ n: count() }).from(coachAvailability).where(eq(coachAvailability.coachId, coachId));
      const [added, undone] = await db.batch([
        db
          .insert(coachAvailability)
          .values({ id, coachId, ...windowOf(c.req.valid('json')) })
          .returning(),
        db
          .delete(coachAvailability)
          .where(and(eq(coachAvailability.id, id), passes(windows, MAX_AVAILABILITY_WINDOWS)))
          .returning({ id: coachAvailability.id }),
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
      path: '/{id}',
      summary: 'Replace one of the coach’s windows',
      roles: COACHES,
      errors: ['NOT_FOUND'],
      request: { params: IdParams, body: jsonBody(AvailabilityInput) },
      responses: { 200: okBody('Changed', Availability) },
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
