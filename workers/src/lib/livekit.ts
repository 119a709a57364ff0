/** LiveKit from the edge: room service, agent dispatch, tokens, webhooks (livekit-server-sdk v2 runs in workerd). */
import { AccessToken, AgentDispatchClient, DataPacket_Kind, RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';

type LiveKitEnv = Pick<Env, 'LIVEKIT_URL' | 'LIVEKIT_API_KEY' | 'LIVEKIT_API_SECRET'>;

export { ROOM_PREFIX, roomNameFor, sessionIdOf } from '@hybrid-coach/shared/agent-contract';

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
export const agentDispatch = (env: LiveKitEnv) => new AgentDispatchClient(httpUrl(env.LIVEKIT_URL), env.LIVEKIT_API_KEY, secret(env));
export const webhookReceiver = (env: LiveKitEnv) => new WebhookReceiver(env.LIVEKIT_API_KEY, secret(env));

/**
 * A token for one room only: identity = user id, the role as an attribute (participants cannot change
 * their attributes). No participant gets roomAdmin or roomRecord: with them livekit-server lets a
 * token remove the AI, dispatch agents and send packets that arrive as the server's, and roomRecord is
 * not even scoped to the room. Every coach action goes through the Worker (mute, whisper, end).
 */
export async function mintRoomToken(env: LiveKitEnv, p: { roomName: string; identity: string; name: string; role: 'client' | 'coach' }): Promise<string> {
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
    roomAdmin: false,
    roomRecord: false,
  });
  return token.toJwt();
}

/** Sends a reliable, server-originated data packet (already sealed: shared/src/room-packets.ts). */
export async function sendPacket(env: LiveKitEnv, roomName: string, topic: string, sealed: Uint8Array, destinationIdentities?: string[]): Promise<void> {
  await roomService(env).sendData(roomName, sealed, DataPacket_Kind.RELIABLE, {
    topic,
    ...(destinationIdentities ? { destinationIdentities } : {}),
  });
}
