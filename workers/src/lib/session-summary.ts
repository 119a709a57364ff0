/**
 * The end of a session, on the record: the transcript assembled on the session row, the model's
 * summary (with key insights and next steps), and the client's profile brought up to date. A summary
 * delivered again (the agent-host retries until it lands) writes the same rows again.
 */

import type { SessionSummaryMessage } from '@hybrid-coach/shared/agent-contract';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { coachingSessions, messages, profiles } from '../db/schema';
import { AppError } from './errors';

/** Facts kept on a profile: the newest win. */
export const MAX_PROFILE_FACTS = 50;
/** Challenges kept on a profile: the newest win. */
export const MAX_PROFILE_CHALLENGES = 20;

/**
 * `kept` followed by `added`, without blanks or repeats (case-insensitive; a repeat moves to its
 * newest place), the last `max` of them: what a profile keeps when a session brings new items.
 */
export function mergeNewest(kept: string[], added: string[], max: number): string[] {
  const seen = new Set<string>();
  return [...kept, ...added.map((f) => f.trim()).filter(Boolean)]
    .reverse()
    .filter((f) => {
      const key = f.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, max)
    .reverse();
}

const ROLE_LABEL = { client: 'Client', coach: 'Coach', ai: 'AI coach' } as const;

/** The session's lines as one readable text: `[00:01:05] Client: ...`, time counted from the first line. */
export function assembleTranscript(lines: { speakerRole: 'client' | 'coach' | 'ai'; text: string; heardByAi: boolean; spokenAt: Date }[]): string {
  const t0 = lines[0]?.spokenAt.getTime() ?? 0;
  return lines
    .map((l) => {
      const s = Math.max(0, Math.round((l.spokenAt.getTime() - t0) / 1000));
      const at = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0')).join(':');
      return `[${at}] ${ROLE_LABEL[l.speakerRole]}${l.heardByAi ? '' : ' (not heard by the AI)'}: ${l.text}`;
    })
    .join('\n');
}

/** The summary as the portals show it: the paragraph, then the insights and next steps. */
export function formatSummary(m: Pick<SessionSummaryMessage, 'summary' | 'keyInsights' | 'nextSteps'>): string {
  const parts = [m.summary.trim()];
  if (m.keyInsights.length > 0) parts.push(`Key insights:\n${m.keyInsights.map((i) => `- ${i}`).join('\n')}`);
  if (m.nextSteps.length > 0) parts.push(`Suggested next steps:\n${m.nextSteps.map((i) => `- ${i}`).join('\n')}`);
  return parts.join('\n\n');
}

export async function storeSessionSummary(db: Db, m: SessionSummaryMessage): Promise<{ transcriptLines: number; facts: number }> {
  const session = await db
    .select({ id: coachingSessions.id, clientId: coachingSessions.clientId })
    .from(coachingSessions)
    .where(eq(coachingSessions.id, m.sessionId))
    .get();
  if (!session) throw new AppError('NOT_FOUND', 'No such session');
  const [lines, profile] = await Promise.all([
    db
      .select({ speakerRole: messages.speakerRole, text: messages.text, heardByAi: messages.heardByAi, spokenAt: messages.spokenAt })
      .from(messages)
      // Whispers are the coach's private instructions: not part of the session's record.
      .where(and(eq(messages.sessionId, m.sessionId), eq(messages.kind, 'speech')))
      .orderBy(asc(messages.spokenAt))
      .all(),
    db.select({ facts: profiles.clientFacts, challenges: profiles.challenges }).from(profiles).where(eq(profiles.userId, session.clientId)).get(),
  ]);
  const facts = mergeNewest(profile?.facts ?? [], m.newFacts, MAX_PROFILE_FACTS);
  const challenges = mergeNewest(profile?.challenges ?? [], m.challenges ?? [], MAX_PROFILE_CHALLENGES);
  const summary = formatSummary(m);
  await db.batch([
    db
      .update(coachingSessions)
      .set({ aiSummary: summary, transcript: assembleTranscript(lines) })
      .where(eq(coachingSessions.id, m.sessionId)),
    db
      .insert(profiles)
      .values({ userId: session.clientId, lastSummary: summary, clientFacts: facts, challenges })
      .onConflictDoUpdate({ target: profiles.userId, set: { lastSummary: summary, clientFacts: facts, challenges, updatedAt: new Date() } }),
  ]);
  return { transcriptLines: lines.length, facts: facts.length };
}
