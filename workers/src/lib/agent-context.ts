/**
 * What the AI coach is told about a session when it joins: the client's own words from onboarding,
 * what earlier sessions learned, the coach, and the coach's mute state. Of the coaches' notes on the
 * client, only those marked shareable with the AI are part of it.
 */

import type { AgentContext } from '@hybrid-coach/shared/agent-contract';
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { clientNotes, coachingSessions, messages, type Profile, profiles, users } from '../db/schema';
import type { SessionRoom } from '../session-room';
import { AppError } from './errors';
import { decryptField, openProfile } from './field-crypto';

/** Lines of history sent at most (a 20-minute session has well under a hundred). */
const HISTORY_LINES = 500;
/** Shareable coach notes sent at most, newest first. */
const COACH_NOTES = 20;

/** A client's profile (intake answers opened: `openProfile`) as their coach and the AI read it: empty where onboarding has not filled it in. */
export const profileOf = (profile: Profile | undefined) => ({
  coachingGoals: profile?.coachingGoals ?? null,
  symptoms: profile?.symptoms ?? null,
  initialMood: profile?.initialMood ?? null,
  clientFacts: profile?.clientFacts ?? [],
  challenges: profile?.challenges ?? [],
  lastSummary: profile?.lastSummary ?? null,
  onboardingCompleted: profile?.onboardingCompleted ?? false,
});

export async function agentContext(env: Env, db: Db, room: DurableObjectStub<SessionRoom>, sessionId: string): Promise<AgentContext> {
  const session = await db
    .select({
      id: coachingSessions.id,
      status: coachingSessions.status,
      clientId: coachingSessions.clientId,
      coachId: coachingSessions.coachId,
      capMinutes: coachingSessions.capMinutes,
    })
    .from(coachingSessions)
    .where(eq(coachingSessions.id, sessionId))
    .get();
  if (!session) throw new AppError('NOT_FOUND', 'No such session');
  const [client, profile, coach, live, heard, notes] = await Promise.all([
    db.select({ id: users.id, displayName: users.displayName }).from(users).where(eq(users.id, session.clientId)).get(),
    db.select().from(profiles).where(eq(profiles.userId, session.clientId)).get(),
    session.coachId
      ? db.select({ id: users.id, displayName: users.displayName }).from(users).where(eq(users.id, session.coachId)).get()
      : Promise.resolve(undefined),
    room.agentView(),
    db
      .select({ role: messages.speakerRole, kind: messages.kind, text: messages.text, at: messages.spokenAt })
      .from(messages)
      .where(and(eq(messages.sessionId, sessionId), eq(messages.heardByAi, true)))
      .orderBy(asc(messages.spokenAt))
      .limit(HISTORY_LINES)
      .all(),
    db
      .select({ id: clientNotes.id, text: clientNotes.text })
      .from(clientNotes)
      .where(and(eq(clientNotes.clientId, session.clientId), eq(clientNotes.shareableWithAi, true)))
      .orderBy(desc(clientNotes.updatedAt))
      .limit(COACH_NOTES)
      .all(),
  ]);
  if (!client) throw new AppError('NOT_FOUND', 'No such session');
  const [opened, coachNotes] = await Promise.all([
    openProfile(env, profile),
    Promise.all(notes.map((n) => decryptField(env, 'client_notes.text', n.id, n.text))),
  ]);
  const { clientFacts, onboardingCompleted, ...known } = profileOf(opened);
  return {
    sessionId,
    // The room's own status is ahead of D1's at the end of a session.
    status: live?.status === 'COMPLETED' ? 'COMPLETED' : session.status,
    client: {
      id: client.id,
      displayName: client.displayName,
      ...known,
      facts: clientFacts,
      coachNotes,
    },
    coach: coach ?? null,
    control: { muted: live?.muted ?? false, version: live?.version ?? 0 },
    capMinutes: session.capMinutes ?? null,
    history: heard.map((m) => ({
      role: m.role,
      kind: m.kind,
      speakerName: m.role === 'client' ? client.displayName : m.role === 'coach' ? (coach?.displayName ?? 'Coach') : 'AI coach',
      text: m.text,
      at: m.at.getTime(),
    })),
  };
}
