/**
 * What the scheduling routes share (availability, slots, appointments): who may book, which
 * appointments hold a slot, and the race-safe cap on rows a person keeps.
 */

import { TIERS, UPGRADE_URL } from '@hybrid-coach/shared/tiers';
import type { SQLWrapper } from 'drizzle-orm';
import { eq, sql } from 'drizzle-orm';
import type { AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { users } from '../db/schema';
import { AppError } from './errors';

/** Clients without human-coach access get 403 with the way to upgrade. */
export async function assertPremium(db: Db, user: AuthUser): Promise<void> {
  if (user.role !== 'CLIENT') throw new AppError('FORBIDDEN', 'Booking is for clients');
  const row = await db.select({ tier: users.membershipTier }).from(users).where(eq(users.id, user.id)).get();
  if (!row || !TIERS[row.tier].limits.humanCoachAccess) {
    throw new AppError('TIER_LIMIT_REACHED', 'Booking a human coach is part of the Premium plan.', {
      details: { tier: row?.tier ?? null, upgradeUrl: UPGRADE_URL },
    });
  }
}

/** The appointments that hold their slot. */
export const ACTIVE = ['SCHEDULED', 'ACTIVE'] as const;

/**
 * A cap, race-safe: the insert and a delete on this condition run in one D1 batch (a transaction, and
 * D1 runs one at a time), and the delete takes the new row back out when it made `counted` pass the
 * cap. Two requests at the same moment cannot both slip under it, as a count before the insert would let them.
 */
export const passes = (counted: SQLWrapper, cap: number) => sql`(${counted}) > ${cap}`;
