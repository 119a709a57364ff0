import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, captureLogs, createUser, post, signIn, testDb } from '../test/helpers';
import { deliver, hook, sign, webhookBody } from '../test/livekit';
import { coachingSessions, users } from './db/schema';
import { agentDispatch, roomService } from './lib/livekit';
import type { RoomSnapshot } from './session-room';
import { AGENT_JOIN_WAIT_MS, DISPATCH_CHECK_MS, EMPTY_GRACE_MS, MUTE_HISTORY_KEPT, PARTICIPANTS_KEPT, SessionRoom } from './session-room';

const MIN = 60_000;

/** The parts of the object's stored state these tests reach into. */
interface StoredState {
  timer: { startedAt: number | null };
  emptySince: number | null;
  effects: { type: string; attempts: number; notBefore: number; dispatchId?: string }[];
  mute: { history: { muted: boolean }[] };
}

async function freshSession(tier: MembershipTier = 'FREE') {
  const user = await createUser({ tier });
  const token = await signIn(user.email);
  const res = await post('/api/rooms', {}, bearer(token));
  const t = (await body<{ sessionId: string; roomName: string }>(res)).data;
  const stub = env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(t.sessionId));
  const clientP = { sid: `PA_c_${t.sessionId.slice(0, 6)}`, identity: user.id, role: 'client' as const };
  const agentP = { sid: `PA_a_${t.sessionId.slice(0, 6)}`, identity: `agent-${t.sessionId.slice(0, 6)}`, agent: true };
  return { user, token, ...t, stub, clientP, agentP };
}

/** Moves the session's clock back by `ms`, as if the timer had started (and the room emptied) that long ago. */
async function backdate(stub: DurableObjectStub<SessionRoom>, ms: number) {
  await runInDurableObject(stub, async (_i, state) => {
    const s = (await state.storage.get<StoredState>('state'))!;
    if (s.timer.startedAt !== null) s.timer.startedAt -= ms;
    if (s.emptySince !== null) s.emptySince -= ms;
    await state.storage.put('state', s);
  });
}

const snapshot = (stub: DurableObjectStub<SessionRoom>) => stub.getState() as Promise<RoomSnapshot>;
const row = (id: string) => testDb().select().from(coachingSessions).where(eq(coachingSessions.id, id)).get();
const usage = (id: string) => testDb().select().from(users).where(eq(users.id, id)).get();

describe('the usage timer', () => {
  it('waits for the client and the AI, then starts and marks the session ACTIVE in D1', async () => {
    const s = await freshSession();
    await hook('participant_joined', s.roomName, s.agentP);
    expect((await snapshot(s.stub)).timer.startedAt).toBeNull();
    await hook('participant_joined', s.roomName, s.clientP);
    const state = await snapshot(s.stub);
    expect(state.status).toBe('ACTIVE');
    expect(state.timer.startedAt).toBeTypeOf('number');
    expect(await row(s.sessionId)).toMatchObject({ status: 'ACTIVE' });
    expect((await row(s.sessionId))?.startedAt?.getTime()).toBe(state.timer.startedAt);
  });

  it('starts with the client and a coach, without the AI', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    expect((await snapshot(s.stub)).status).toBe('WAITING');
    await hook('participant_joined', s.roomName, { sid: 'PA_coach_x', identity: 'coach-x', role: 'coach' });
    expect((await snapshot(s.stub)).status).toBe('ACTIVE');
  });

  it('does not start for a participant who is neither client, coach nor agent', async () => {
    const s = await freshSession();
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, { sid: 'PA_guest', identity: 'guest' });
    expect((await snapshot(s.stub)).timer.startedAt).toBeNull();
  });

  it('sends the 5- and 1-minute warnings, then stops at the cap and charges the minutes once', async () => {
    const s = await freshSession('FREE');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);

    await backdate(s.stub, 15 * MIN + 1000);
    expect(await runDurableObjectAlarm(s.stub)).toBe(true);
    expect((await snapshot(s.stub)).warningsSent).toEqual(['5min']);

    await backdate(s.stub, 4 * MIN);
    await runDurableObjectAlarm(s.stub);
    const warned = await snapshot(s.stub);
    expect(warned.warningsSent).toEqual(['5min', '1min']);
    expect(warned.status).toBe('ACTIVE');
    expect(warned.timer.remainingSeconds).toBeLessThanOrEqual(60);

    await backdate(s.stub, MIN);
    await runDurableObjectAlarm(s.stub);
    const done = await snapshot(s.stub);
    expect(done.status).toBe('COMPLETED');
    expect(done.end).toMatchObject({ reason: 'cap', durationSeconds: 1200, minutes: 20 });
    expect(await row(s.sessionId)).toMatchObject({ status: 'COMPLETED', durationSeconds: 1200, minutesCharged: 20, warningsSent: 2, endReason: 'cap' });
    expect(await usage(s.user.id)).toMatchObject({ monthlySessionsUsed: 1, monthlyMinutesUsed: 20 });

    // Events after the end change nothing.
    await hook('room_finished', s.roomName);
    await post(`/api/rooms/${s.sessionId}/end`, {}, bearer(s.token));
    await runDurableObjectAlarm(s.stub);
    expect(await usage(s.user.id)).toMatchObject({ monthlyMinutesUsed: 20 });
  });

  it('ends a session whose room stood empty past the grace period', async () => {
    const s = await freshSession('VAGUS_MEMBER');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    await hook('participant_left', s.roomName, s.clientP);
    await backdate(s.stub, EMPTY_GRACE_MS + 1000);
    await runDurableObjectAlarm(s.stub);
    expect((await snapshot(s.stub)).end?.reason).toBe('empty');
    expect(await row(s.sessionId)).toMatchObject({ status: 'COMPLETED', endReason: 'empty' });
  });
});

describe('LiveKit webhooks', () => {
  it('adds usage exactly once however often room_finished arrives', async () => {
    const s = await freshSession('VAGUS_MEMBER');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    await backdate(s.stub, 7 * MIN + 5_000);
    const finished = webhookBody('room_finished', s.roomName, undefined, { id: 'EV_finished_once' });
    for (let i = 0; i < 3; i++) expect((await deliver(finished)).status).toBe(200);
    await hook('room_finished', s.roomName); // same event, new delivery id
    await Promise.all([hook('room_finished', s.roomName), post(`/api/rooms/${s.sessionId}/end`, {}, bearer(s.token))]);
    // The D1 write itself, run again, is a no-op.
    await runInDurableObject(s.stub, async (instance) => {
      const recordEnd = (instance as unknown as { recordEnd(st: unknown): Promise<void> }).recordEnd.bind(instance);
      const st = await (instance as unknown as { load(): Promise<unknown> }).load();
      await recordEnd(st);
      await recordEnd(st);
    });
    expect(await usage(s.user.id)).toMatchObject({ monthlyMinutesUsed: 8 });
    expect(await row(s.sessionId)).toMatchObject({ endReason: 'room_finished', minutesCharged: 8 });
  });

  it('keeps a participant out when their leave arrives before their join, and counts a rejoin', async () => {
    const s = await freshSession();
    await hook('participant_left', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    let state = await snapshot(s.stub);
    expect(state.participants.map((p) => p.role)).toEqual(['ai']);
    expect(state.timer.startedAt).toBeNull();
    await hook('participant_joined', s.roomName, { ...s.clientP, sid: `${s.clientP.sid}_2` });
    state = await snapshot(s.stub);
    expect(state.participants.map((p) => p.role).sort()).toEqual(['ai', 'client']);
    expect(state.status).toBe('ACTIVE');
  });

  it('ignores a duplicated join and a leave delivered twice', async () => {
    const s = await freshSession();
    const join = webhookBody('participant_joined', s.roomName, s.clientP, { id: 'EV_dup_join' });
    await deliver(join);
    await deliver(join);
    const leave = webhookBody('participant_left', s.roomName, s.clientP, { id: 'EV_dup_leave' });
    await deliver(leave);
    await deliver(leave);
    expect((await snapshot(s.stub)).participants).toEqual([]);
  });

  it('refuses unsigned, forged and tampered webhooks with 401 and changes nothing', async () => {
    const s = await freshSession();
    const join = webhookBody('participant_joined', s.roomName, s.clientP);
    const unsigned = await deliver(join, '');
    expect(unsigned.status).toBe(401);
    expect((await body(unsigned)).error.code).toBe('UNAUTHORIZED');
    expect((await deliver(join, await sign(join, 'another-secret-another-secret-xx'))).status).toBe(401);
    const other = webhookBody('participant_joined', s.roomName, s.agentP);
    expect((await deliver(join, await sign(other))).status).toBe(401);
    expect((await deliver(join, 'Bearer nonsense')).status).toBe(401);
    expect((await snapshot(s.stub)).participants).toEqual([]);
  });

  it('answers events for rooms it does not know without failing', async () => {
    expect((await hook('participant_joined', 'session-unknown', { sid: 'PA_x', identity: 'x' })).status).toBe(200);
    expect((await hook('room_started', 'not-a-session-room')).status).toBe(200);
  });
});

describe('the object’s storage', () => {
  it('carries a session on after eviction: a new instance over the same storage sees the same state', async () => {
    const s = await freshSession('FREE');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    const before = await snapshot(s.stub);
    const after = await runInDurableObject(s.stub, async (_i, state) => new SessionRoom(state, env).getState());
    expect(after).toEqual({
      ...before,
      timer: { ...before.timer, elapsedSeconds: after!.timer.elapsedSeconds, remainingSeconds: after!.timer.remainingSeconds },
    });
    // And the new instance finishes the job: its alarm ends the session at the cap.
    await backdate(s.stub, 20 * MIN);
    await runInDurableObject(s.stub, async (_i, state) => new SessionRoom(state, env).alarm());
    expect((await snapshot(s.stub)).end?.reason).toBe('cap');
    expect(await usage(s.user.id)).toMatchObject({ monthlyMinutesUsed: 20 });
  });

  it('keeps the coach’s mute history', async () => {
    const s = await freshSession('PREMIUM');
    await s.stub.setCoach('coach-1');
    await s.stub.setCoachMute('coach-1', true);
    await s.stub.setCoachMute('coach-1', true);
    await s.stub.setCoachMute('coach-1', false);
    const history = await runInDurableObject(s.stub, async (_i, state) => (await state.storage.get<StoredState>('state'))!.mute.history);
    expect(history.map((h: { muted: boolean }) => h.muted)).toEqual([true, false]);
  });

  it('keeps a bounded participant list and mute history however often people reconnect or toggle', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    // A flaky connection: the coach joins and drops 80 times.
    for (let i = 0; i < 80; i++) {
      const coach = { sid: `PA_flaky_${i}`, identity: 'coach-flaky', role: 'coach' as const };
      await hook('participant_joined', s.roomName, coach);
      await hook('participant_left', s.roomName, coach);
    }
    await s.stub.setCoach('coach-flaky');
    for (let i = 0; i < MUTE_HISTORY_KEPT + 20; i++) await s.stub.setCoachMute('coach-flaky', i % 2 === 0);
    const stored = await runInDurableObject(
      s.stub,
      async (_i, state) => (await state.storage.get<StoredState & { participants: Record<string, unknown> }>('state'))!,
    );
    expect(Object.keys(stored.participants).length).toBeLessThanOrEqual(PARTICIPANTS_KEPT);
    expect(stored.mute.history).toHaveLength(MUTE_HISTORY_KEPT);
    // Whoever is still in the room is kept, and the state still says so.
    expect(stored.participants[s.clientP.sid]).toBeDefined();
    expect((await snapshot(s.stub)).participants.map((p) => p.role)).toEqual(['client']);
    expect((await snapshot(s.stub)).coachMutedFromAi).toBe(false);
  });
});

describe('closing the room', () => {
  const effectsOf = (stub: DurableObjectStub<SessionRoom>) =>
    runInDurableObject(stub, async (_i, state) => (await state.storage.get<StoredState>('state'))!.effects);

  it('treats a room LiveKit no longer has as closed, without retrying', async () => {
    const s = await freshSession('VAGUS_MEMBER');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    // The room is gone before the session ends (LiveKit's own empty timeout, an operator).
    await roomService(env).deleteRoom(s.roomName);
    const res = await post(`/api/rooms/${s.sessionId}/end`, {}, bearer(await signIn(s.user.email)));
    expect(res.status).toBe(200);
    const left = (await effectsOf(s.stub)).filter((e) => e.type === 'delete-room');
    expect(left).toEqual([]);
  });
});

describe('the coach’s mute state reaching the agent', () => {
  const effectsOf = (stub: DurableObjectStub<SessionRoom>) =>
    runInDurableObject(stub, async (_i, state) => (await state.storage.get<StoredState>('state'))!.effects);

  async function ack(sessionId: string, version: number, secret = env.AGENT_HOST_SECRET) {
    const { signedHeaders } = await import('@hybrid-coach/shared/signing');
    const { SELF } = await import('cloudflare:test');
    const raw = JSON.stringify({ sessionId, roomName: `session-${sessionId}`, version });
    return SELF.fetch('http://api.test/api/webhooks/agent/control-ack', {
      method: 'POST',
      headers: await signedHeaders(secret, raw, `${sessionId}:control:${version}`),
      body: raw,
    });
  }

  it('is resent to a joined agent until the agent acknowledges it, then stops', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.agentP);
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'control')).toHaveLength(1);
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(false);
    // Let the resend fall due, as the alarm would after its backoff.
    await runInDurableObject(s.stub, async (_i, state) => {
      const st = (await state.storage.get<StoredState>('state'))!;
      for (const e of st.effects) e.notBefore = 0;
      await state.storage.put('state', st);
    });
    await runDurableObjectAlarm(s.stub);
    const again = (await effectsOf(s.stub)).find((e) => e.type === 'control');
    expect(again?.attempts).toBeGreaterThanOrEqual(2);

    expect((await ack(s.sessionId, 0, 'a-forged-secret-a-forged-secret-00000')).status).toBe(401);
    const res = await ack(s.sessionId, 0);
    expect(res.status).toBe(200);
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(true);
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'control')).toEqual([]);

    // A change is a new version: resent until acknowledged again.
    await s.stub.setCoach('coach-m');
    await s.stub.setCoachMute('coach-m', true);
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(false);
    await ack(s.sessionId, 0); // a late ack of the old version changes nothing
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(false);
    await ack(s.sessionId, 1);
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(true);
  });

  it('starts again for an agent that rejoins, and stops for one that left', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.agentP);
    await ack(s.sessionId, 0);
    await hook('participant_left', s.roomName, s.agentP);
    await hook('participant_joined', s.roomName, { ...s.agentP, sid: `${s.agentP.sid}_2` });
    expect((await snapshot(s.stub)).muteAppliedByAi).toBe(false);
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'control')).toHaveLength(1);
    await hook('participant_left', s.roomName, { ...s.agentP, sid: `${s.agentP.sid}_2` });
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'control')).toEqual([]);
  });

  it('asks for the AI again when it drops out of a live session, unless it is back by then', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    await runDurableObjectAlarm(s.stub); // the first dispatch has run
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent')).toEqual([]);
    const dispatches = (await agentDispatch(env).listDispatch(s.roomName)).length;

    await hook('participant_left', s.roomName, s.agentP);
    const queued = (await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent');
    expect(queued).toHaveLength(1);
    expect(queued[0]!.notBefore).toBeGreaterThan(Date.now());

    // LiveKit brought an agent back before the pause ended: the queued dispatch does nothing.
    await hook('participant_joined', s.roomName, { ...s.agentP, sid: `${s.agentP.sid}_2` });
    await runInDurableObject(s.stub, async (_i, state) => {
      const st = (await state.storage.get<StoredState>('state'))!;
      for (const e of st.effects) e.notBefore = 0;
      await state.storage.put('state', st);
    });
    await runDurableObjectAlarm(s.stub);
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent')).toEqual([]);
    // On the real livekit-server: no new dispatch.
    expect(await agentDispatch(env).listDispatch(s.roomName)).toHaveLength(dispatches);
  });

  it('deletes a dispatch livekit-server left without a job and dispatches again, looking less often, until it gives up', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    // No agent worker is registered with the test livekit-server: every dispatch is left with no job,
    // as when the agent-host restarts or reports itself too busy.
    const ours = async () => (await agentDispatch(env).listDispatch(s.roomName)).filter((d) => d.agentName === env.AGENT_NAME);
    const waiting = async () => (await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent');
    const dueNow = () =>
      runInDurableObject(s.stub, async (_i, state) => {
        const st = (await state.storage.get<StoredState>('state'))!;
        for (const e of st.effects) e.notBefore = 0;
        await state.storage.put('state', st);
      });
    const [first] = await ours();
    expect(first?.state?.jobs ?? []).toEqual([]);
    const [look] = await waiting();
    expect(look?.dispatchId).toBe(first!.id);
    expect(look!.notBefore - Date.now()).toBeGreaterThan(0);
    expect(look!.notBefore - Date.now()).toBeLessThanOrEqual(DISPATCH_CHECK_MS);

    // The look falls due: the jobless dispatch is gone from livekit-server, a new one is there, one line says so.
    const lines = await captureLogs(async () => {
      await dueNow();
      await runDurableObjectAlarm(s.stub);
    });
    const [second] = await ours();
    expect(await ours()).toHaveLength(1);
    expect(second!.id).not.toBe(first!.id);
    const said = lines.filter((l) => l.includes('dispatching again'));
    expect(said).toHaveLength(1);
    expect(JSON.parse(said[0]!)).toMatchObject({ sessionId: s.sessionId, dispatchId: first!.id, found: 'no job', attempt: 2 });
    for (const secret of [env.LIVEKIT_API_SECRET, env.AGENT_HOST_SECRET]) expect(said[0]).not.toContain(secret);
    const [next] = await waiting();
    expect(next?.dispatchId).toBe(second!.id);
    // Backoff: the next look waits longer than the first.
    expect(next!.notBefore - Date.now()).toBeGreaterThan(DISPATCH_CHECK_MS);
    expect(next!.notBefore - Date.now()).toBeLessThanOrEqual(AGENT_JOIN_WAIT_MS);

    // Bounded: it keeps trying for a while, then gives up and says so; one dispatch is left, never a pile.
    const rest = await captureLogs(async () => {
      for (let i = 0; i < 20 && (await waiting()).length > 0; i++) {
        await dueNow();
        await runDurableObjectAlarm(s.stub);
      }
    });
    expect(await waiting()).toEqual([]);
    expect(rest.filter((l) => l.includes('dispatching again'))).toHaveLength(8);
    expect(rest.some((l) => l.includes('session effect given up') && l.includes('dispatch-agent'))).toBe(true);
    expect(await ours()).toHaveLength(1);
  });

  it('dispatches nothing more once the AI has arrived', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    const dispatches = (await agentDispatch(env).listDispatch(s.roomName)).length;
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent')).toHaveLength(1);
    await hook('participant_joined', s.roomName, s.agentP);
    expect((await effectsOf(s.stub)).filter((e) => e.type === 'dispatch-agent')).toEqual([]);
    await runInDurableObject(s.stub, async (_i, state) => {
      const st = (await state.storage.get<StoredState>('state'))!;
      for (const e of st.effects) e.notBefore = 0;
      await state.storage.put('state', st);
    });
    await runDurableObjectAlarm(s.stub);
    expect(await agentDispatch(env).listDispatch(s.roomName)).toHaveLength(dispatches);
  });

  it('sends nothing more to a room LiveKit has finished', async () => {
    const s = await freshSession('PREMIUM');
    await hook('participant_joined', s.roomName, s.clientP);
    await hook('participant_joined', s.roomName, s.agentP);
    await hook('room_finished', s.roomName);
    expect(await effectsOf(s.stub)).toEqual([]);
  });
});
