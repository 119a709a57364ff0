/**
 * Consent before sessions: a client starts a session only after agreeing to the current version of the
 * consent text (shared/src/consent.ts). A new version asks everyone again.
 */

import { CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { consentRecords } from '../db/schema';
import { AppError } from './errors';

/** When the user agreed to the current version of the text, or null. */
export async function consentedAt(db: Db, userId: string): Promise<Date | null> {
  const row = await db
    .select({ agreedAt: consentRecords.agreedAt })
    .from(consentRecords)
    .where(and(eq(consentRecords.userId, userId), eq(consentRecords.version, CONSENT_VERSION)))
    .get();
  return row?.agreedAt ?? null;
}

/** 403 CONSENT_REQUIRED unless the user agreed to the current version (`details.version` says which). */
export async function assertConsented(db: Db, userId: string): Promise<void> {
  if (await consentedAt(db, userId)) return;
  throw new AppError('CONSENT_REQUIRED', 'Agree to what is recorded before your session: see GET /api/users/me/consent', {
    details: { version: CONSENT_VERSION },
  });
}

/** Records the user's agreement to the current version; agreeing again keeps the first time. */
export async function recordConsent(db: Db, userId: string, now = new Date()): Promise<void> {
  await db.insert(consentRecords).values({ userId, version: CONSENT_VERSION, agreedAt: now }).onConflictDoNothing();
}
