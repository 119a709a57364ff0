/**
 * What the Worker and the agent-host say to each other about a live session (the agent-host imports
 * these types; nothing here may import Worker runtime code).
 */

/** Every session's LiveKit room is `session-<sessionId>`. */
export const ROOM_PREFIX = 'session-';
export const roomNameFor = (sessionId: string) => `${ROOM_PREFIX}${sessionId}`;
export const sessionIdOf = (roomName: string) => (roomName.startsWith(ROOM_PREFIX) ? roomName.slice(ROOM_PREFIX.length) : null);

/**
 * What the agent-host tells the Worker about the session it speaks of in every call (context, transcript,
 * control acknowledgement, summary): the session id from the dispatch and the room its job is really in.
 * The Worker refuses a session id that is not that room's, so a dispatch that names another session
 * cannot read or write it.
 */
export interface SessionRef {
  sessionId: string;
  roomName: string;
}

/** The dispatch metadata the Worker gives each agent job (session-room.ts). */
export interface DispatchMetadata {
  sessionId: string;
  clientId: string;
}

/** The AI participant's attribute in the room: 'offline' (local stand-ins) or 'live' (Deepgram and OpenAI). */
export const AI_MODE_ATTRIBUTE = 'hc.ai_mode';

/** The answer of POST /api/webhooks/agent/context: what the AI coach is told when it (re)joins. */
export interface AgentContext {
  sessionId: string;
  status: 'WAITING' | 'ACTIVE' | 'COMPLETED' | 'CANCELLED';
  client: {
    id: string;
    displayName: string;
    coachingGoals: string | null;
    symptoms: string | null;
    initialMood: number | null;
    facts: string[];
    challenges: string[];
    lastSummary: string | null;
    /** Notes coaches marked shareable with the AI, newest first (private notes never come here). */
    coachNotes: string[];
  };
  coach: { id: string; displayName: string } | null;
  /** The coach's mute-from-AI as the hc.control packet carries it; the agent acknowledges `version`. */
  control: { muted: boolean; version: number };
  capMinutes: number | null;
  /**
   * What the AI has heard so far in this session, oldest first (lines it did not hear, such as a
   * muted coach's, are left out), coach whispers included: a rejoining agent carries on from here;
   * the summary is made of the speech.
   */
  history: { role: 'client' | 'coach' | 'ai'; kind: 'speech' | 'whisper'; speakerName: string; text: string; at: number }[];
}

/** POST /api/webhooks/agent/summary: what the model made of a finished session. */
export interface SessionSummaryMessage extends SessionRef {
  summary: string;
  keyInsights: string[];
  nextSteps: string[];
  /** New facts about the client, added to their profile. */
  newFacts: string[];
  /** What the client is working through now (stress at work, poor sleep, ...), added to their profile's challenges. */
  challenges?: string[];
}
