import { env, SELF } from 'cloudflare:test';
import { AccessToken, AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { httpUrl } from '../src/lib/livekit';

export const roomService = () => new RoomServiceClient(httpUrl(env.LIVEKIT_URL), env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET);
export const dispatchClient = () => new AgentDispatchClient(httpUrl(env.LIVEKIT_URL), env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET);

export interface FakeParticipant {
  sid: string;
  identity: string;
  name?: string;
  agent?: boolean;
  role?: 'client' | 'coach';
}

let seq = 0;

/** A LiveKit webhook body as livekit-server sends it (protobuf JSON). */
export function webhookBody(
  event: 'room_started' | 'room_finished' | 'participant_joined' | 'participant_left' | 'track_published',
  roomName: string,
  p?: FakeParticipant,
  opts: { id?: string; createdAt?: number } = {},
): string {
  seq += 1;
  return JSON.stringify({
    event,
    id: opts.id ?? `EV_test_${seq}_${crypto.randomUUID().slice(0, 8)}`,
    createdAt: String(Math.floor((opts.createdAt ?? Date.now()) / 1000)),
    room: { sid: `RM_${roomName}`, name: roomName },
    ...(p
      ? {
          participant: {
            sid: p.sid,
            identity: p.identity,
            name: p.name ?? p.identity,
            kind: p.agent ? 'AGENT' : 'STANDARD',
            attributes: p.role ? { role: p.role } : {},
            state: event === 'participant_left' ? 'DISCONNECTED' : 'ACTIVE',
          },
        }
      : {}),
  });
}

/** Signs a body the way livekit-server does: a JWT from the API key carrying the body's SHA-256. */
export async function sign(body: string, secret = env.LIVEKIT_API_SECRET, key = env.LIVEKIT_API_KEY): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  const at = new AccessToken(key, secret);
  at.sha256 = btoa(String.fromCharCode(...new Uint8Array(digest)));
  return at.toJwt();
}

export async function deliver(body: string, authorization?: string): Promise<Response> {
  return SELF.fetch('http://api.test/api/webhooks/livekit', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/webhook+json',
      ...(authorization === undefined ? { Authorization: await sign(body) } : authorization ? { Authorization: authorization } : {}),
    },
    body,
  });
}

/** Sends a signed event about `roomName` and returns the Worker's answer. */
export async function hook(event: Parameters<typeof webhookBody>[0], roomName: string, p?: FakeParticipant, opts?: { id?: string; createdAt?: number }) {
  const res = await deliver(webhookBody(event, roomName, p, opts));
  if (res.status !== 200) throw new Error(`webhook refused: ${res.status} ${await res.text()}`);
  return res;
}
