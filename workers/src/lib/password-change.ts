/**
 * Setting a password (claim, reset, change) in one batch with what must go with it: every outstanding
 * claim and reset link of the account stops working, and sessions are signed out (all of them after a
 * reset; all but the caller's after a change). Grants and MFA challenges not yet used go too, so a
 * sign-in started before the change cannot finish after it.
 */
import { and, eq, isNull, ne } from 'drizzle-orm';
import type { Batch, Db } from '../db/client';
import { authGrants, claimTokens, loginSessions, mfaChallenges, passwordResetTokens, users } from '../db/schema';

export function passwordSetWrites(
  db: Db,
  userId: string,
  passwordHash: string,
  now: Date,
  { signOut, keepSession }: { signOut: boolean; keepSession?: string },
): Batch {
  const writes: Batch = [
    db.update(users).set({ passwordHash, passwordChangedAt: now }).where(eq(users.id, userId)),
    db
      .update(claimTokens)
      .set({ usedAt: now })
      .where(and(eq(claimTokens.userId, userId), isNull(claimTokens.usedAt))),
    db
      .update(passwordResetTokens)
      .set({ usedAt: now })
      .where(and(eq(passwordResetTokens.userId, userId), isNull(passwordResetTokens.usedAt))),
  ];
  if (signOut) writes.push(...signOutWrites(db, userId, now, keepSession));
  return writes;
}

/**
 * Signs an account out everywhere (all sessions but `keepSession`, if given): its session tokens are
 * refused from the next request, and grants and MFA challenges not yet used go too, so a sign-in started
 * before cannot finish after. For a password set here, and for staff's "sign out everywhere" and "disable".
 */
export function signOutWrites(db: Db, userId: string, now: Date, keepSession?: string): Batch {
  return [
    db
      .update(loginSessions)
      .set({ revokedAt: now })
      .where(and(eq(loginSessions.userId, userId), isNull(loginSessions.revokedAt), ...(keepSession ? [ne(loginSessions.id, keepSession)] : []))),
    db
      .update(authGrants)
      .set({ usedAt: now })
      .where(and(eq(authGrants.userId, userId), isNull(authGrants.usedAt))),
    db
      .update(mfaChallenges)
      .set({ usedAt: now })
      .where(and(eq(mfaChallenges.userId, userId), isNull(mfaChallenges.usedAt))),
  ];
}
