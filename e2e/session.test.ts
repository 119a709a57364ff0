/**
 * One coaching session through the real livekit-server and the real Worker over HTTP: the Worker learns
 * who is in the room only from livekit-server's signed webhooks, talks to the agent only through
 * server-sent data packets, and closes the room and charges the minutes when the session ends.
 * The tests run in order and share one session.
 */

import { openPacket, packetKey } from '@hybrid-coach/shared/room-packets';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { DisconnectReason } from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiOk, eventually, isRecord, login, type Packet, type RoomTicket, skipAfterFirstFailure, TestParticipant } from './helpers';

const CONTROL_TOPIC = 'hc.control';
const AGENT_IDENTITY = 'agent-standin';

interface RoomState {
  sessionId: string;
  status: 'WAITING' | 'ACTIVE' | 'COMPLETED';
  participants: { identity: string; role: 'client' | 'coach' | 'ai' | 'other' }[];
  coachMutedFromAi: boolean;
  muteAppliedByAi: boolean;
  timer: { startedAt: number | null; elapsedSeconds: number };
  end: { reason: string; durationSeconds: number; minutes: number } | null;
}
interface Me {
  id: string;
  usage: { sessionsThisMonth: number; minutesThisMonth: number };
}
interface SessionSummary {
  id: string;
  status: string;
  coachId: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  minutesCharged: number | null;
  endReason: string | null;
}

const livekitUrl = inject('livekitUrl');
const roomService = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));

/** What the agent-host's worker would get from a dispatch: a token of kind AGENT for this room only. */
async function agentToken(roomName: string): Promise<string> {
  const at = new AccessToken(inject('livekitApiKey'), inject('livekitApiSecret'), { identity: AGENT_IDENTITY, name: 'Stand-in agent' });
  at.kind = 'agent';
  at.addGrant({ room: roomName, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
  return at.toJwt();
}

/**
 * What the real agent does with a control packet from the server: acknowledge its version to the
 * Worker (signed), so the room stops resending it. Packets from participants are ignored.
 */
function acknowledgeControl(agent: TestParticipant, sessionId: string): void {
  agent.onPacket = (packet) => {
    if (packet.topic !== CONTROL_TOPIC || packet.from !== undefined || !isRecord(packet.payload) || !isRecord(packet.payload.body)) return;
    const version = packet.payload.body.version;
    if (typeof version !== 'number') return;
    const raw = JSON.stringify({ sessionId, roomName: `session-${sessionId}`, version });
    void signedHeaders(inject('agentHostSecret'), raw, `${sessionId}:control:${version}`).then((headers) =>
      fetch(`${inject('apiOrigin')}/api/webhooks/agent/control-ack`, { method: 'POST', headers, body: raw }),
    );
  };
}

/** A packet's body as the real agent reads it: only if it is sealed for this session (null otherwise). */
async function opened(packet: Packet, sessionId: string): Promise<Record<string, unknown> | null> {
  const key = await packetKey(inject('agentHostSecret'), sessionId);
  const got = await openPacket(key, packet.topic, new TextEncoder().encode(JSON.stringify(packet.payload)));
  return got ? (got.body as unknown as Record<string, unknown>) : null;
}
const bodyOf = (payload: Record<string, unknown>): Record<string, unknown> => (isRecord(payload.body) ? payload.body : {});

const roles = (state: RoomState) =>
  state.participants
    .map((p) => p.role)
    .sort()
    .join(',');

describe('a session through the real livekit-server', () => {
  let clientToken = '';
  let coachToken = '';
  let usageBefore: Me['usage'] | undefined;
  let ticket: RoomTicket | undefined;
  const participants: TestParticipant[] = [];
  let client: TestParticipant | undefined;
  let coach: TestParticipant | undefined;
  let agent: TestParticipant | undefined;

  const join = (label: string) => {
    const p = new TestParticipant(label);
    participants.push(p);
    return p;
  };
  const mustTicket = () => {
    if (!ticket) throw new Error('no session: the test that starts it failed');
    return ticket;
  };
  const state = () => apiOk<RoomState>('GET', `/api/rooms/${mustTicket().sessionId}`, { token: clientToken });

  beforeAll(async () => {
    clientToken = await login('premium@example.com');
    coachToken = await login('coach@example.com');
    usageBefore = (await apiOk<Me>('GET', '/api/users/me', { token: clientToken })).usage;
  });

  // Each step builds on the one before: after a failure, the rest would only time out, so they are skipped.
  skipAfterFirstFailure();

  afterAll(async () => {
    await Promise.all(participants.map((p) => p.disconnect()));
    // A room left by a failed test must not linger on the server for the rest of the run.
    if (ticket) await roomService.deleteRoom(ticket.roomName).catch(() => undefined);
  });

  it('starts the timer once the client and the agent are in the room, as the webhooks tell it', async () => {
    ticket = await apiOk<RoomTicket>('POST', '/api/rooms', { token: clientToken }, 201);
    expect(ticket.livekitUrl).toBe(livekitUrl);
    expect(ticket.roomName).toContain(ticket.sessionId);
    // The Worker created the room on the server before answering.
    expect((await roomService.listRooms([ticket.roomName])).map((r) => r.name)).toEqual([ticket.roomName]);

    client = await join('client').connect(ticket.livekitUrl, ticket.token);
    const standIn = join('agent');
    acknowledgeControl(standIn, ticket.sessionId);
    agent = await standIn.connect(livekitUrl, await agentToken(ticket.roomName));

    const active = await eventually(
      'the Worker to see client and AI, and start the timer',
      async () => {
        const s = await state();
        return s.status === 'ACTIVE' && s.timer.startedAt !== null && roles(s) === 'ai,client' ? s : undefined;
      },
      { describe: state },
    );
    expect(active.participants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ identity: 'seed-premium', role: 'client' }),
        expect.objectContaining({ identity: AGENT_IDENTITY, role: 'ai' }),
      ]),
    );
    expect(active.timer.startedAt).toBeLessThanOrEqual(Date.now());
    // On joining, the agent is told the coach's mute state (nobody has muted yet).
    // It may be resent until acknowledged (livekit-server can drop a packet sent before the agent's data
    // channel opens); the acknowledgement stops that, and the state says so.
    const hello = await agent.nextPacket(CONTROL_TOPIC, () => true);
    expect(await opened(hello, mustTicket().sessionId)).toMatchObject({ type: 'coach-mute', muted: false, version: 0 });
    expect(hello.from).toBeUndefined();
    await eventually('the Worker to record the agent’s acknowledgement', async () => (await state()).muteAppliedByAi, { describe: state });
  });

  it('tells the agent, by server packet, when the coach mutes and unmutes themself', async () => {
    const { sessionId } = mustTicket();
    const joined = await apiOk<{ token: string; livekitUrl: string; role: string }>('POST', `/api/rooms/${sessionId}/join`, {
      token: coachToken,
    });
    expect(joined.role).toBe('coach');
    coach = await join('coach').connect(joined.livekitUrl, joined.token);
    await eventually('the Worker to see the coach', async () => roles(await state()) === 'ai,client,coach', { describe: state });
    if (!agent) throw new Error('no agent: the first test failed');

    let since = agent.packets.length;
    const muted = await apiOk<RoomState>('POST', `/api/rooms/${sessionId}/mute-ai`, { token: coachToken, body: { muted: true } });
    expect(muted.coachMutedFromAi).toBe(true);
    const mutePacket = await agent.nextPacket(CONTROL_TOPIC, (p) => bodyOf(p).muted === true, since);
    expect(await opened(mutePacket, sessionId)).toMatchObject({ type: 'coach-mute', muted: true, coachId: 'seed-coach' });
    // Sent by the server (RoomService.SendData), not by a participant who could forge it.
    expect(mutePacket.from).toBeUndefined();

    since = agent.packets.length;
    const unmuted = await apiOk<RoomState>('POST', `/api/rooms/${sessionId}/mute-ai`, { token: coachToken, body: { muted: false } });
    expect(unmuted.coachMutedFromAi).toBe(false);
    const unmutePacket = await agent.nextPacket(CONTROL_TOPIC, (p) => bodyOf(p).muted === false, since);
    expect(await opened(unmutePacket, sessionId)).toMatchObject({ type: 'coach-mute', muted: false });
    expect(unmutePacket.from).toBeUndefined();

    // Addressed to the agent only.
    for (const other of [client, coach]) {
      expect(other?.packets.filter((p) => p.topic === CONTROL_TOPIC)).toEqual([]);
    }
  });

  it('gives a reconnecting agent the current mute state', async () => {
    const { sessionId, roomName } = mustTicket();
    await apiOk('POST', `/api/rooms/${sessionId}/mute-ai`, { token: coachToken, body: { muted: true } });
    await agent?.disconnect();
    await eventually('the Worker to see the agent leave', async () => !roles(await state()).includes('ai'), { describe: state });

    agent = join('agent (rejoined)');
    acknowledgeControl(agent, sessionId);
    await agent.connect(livekitUrl, await agentToken(roomName));
    const packet = await agent.nextPacket(CONTROL_TOPIC, () => true);
    expect(await opened(packet, sessionId)).toMatchObject({ type: 'coach-mute', muted: true, coachId: 'seed-coach' });
    expect(packet.from).toBeUndefined();
    await eventually('the Worker to record the rejoined agent’s acknowledgement', async () => (await state()).muteAppliedByAi, { describe: state });
    await eventually('the Worker to see the agent back', async () => roles(await state()) === 'ai,client,coach', { describe: state });
  });

  it('closes the room and charges the minutes when the client ends the session', async () => {
    const { sessionId, roomName } = mustTicket();
    // The timer must have run a whole second for the duration to be at least 1.
    await eventually('a second on the timer', async () => (await state()).timer.elapsedSeconds >= 1);

    const ended = await apiOk<RoomState>('POST', `/api/rooms/${sessionId}/end`, { token: clientToken });
    expect(ended.status).toBe('COMPLETED');
    expect(ended.end).toMatchObject({ reason: 'client' });

    await eventually('livekit-server to close the room', async () => (await roomService.listRooms([roomName])).length === 0, {
      describe: () => roomService.listRooms([roomName]).then((rooms) => rooms.map((r) => ({ name: r.name, n: r.numParticipants }))),
    });
    for (const p of [client, coach, agent]) {
      if (!p) continue;
      const { reason } = await eventually(`${p.label} to be disconnected by the server`, () => p.disconnected ?? undefined);
      expect(reason, p.label).toBe(DisconnectReason.ROOM_DELETED);
    }

    const session = await eventually(
      'the session to be recorded as completed',
      async () => {
        const s = await apiOk<SessionSummary>('GET', `/api/sessions/${sessionId}`, { token: clientToken });
        return s.status === 'COMPLETED' ? s : undefined;
      },
      { describe: () => apiOk('GET', `/api/sessions/${sessionId}`, { token: clientToken }) },
    );
    expect(session).toMatchObject({ endReason: 'client', coachId: 'seed-coach' });
    expect(session.startedAt).not.toBeNull();
    expect(session.endedAt).not.toBeNull();
    expect(session.durationSeconds).toBeGreaterThanOrEqual(1);
    expect(session.minutesCharged).toBeGreaterThanOrEqual(1);
    expect(session.durationSeconds).toBe(ended.end?.durationSeconds);
    expect(session.minutesCharged).toBe(ended.end?.minutes);

    const me = await apiOk<Me>('GET', '/api/users/me', { token: clientToken });
    expect(me.usage.minutesThisMonth).toBe((usageBefore?.minutesThisMonth ?? Number.NaN) + (session.minutesCharged ?? Number.NaN));
    expect(me.usage.sessionsThisMonth).toBe((usageBefore?.sessionsThisMonth ?? Number.NaN) + 1);
  });
});
