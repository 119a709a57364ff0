/**
 * Data retention (nightly, with the cron): transcript lines and assembled transcripts older than
 * RETENTION_MONTHS (default 12) are deleted, with expired sign-in grants, MFA challenges, claim
 * and reset tokens and login sessions. Mail rows in a final state (sent, dead, expired, cancelled: they
 * hold no content any more) are kept MAIL_KEPT_DAYS so an operator can see why one failed, then deleted.
 * Summaries, ratings and usage stay. One log line counts what went.
 */

import { log } from '@hybrid-coach/shared/log';
import { and, inArray, isNotNull, lt, or } from 'drizzle-orm';
import type { Db } from '../db/client';
import { authGrants, claimTokens, coachingSessions, emailOutbox, loginSessions, messages, mfaChallenges, passwordResetTokens } from '../db/schema';

/** Days a delivered, dead, expired or cancelled mail row (no content left in it) is kept for operators. */
export const MAIL_KEPT_DAYS = 14;

export const DEFAULT_RETENTION_MONTHS = 12;

/** RETENTION_MONTHS as a whole number of months (1 to 120); the default when unset or not a number. */
export function retentionMonths(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 120 ? n : DEFAULT_RETENTION_MONTHS;
}

export async function runRetention(db: Db, months: number, now = new Date()) {
  const cutoff = new Date(now);
  cutoff.setUTCMonth(cutoff.getUTCMonth() - months);
  const mailCutoff = new Date(now.getTime() - MAIL_KEPT_DAYS * 86_400_000);
  const [lines, transcripts, grants, claims, logins, mail, challenges, resets] = await db.batch([
    // Counted by the ids returned: D1's `changes` also counts the search index's trigger writes.
    db.delete(messages).where(lt(messages.spokenAt, cutoff)).returning({ id: messages.id }),
    db
      .update(coachingSessions)
      .set({ transcript: null })
      .where(and(isNotNull(coachingSessions.transcript), lt(coachingSessions.endedAt, cutoff))),
    db.delete(authGrants).where(lt(authGrants.expiresAt, now)),
    db.delete(claimTokens).where(lt(claimTokens.expiresAt, now)),
    db.delete(loginSessions).where(lt(loginSessions.expiresAt, now)),
    db.delete(emailOutbox).where(
      or(
        and(inArray(emailOutbox.state, ['sent', 'dead', 'expired', 'cancelled']), lt(emailOutbox.createdAt, mailCutoff)),
        // Queued and long past use: the sender expires these itself; this catches any it never saw.
        and(inArray(emailOutbox.state, ['queued']), lt(emailOutbox.expiresAt, mailCutoff)),
      ),
    ),
    db.delete(mfaChallenges).where(lt(mfaChallenges.expiresAt, now)),
    db.delete(passwordResetTokens).where(lt(passwordResetTokens.expiresAt, now)),
  ]);
  const counts = {
    months,
    cutoff: cutoff.toISOString(),
    transcriptLines: lines.length,
    assembledTranscripts: transcripts.meta.changes,
    expiredGrants: grants.meta.changes,
    expiredClaimTokens: claims.meta.changes,
    expiredLoginSessions: logins.meta.changes,
    oldMail: mail.meta.changes,
    expiredResetTokens: resets.meta.changes,
    expiredMfaChallenges: challenges.meta.changes,
  };
  log('info', 'retention: old transcripts and expired credentials deleted', counts);
  return counts;
}
