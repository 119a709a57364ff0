/**
 * What the Worker and the agent-host say to each other about a live session: one zod schema per
 * message, parsed by whichever side receives it (the Worker's webhooks, the agent-host's Worker API
 * client). Nothing here may import Worker runtime code.
 */
import { z } from 'zod';

/** Every session's LiveKit room is `session-<sessionId>`. */
export const ROOM_PREFIX = 'session-';
export const roomNameFor = (sessionId: string) => `${ROOM_PREFIX}${sessionId}`;
export const sessionIdOf = (roomName: string) => (roomName.startsWith(ROOM_PREFIX) ? roomName.slice(ROOM_PREFIX.length) : null);

/** The AI participant's attribute in the room: 'offline' (local stand-ins) or 'live' (Deepgram and OpenAI). */
export const AI_MODE_ATTRIBUTE = 'hc.ai_mode';

/** A 2xx answer of the Worker (and of the agent-host): `{ success: true, data }`. */
export const replyOf = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });

/**
 * What the agent-host tells the Worker about the session it speaks of in every call (context, transcript,
 * control acknowledgement, summary): the session id from the dispatch and the room its job is really in.
 * The Worker refuses a session id that is not that room's, so a dispatch that names another session
 * cannot read or write it. Also the body of POST /api/webhooks/agent/context.
 */
export const SessionRef = z.object({ sessionId: z.string().min(1).max(64), roomName: z.string().min(1).max(128) });
export type SessionRef = z.infer<typeof SessionRef>;

/** The dispatch metadata the Worker gives each agent job (session-room.ts). */
export const DispatchMetadata = z.object({ sessionId: z.string(), clientId: z.string() });
export type DispatchMetadata = z.infer<typeof DispatchMetadata>;

const SESSION_STATUSES = ['WAITING', 'ACTIVE', 'COMPLETED', 'CANCELLED'] as const;

/** The answer of POST /api/webhooks/agent/context: what the AI coach is told when it (re)joins. */
export const AgentContext = z.object({
  sessionId: z.string(),
  status: z.enum(SESSION_STATUSES),
  client: z.object({
    id: z.string(),
    displayName: z.string(),
    coachingGoals: z.string().nullable(),
    symptoms: z.string().nullable(),
    initialMood: z.number().nullable(),
    facts: z.array(z.string()),
    challenges: z.array(z.string()),
    lastSummary: z.string().nullable(),
    /** Notes coaches marked shareable with the AI, newest first (private notes never come here). */
    coachNotes: z.array(z.string()),
  }),
  coach: z.object({ id: z.string(), displayName: z.string() }).nullable(),
  /** The coach's mute-from-AI as the hc.control packet carries it; the agent acknowledges `version`. */
  control: z.object({ muted: z.boolean(), version: z.number() }),
  capMinutes: z.number().nullable(),
  /**
   * What the AI has heard so far in this session, oldest first (lines it did not hear, such as a
   * muted coach's, are left out), coach whispers included: a rejoining agent carries on from here;
   * the summary is made of the speech.
   */
  history: z.array(
    z.object({
      role: z.enum(['client', 'coach', 'ai']),
      kind: z.enum(['speech', 'whisper']),
      speakerName: z.string(),
      text: z.string(),
      at: z.number(),
    }),
  ),
});
export type AgentContext = z.infer<typeof AgentContext>;
export const AgentContextReply = replyOf(AgentContext);

/** POST /api/webhooks/agent/control-ack: the agent applied the coach's mute state of `version`. */
export const ControlAckMessage = SessionRef.extend({ version: z.number().int().min(0) });
export type ControlAckMessage = z.infer<typeof ControlAckMessage>;
export const ControlAckReply = replyOf(z.object({ acked: z.number().nullable(), current: z.number() }));

/** POST /api/webhooks/agent/transcript: final lines (every human and the AI), stored once per idempotency key. */
export const TranscriptBatch = SessionRef.extend({
  lines: z
    .array(
      z.object({
        idempotencyKey: z.string().min(8).max(200),
        speakerIdentity: z.string().min(1).max(200),
        role: z.enum(['client', 'coach', 'ai']),
        text: z.string().min(1).max(10_000),
        startedAt: z.number().int().min(0),
        endedAt: z.number().int().min(0).nullable(),
        heardByAi: z.boolean(),
      }),
    )
    .min(1)
    .max(100),
});
export type TranscriptBatch = z.infer<typeof TranscriptBatch>;
export const TranscriptReply = replyOf(z.object({ stored: z.number(), duplicates: z.number() }));

const ShortList = z.array(z.string().trim().min(1).max(500)).max(20);

/** POST /api/webhooks/agent/summary: what the model made of a finished session. */
export const SessionSummaryMessage = SessionRef.extend({
  summary: z.string().trim().min(1).max(10_000),
  keyInsights: ShortList,
  nextSteps: ShortList,
  /** New facts about the client, added to their profile. */
  newFacts: ShortList,
  /** What the client is working through now (stress at work, poor sleep, ...), added to their profile's challenges. Absent from summaries queued by an agent-host older than this field. */
  challenges: ShortList.default([]),
});
/** As sent: `challenges` may be absent. */
export type SessionSummaryMessage = z.input<typeof SessionSummaryMessage>;
export const SummaryReply = replyOf(z.object({ transcriptLines: z.number(), facts: z.number() }));

/** A duration in whole milliseconds (a figure agents-js did not measure is null). */
const TimingMs = z.number().int().min(0).max(86_400_000);
/** The p50 or the worst of a session's replies to the client, stage by stage (agent-host/src/agent/turn-timings.ts). */
export const TurnTimingFigures = z
  .object({
    /** The client's last speech → the turn declared over. */
    endOfUtteranceMs: TimingMs.nullable(),
    /** The model's request → its first token. */
    llmFirstTokenMs: TimingMs.nullable(),
    /** The voice's first text → its first audio. */
    ttsFirstByteMs: TimingMs.nullable(),
    /** The client's last speech → the reply's first audio. */
    totalMs: TimingMs,
  })
  .strict();
export type TurnTimingFigures = z.infer<typeof TurnTimingFigures>;

/**
 * POST /api/webhooks/agent/turn-timings: how fast the AI answered the client in this session so far (times
 * only, strict: nothing of what was said fits in it). Sent through the outbox after the first reply, every
 * few replies and at the job's end; the Worker keeps the one measured last (`measuredAt`, then `turns`), so
 * a late redelivery of an older one changes nothing.
 */
export const TurnTimingsMessage = SessionRef.extend({
  /** The LiveKit job that measured it (a restarted agent is a new job, with its own count). */
  jobId: z.string().min(1).max(128),
  /** When the agent-host took these figures (ms since the epoch). */
  measuredAt: z.number().int().min(0),
  /** Replies to the client measured. */
  turns: z.number().int().min(1).max(100_000),
  p50: TurnTimingFigures,
  worst: TurnTimingFigures,
}).strict();
export type TurnTimingsMessage = z.infer<typeof TurnTimingsMessage>;
/** `stored`: false when the Worker already holds figures measured as late or later. */
export const TurnTimingsReply = replyOf(z.object({ stored: z.boolean() }));

/** `text` as JSON, or undefined if it is not JSON (no JSON text parses to undefined). */
export function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Where a message broke the contract, for a log line: the paths and zod's messages, never the
 * values (a transcript line or a secret must not reach the logs).
 */
export function contractIssues(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[issue.path.map(String).join('.') || 'body'] ??= issue.message;
  return fields;
}
