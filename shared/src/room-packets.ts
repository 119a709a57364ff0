/**
 * The data packets the Worker (the session's Durable Object, through LiveKit's RoomService) sends into a
 * session room: one schema per topic, read by the agent-host and the portals. Nothing here may import
 * Worker runtime code (the agent-host and the portals import it); WebCrypto only, as in workerd and Node.
 *
 * Every packet is sealed: `{ v: 1, body, mac }`, where `mac` is an HMAC-SHA256 of the topic and the body
 * under a key derived from AGENT_HOST_SECRET and the session id. A participant cannot send a packet
 * that looks like the server's (LiveKit marks participants' packets with their identity, and no
 * participant token carries roomAdmin), and even with the server's API key a packet not sealed for this
 * session is refused by the agent. The portals cannot check the mac (they do not hold the secret); they
 * read only packets that arrive from no participant.
 */
import * as z from 'zod/mini';

export const PACKET_TOPICS = { timer: 'hc.timer', control: 'hc.control', whisper: 'hc.whisper' } as const;
export type PacketTopic = (typeof PACKET_TOPICS)[keyof typeof PACKET_TOPICS];

export const END_REASONS = ['cap', 'client', 'coach', 'room_finished', 'empty'] as const;

export const TimerStarted = z.object({ type: z.literal('started'), startedAt: z.number(), capMinutes: z.nullable(z.number()) });
export const TimerWarning = z.object({ type: z.literal('warning'), minutesLeft: z.number(), endsAt: z.number() });
export const TimerEnded = z.object({ type: z.literal('ended'), reason: z.enum(END_REASONS), endedAt: z.number() });

/** hc.timer: to everyone in the room. */
export const TimerPacket = z.discriminatedUnion('type', [TimerStarted, TimerWarning, TimerEnded]);
export type TimerPacket = z.infer<typeof TimerPacket>;

/** hc.control: the coach's mute-from-AI, to the agent only; the agent acknowledges `version`. */
export const ControlPacket = z.object({
  type: z.literal('coach-mute'),
  muted: z.boolean(),
  version: z.number(),
  coachId: z.nullable(z.string()),
  changedAt: z.nullable(z.number()),
});
export type ControlPacket = z.infer<typeof ControlPacket>;

/** hc.whisper: a coach's private instruction, to the agent only. */
export const WhisperPacket = z.object({ type: z.literal('whisper'), id: z.string(), text: z.string() });
export type WhisperPacket = z.infer<typeof WhisperPacket>;

const SCHEMAS = {
  [PACKET_TOPICS.timer]: TimerPacket,
  [PACKET_TOPICS.control]: ControlPacket,
  [PACKET_TOPICS.whisper]: WhisperPacket,
} as const;

export interface PacketBodies {
  'hc.timer': TimerPacket;
  'hc.control': ControlPacket;
  'hc.whisper': WhisperPacket;
}

const Envelope = z.object({ v: z.literal(1), body: z.unknown(), mac: z.string() });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function hmac(key: BufferSource, message: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, encoder.encode(message));
}

/** The session's packet key: HMAC(AGENT_HOST_SECRET, label + sessionId). Only the Worker and the agent-host can make it. */
export async function packetKey(secret: string, sessionId: string): Promise<ArrayBuffer> {
  return hmac(encoder.encode(secret), `hc.packet-key.v1:${sessionId}`);
}

const macInput = (topic: string, body: string) => `${topic}\n${body}`;

/** The bytes of a sealed packet on `topic`. */
export async function sealPacket<T extends PacketTopic>(key: ArrayBuffer, topic: T, body: PacketBodies[T]): Promise<Uint8Array> {
  const parsed = SCHEMAS[topic].parse(body);
  const mac = hex(await hmac(key, macInput(topic, JSON.stringify(parsed))));
  return encoder.encode(JSON.stringify({ v: 1, body: parsed, mac }));
}

function decode(topic: string | undefined, payload: Uint8Array): { topic: PacketTopic; body: unknown; mac: string } | null {
  if (!topic || !(topic in SCHEMAS)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(payload));
  } catch {
    return null;
  }
  const envelope = Envelope.safeParse(raw);
  return envelope.success ? { topic: topic as PacketTopic, body: envelope.data.body, mac: envelope.data.mac } : null;
}

export type OpenedPacket = { [T in PacketTopic]: { topic: T; body: PacketBodies[T] } }[PacketTopic];

/** Why a packet was turned away: not one of ours, not sealed with this session's key, or sealed but of the wrong shape. */
export type PacketRefusal = 'unknown' | 'not-sealed' | 'malformed';

/**
 * Reads a packet the agent received: the packet, or why it was refused. A packet is read only if it is on a
 * known topic, carries this session's mac and has its topic's shape; a sealed packet of the wrong shape
 * means the sender and this schema disagree, and is reported apart so that drift shows in the logs.
 * (JSON.parse then JSON.stringify gives back the sealed text exactly for the plain values these bodies hold.)
 */
export async function inspectPacket(
  key: ArrayBuffer,
  topic: string | undefined,
  payload: Uint8Array,
): Promise<{ packet: OpenedPacket } | { refused: PacketRefusal }> {
  const d = decode(topic, payload);
  if (!d) return { refused: topic && topic in SCHEMAS ? 'malformed' : 'unknown' };
  const expected = hex(await hmac(key, macInput(d.topic, JSON.stringify(d.body))));
  if (!timingSafeEqual(expected, d.mac)) return { refused: 'not-sealed' };
  const body = SCHEMAS[d.topic].safeParse(d.body);
  if (!body.success) return { refused: 'malformed' };
  return { packet: { topic: d.topic, body: body.data } as OpenedPacket };
}

/** inspectPacket, for a caller that needs only the packet: null when it was refused. */
export async function openPacket(key: ArrayBuffer, topic: string | undefined, payload: Uint8Array): Promise<OpenedPacket | null> {
  const result = await inspectPacket(key, topic, payload);
  return 'packet' in result ? result.packet : null;
}

/**
 * Reads a packet's body without checking its mac, for the portals (which cannot hold the secret): only
 * call it for packets that arrived from no participant.
 */
export function readPacket<T extends PacketTopic>(topic: T, payload: Uint8Array): PacketBodies[T] | null {
  const d = decode(topic, payload);
  if (!d || d.topic !== topic) return null;
  const body = SCHEMAS[topic].safeParse(d.body);
  return body.success ? (body.data as PacketBodies[T]) : null;
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
