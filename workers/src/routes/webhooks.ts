import { Hono } from 'hono';
import type { AppEnv } from '../app-env';
import { AppError, ok } from '../lib/errors';
import { sessionIdOf, webhookReceiver } from '../lib/livekit';
import { log } from '../lib/log';
import { sessionRoom } from '../lib/rooms';

const FORWARDED = new Set(['room_started', 'room_finished', 'participant_joined', 'participant_left', 'track_published']);
const AGENT_KIND = 4; // livekit.ParticipantInfo.Kind.AGENT

/** Webhooks from LiveKit, verified over the raw body; anything unsigned or forged changes nothing. */
export const webhooks = new Hono<AppEnv>().post('/livekit', async (c) => {
  const raw = await c.req.text();
  let event;
  try {
    event = await webhookReceiver(c.env).receive(raw, c.req.header('Authorization'));
  } catch {
    throw new AppError('UNAUTHORIZED', 'Webhook signature is missing or invalid');
  }
  const sessionId = event.room?.name ? sessionIdOf(event.room.name) : null;
  if (!sessionId || !FORWARDED.has(event.event)) return c.json(ok({ applied: false }), 200);

  const p = event.participant;
  const state = await sessionRoom(c.env, sessionId).onLiveKitEvent({
    id: event.id,
    event: event.event,
    createdAtMs: Number(event.createdAt) * 1000,
    ...(p
      ? {
          participant: {
            sid: p.sid,
            identity: p.identity,
            name: p.name,
            isAgent: Number(p.kind) === AGENT_KIND,
            attributes: { ...p.attributes },
          },
        }
      : {}),
    ...(event.track ? { trackSid: event.track.sid } : {}),
  });
  log('info', 'livekit webhook', { requestId: c.get('requestId'), sessionId, event: event.event, known: state !== null });
  return c.json(ok({ applied: state !== null }), 200);
});
