/**
 * The live events a session's Durable Object sends its portals over the WebSocket (GET /api/rooms/:id/ws):
 * one zod schema, used by the object to type what it broadcasts and by the portals to read it. The timer
 * events carry the same fields as the hc.timer packets (room-packets.ts), so the two ways a portal hears
 * of the clock cannot drift apart ("ended" has `endedAt` in both). zod/mini: the portals bundle it.
 */
import * as z from 'zod/mini';
import { END_REASONS, TimerStarted, TimerWarning } from './room-packets';

const ROLES = ['client', 'coach', 'ai', 'other'] as const;

export const RoomEnd = z.object({ reason: z.enum(END_REASONS), at: z.number(), durationSeconds: z.number(), minutes: z.number() });

/** The live state of a session (GET /api/rooms/:id answers the same; its OpenAPI schema is checked against this type). */
export const RoomSnapshot = z.object({
  sessionId: z.string(),
  roomName: z.string(),
  status: z.enum(['WAITING', 'ACTIVE', 'COMPLETED']),
  participants: z.array(z.object({ identity: z.string(), name: z.string(), role: z.enum(ROLES), joinedAt: z.nullable(z.number()) })),
  coachMutedFromAi: z.boolean(),
  muteChangedAt: z.nullable(z.number()),
  /** The agent in the room has acknowledged the current mute state. */
  muteAppliedByAi: z.boolean(),
  timer: z.object({
    startedAt: z.nullable(z.number()),
    elapsedSeconds: z.number(),
    capMinutes: z.nullable(z.number()),
    remainingSeconds: z.nullable(z.number()),
  }),
  warningsSent: z.array(z.enum(['5min', '1min'])),
  end: z.nullable(RoomEnd),
});
export type RoomSnapshot = z.infer<typeof RoomSnapshot>;

export const TranscriptLineEvent = z.object({
  id: z.string(),
  speakerIdentity: z.string(),
  speakerRole: z.enum(['client', 'coach', 'ai']),
  text: z.string(),
  heardByAi: z.boolean(),
  spokenAt: z.number(),
  /** Coaches only see whispers; absent for speech. */
  kind: z.optional(z.enum(['speech', 'whisper'])),
});

export const RoomEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), state: RoomSnapshot }),
  TimerStarted,
  TimerWarning,
  z.object({ type: z.literal('ended'), reason: z.enum(END_REASONS), endedAt: z.number(), end: z.nullable(RoomEnd) }),
  z.object({ type: z.literal('transcript'), line: TranscriptLineEvent }),
  z.object({ type: z.literal('participants'), participants: RoomSnapshot.shape.participants }),
  z.object({ type: z.literal('mute'), muted: z.boolean(), changedAt: z.number() }),
  z.object({ type: z.literal('flagged'), at: z.number(), reason: z.string() }),
]);
export type RoomEvent = z.infer<typeof RoomEvent>;

/** A WebSocket message checked against `schema`: what it says, or null for anything that does not match (or is not JSON). */
export function readMessage<T>(schema: z.ZodMiniType<T>, text: string): T | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** A WebSocket message as a portal reads it: the event, or null for anything it does not know. */
export const readRoomEvent = (text: string): RoomEvent | null => readMessage(RoomEvent, text);
