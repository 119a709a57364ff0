/**
 * Data retention (nightly, with the cron): transcript lines and assembled transcripts older than
 * RETENTION_MONTHS (default 12) are deleted, with expired sign-in grants, MFA challenges, claim
 * tokens and login sessions, and queued mail once sent or once its link has expired. Summaries, ratings and usage
 * stay. One log line counts what went.
 */

import { log } from '@hybrid-coach/shared/log';
import { and, isNotNull, lt, or } from 'drizzle-orm';
import type { Db } from '../db/client';
import { authGrants, claimTokens, coachingSessions, emailOutbox, loginSessions, messages, mfaChallenges } from '../db/schema';

export const DEFAULT_RETENTION_MONTHS = 12;

/** RETENTION_MONTHS as a whole number of months (1 to 120); the default when unset or not a number. */
export function retentionMonths(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 120 ? n : DEFAULT_RETENTION_MONTHS;
}

export async function runRetention(db: Db, months: number, now = new Date()) {
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
  const [lines, transcripts, grants, claims, logins, mail, challenges] = await db.batch([
    // Counted by the ids returned: D1's `changes` also counts the search index's trigger writes.
    db.delete(messages).where(lt(messages.spokenAt, cutoff)).returning({ id: messages.id }),
    db
      .update(coachingSessions)
      .set({ transcript: null })
      .where(and(isNotNull(coachingSessions.transcript), lt(coachingSessions.endedAt, cutoff))),
    db.delete(authGrants).where(lt(authGrants.expiresAt, now)),
    db.delete(claimTokens).where(lt(claimTokens.expiresAt, now)),
    db.delete(loginSessions).where(lt(loginSessions.expiresAt, now)),
    db.delete(emailOutbox).where(or(isNotNull(emailOutbox.sentAt), lt(emailOutbox.expiresAt, now))),
    db.delete(mfaChallenges).where(lt(mfaChallenges.expiresAt, now)),
  ]);
  const counts = {
    months,
    cutoff: cutoff.toISOString(),
    transcriptLines: lines.length,
    assembledTranscripts: transcripts.meta.changes,
    expiredGrants: grants.meta.changes,
    expiredClaimTokens: claims.meta.changes,
    expiredLoginSessions: logins.meta.changes,
    sentOrExpiredMail: mail.meta.changes,
    expiredMfaChallenges: challenges.meta.changes,
  };
  log('info', 'retention: old transcripts and expired credentials deleted', counts);
  return counts;
}
