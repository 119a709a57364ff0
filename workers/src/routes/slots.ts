/**
 * The free 30-minute slots of the coaches taking bookings, for PREMIUM clients to book
 * (routes/appointments.ts). Windows are read in each coach's zone; times are UTC instants, which portals
 * show in the viewer's time zone.
 */
import { z } from '@hono/zod-openapi';
import { BOOKING_HORIZON_DAYS, bookingHorizon, DEFAULT_TIME_ZONE, freeSlots } from '@hybrid-coach/shared/slots';
import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import { readInChunks } from '../db/client';
import { appointments, coachAvailability, users } from '../db/schema';
import { ACTIVE, assertPremium } from '../lib/booking';
import { ok } from '../lib/errors';
import { authRoute, createApp, okBody } from '../lib/openapi';

export const slots = createApp().openapi(
  authRoute({
    method: 'get',
    path: '/slots',
    summary: `PREMIUM clients: the free slots of each coach open for bookings, in the coming days (up to ${BOOKING_HORIZON_DAYS} days ahead)`,
    errors: ['FORBIDDEN', 'TIER_LIMIT_REACHED'],
    request: { query: z.object({ from: z.string().datetime().optional(), days: z.coerce.number().int().min(1).max(28).default(7) }) },
    responses: {
      200: okBody(
        'Coaches with their free slot starts (UTC)',
        z.array(z.object({ coach: z.object({ id: z.string(), displayName: z.string() }), slots: z.array(z.string().datetime()) })),
      ),
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
      .select({ id: users.id, displayName: users.displayName, timeZone: users.timeZone })
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
          .where(
            and(
              inArray(appointments.coachId, chunk),
              inArray(appointments.status, [...ACTIVE]),
              gte(appointments.scheduledFor, from),
              lt(appointments.scheduledFor, to),
            ),
          )
          .all(),
      ),
    ]);
    const result = coaches
      .map(({ timeZone, ...coach }) => ({
        coach,
        slots: freeSlots(
          windows.filter((w) => w.coachId === coach.id),
          booked.filter((b) => b.coachId === coach.id).map((b) => b.at),
          from,
          to,
          now,
          timeZone ?? DEFAULT_TIME_ZONE,
        ).map((d) => d.toISOString()),
      }))
      .filter((x) => x.slots.length > 0);
    return c.json(ok(result), 200);
  },
);
