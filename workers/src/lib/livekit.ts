/** LiveKit from the edge: room service, agent dispatch, tokens, webhooks (livekit-server-sdk v2 runs in workerd). */
import { AccessToken, AgentDispatchClient, DataPacket_Kind, RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';

type LiveKitEnv = Pick<Env, 'LIVEKIT_URL' | 'LIVEKIT_API_KEY' | 'LIVEKIT_API_SECRET'>;

export const ROOM_PREFIX = 'session-';
export const roomNameFor = (sessionId: string) => `${ROOM_PREFIX}${sessionId}`;
export const sessionIdOf = (roomName: string) => (roomName.startsWith(ROOM_PREFIX) ? roomName.slice(ROOM_PREFIX.length) : null);

/** Seconds a new room waits for its first participant, and stays after the last one leaves. */
export const ROOM_EMPTY_TIMEOUT_S = 600;
export const ROOM_DEPARTURE_TIMEOUT_S = 120;
/** Client, AI, coach and one spare. */
export const ROOM_MAX_PARTICIPANTS = 4;
export const TOKEN_TTL_S = 2 * 60 * 60;

function secret(env: LiveKitEnv): string {
  if (!env.LIVEKIT_API_SECRET) {
    throw new Error('LIVEKIT_API_SECRET is required: set it with `wrangler secret put LIVEKIT_API_SECRET`, or in .dev.vars locally');
  }
  return env.LIVEKIT_API_SECRET;
}

/** The server API speaks HTTP at the same host clients reach over WebSocket. */
export const httpUrl = (url: string) => url.replace(/^ws(s?):\/\//, 'http$1://');

export const roomService = (env: LiveKitEnv) => new RoomServiceClient(httpUrl(env.LIVEKIT_URL), env.LIVEKIT_API_KEY, secret(env));
export const agentDispatch = (env: LiveKitEnv) =>
  new AgentDispatchClient(httpUrl(env.LIVEKIT_URL), env.LIVEKIT_API_KEY, secret(env));
export const webhookReceiver = (env: LiveKitEnv) => new WebhookReceiver(env.LIVEKIT_API_KEY, secret(env));

/** A token for one room only: identity = user id; coaches may administer and record the room. */
export async function mintRoomToken(
  env: LiveKitEnv,
  p: { roomName: string; identity: string; name: string; role: 'client' | 'coach' },
): Promise<string> {
  const token = new AccessToken(env.LIVEKIT_API_KEY, secret(env), {
    identity: p.identity,
    name: p.name,
    ttl: TOKEN_TTL_S,
    attributes: { role: p.role },
  });
  token.addGrant({
    room: p.roomName,
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: false,
    roomAdmin: p.role === 'coach',
    roomRecord: p.role === 'coach',
  });
  return token.toJwt();
}

/** Sends a reliable, server-originated data packet: participants cannot forge these. */
export async function sendPacket(
  env: LiveKitEnv,
  roomName: string,
  topic: string,
  payload: unknown,
  destinationIdentities?: string[],
): Promise<void> {
  await roomService(env).sendData(roomName, new TextEncoder().encode(JSON.stringify(payload)), DataPacket_Kind.RELIABLE, {
    topic,
    ...(destinationIdentities ? { destinationIdentities } : {}),
  });
}
