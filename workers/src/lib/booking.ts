/**
 * What the scheduling routes share (availability, slots, appointments): who may book, which
 * appointments hold a slot, and the race-safe cap on rows a person keeps.
 */

import { MISSED_GRACE_MINUTES } from '@hybrid-coach/shared/slots';
import { TIERS, UPGRADE_URL } from '@hybrid-coach/shared/tiers';
import type { SQLWrapper } from 'drizzle-orm';
import { and, eq, sql } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { appointments, users } from '../db/schema';
import { AppError } from './errors';

/**
 * Clients without human-coach access get 403 with the way to upgrade. Answers the client as an
 * appointment's emails name them (read in the same query).
 */
export async function assertPremium(db: Db, user: AuthUser) {
  if (user.role !== 'CLIENT') throw new AppError('FORBIDDEN', 'Booking is for clients');
  const row = await db
    .select({ tier: users.membershipTier, id: users.id, email: users.email, displayName: users.displayName, timeZone: users.timeZone })
    .from(users)
    .where(eq(users.id, user.id))
    .get();
  if (!row || !TIERS[row.tier].limits.humanCoachAccess) {
    throw new AppError('TIER_LIMIT_REACHED', 'Booking a human coach is part of the Premium plan.', {
      details: { tier: row?.tier ?? null, upgradeUrl: UPGRADE_URL },
    });
  }
  const { tier: _tier, ...client } = row;
  return client;
}

/** The user is a coach open for bookings: booking and moving an appointment both need it. */
export const takesBookings = (coachId: string) => and(eq(users.id, coachId), eq(users.role, 'COACH'), eq(users.isAvailable, true));

/** The appointments that hold their slot. */
export const ACTIVE = ['SCHEDULED', 'ACTIVE'] as const;

/**
 * A cap, race-safe: the insert and a delete on this condition run in one D1 batch (a transaction, and
 * D1 runs one at a time), and the delete takes the new row back out when it made `counted` pass the
 * cap. Two requests at the same moment cannot both slip under it, as a count before the insert would let them.
 */
export const passes = (counted: SQLWrapper, cap: number) => sql`(${counted}) > ${cap}`;

/**
 * Marks MISSED every scheduled appointment whose time passed by its length plus MISSED_GRACE_MINUTES with
 * no session started (a start makes it ACTIVE). One idempotent statement: the cron runs it, and the
 * appointment lists run it in their read's batch so both sides see it as soon as they look. A missed
 * appointment used no session: sessions are counted from coaching_sessions, and it has none.
 */
export const markMissed = (db: Db, now: Date) =>
  db
    .update(appointments)
    .set({ status: 'MISSED' })
    .where(
      and(
        eq(appointments.status, 'SCHEDULED'),
        sql`${appointments.scheduledFor} + (${appointments.durationMinutes} + ${MISSED_GRACE_MINUTES}) * 60000 <= ${now.getTime()}`,
      ),
    );
