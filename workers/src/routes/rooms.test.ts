import { env, runInDurableObject, SELF } from 'cloudflare:test';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, get, openRoomSocket, post, signIn, testDb } from '../../test/helpers';
import { dispatchClient, hook, roomService } from '../../test/livekit';
import { coachingSessions, messages, users } from '../db/schema';

interface Ticket {
  sessionId: string;
  roomName: string;
  token: string;
  livekitUrl: string;
  capMinutes: number | null;
  remainingMinutes: number | null;
  role?: string;
}

async function client(tier: MembershipTier = 'PREMIUM') {
  const user = await createUser({ tier, role: 'CLIENT' });
  return { user, token: await signIn(user.email) };
}
async function coach() {
  const user = await createUser({ role: 'COACH' });
  return { user, token: await signIn(user.email) };
}
const sessionStub = (sessionId: string) => env.SESSION_ROOM.get(env.SESSION_ROOM.idFromName(sessionId));
async function startSession(token: string) {
  const res = await post('/api/rooms', {}, bearer(token));
  if (res.status !== 201) throw new Error(`start failed: ${res.status} ${await res.text()}`);
  return (await body<Ticket>(res)).data;
}
/** A Premium client's session with a coach in it; `outsider` is another coach and `otherClient` another client, both outside it. */
async function coachedSession() {
  const [a, otherClient, c, outsider] = await Promise.all([client(), client(), coach(), coach()]);
  const t = await startSession(a.token);
  await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(c.token));
  return { a, otherClient, c, outsider, t };
}

describe('POST /api/rooms', () => {
  it('creates the session row, the LiveKit room and the AI dispatch, and answers a client token', async () => {
    const a = await client('FREE');
    const res = await post('/api/rooms', {}, bearer(a.token));
    expect(res.status).toBe(201);
    const t = (await body<Ticket>(res)).data;
    expect(t.roomName).toBe(`session-${t.sessionId}`);
    expect(t).toMatchObject({ livekitUrl: env.LIVEKIT_URL, capMinutes: 20, remainingMinutes: 20 });

    const claims = decodeJwt(t.token) as Record<string, unknown> & { video: Record<string, unknown>; attributes: Record<string, string> };
    expect(claims.sub).toBe(a.user.id);
    expect(claims.name).toBe(a.user.displayName);
    expect(claims.video).toMatchObject({ room: t.roomName, roomJoin: true });
    expect(claims.video.roomAdmin).toBeFalsy();
    expect(claims.attributes).toEqual({ role: 'client' });
    expect((claims.exp as number) - (claims.nbf as number)).toBe(7200);

    const row = await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, t.sessionId)).get();
    expect(row).toMatchObject({ status: 'WAITING', clientId: a.user.id, tierAtStart: 'FREE', capMinutes: 20, roomName: t.roomName });

    const [room] = await roomService().listRooms([t.roomName]);
    expect(room?.name).toBe(t.roomName);
    expect(room?.maxParticipants).toBe(4);
    const dispatches = await dispatchClient().listDispatch(t.roomName);
    // livekit-server adds its own default dispatch (agent name '') for unnamed agents; ours is explicit.
    expect(dispatches.filter((d) => d.agentName === env.AGENT_NAME)).toHaveLength(1);
  });

  it('refuses a FREE client who has had the month’s session: 403, no row, no room', async () => {
    const a = await client('FREE');
    const used = await startSession(a.token);
    // It ran (the client and the AI in the room), then ended: the month's one session is spent.
    await hook('participant_joined', used.roomName, { sid: 'PA_free_c', identity: a.user.id, role: 'client' });
    await hook('participant_joined', used.roomName, { sid: 'PA_free_a', identity: 'agent-free', agent: true });
    await post(`/api/rooms/${used.sessionId}/end`, {}, bearer(a.token));
    const before = await testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, a.user.id)).all();
    const roomsBefore = (await roomService().listRooms()).length;
    const res = await post('/api/rooms', {}, bearer(a.token));
    expect(res.status).toBe(403);
    expect((await body(res)).error).toMatchObject({ code: 'TIER_LIMIT_REACHED', details: { tier: 'FREE', upgradeUrl: '/pricing' } });
    expect(await testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, a.user.id)).all()).toHaveLength(before.length);
    expect((await roomService().listRooms()).length).toBe(roomsBefore);
  });

  it('lets only one of two simultaneous starts by a FREE client through', async () => {
    const a = await client('FREE');
    const [r1, r2] = await Promise.all([post('/api/rooms', {}, bearer(a.token)), post('/api/rooms', {}, bearer(a.token))]);
    // The loser finds the month used up (403) or, if it looked a moment later, the new session live (409).
    const [won, lost] = [r1.status, r2.status].sort((x, y) => x - y);
    expect(won).toBe(201);
    expect([403, 409]).toContain(lost);
    const rows = await testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, a.user.id)).all();
    expect(rows).toHaveLength(1);
  });

  it('answers a second start, while the first is waiting or active, with 409 and the session to rejoin; once it ends, a new one starts', async () => {
    const a = await client('PREMIUM');
    const t = await startSession(a.token);
    const again = await post('/api/rooms', {}, bearer(a.token));
    expect(again.status).toBe(409);
    expect((await body(again)).error).toMatchObject({ code: 'CONFLICT', details: { sessionId: t.sessionId, appointmentId: null } });
    // Under way (the client and the AI in the room): still the one live session.
    await hook('participant_joined', t.roomName, { sid: 'PA_one_c', identity: a.user.id, role: 'client' });
    await hook('participant_joined', t.roomName, { sid: 'PA_one_a', identity: 'agent-one', agent: true });
    const during = await post('/api/rooms', {}, bearer(a.token));
    expect(during.status).toBe(409);
    expect((await body(during)).error.details).toMatchObject({ sessionId: t.sessionId });
    expect((await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(a.token))).status).toBe(200);
    expect(await testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, a.user.id)).all()).toHaveLength(1);

    await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(a.token));
    expect((await post('/api/rooms', {}, bearer(a.token))).status).toBe(201);
  });

  it('lets only one of two simultaneous starts by a PREMIUM client through: one room, one AI job, the other told which session to rejoin', async () => {
    const a = await client('PREMIUM');
    const roomsBefore = (await roomService().listRooms()).length;
    const answers = await Promise.all([1, 2, 3].map(() => post('/api/rooms', {}, bearer(a.token))));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    const made = (await body<Ticket>(answers.find((r) => r.status === 201)!)).data;
    for (const r of answers.filter((x) => x.status === 409)) expect((await body(r)).error.details).toMatchObject({ sessionId: made.sessionId });
    const rows = await testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, a.user.id)).all();
    expect(rows.map((r) => r.id)).toEqual([made.sessionId]);
    expect((await roomService().listRooms()).length).toBe(roomsBefore + 1);
    expect((await dispatchClient().listDispatch(made.roomName)).filter((d) => d.agentName === env.AGENT_NAME)).toHaveLength(1);
  });

  it('does not let a live session whose room died block the client', async () => {
    const a = await client('PREMIUM');
    const longAgo = new Date(Date.now() - 5 * 60_000);
    // 1. A start that failed half way: a row, but no room object that would ever end it.
    const orphan = crypto.randomUUID();
    await testDb()
      .insert(coachingSessions)
      .values({ id: orphan, roomName: `session-${orphan}`, clientId: a.user.id, tierAtStart: 'PREMIUM', createdAt: longAgo });
    const first = await startSession(a.token);
    expect((await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, orphan)).get())?.status).toBe('CANCELLED');

    // 2. The object has ended it; its write to D1 is still queued.
    await runInDurableObject(sessionStub(first.sessionId), async (_i, state) => {
      const s = (await state.storage.get<{ status: string }>('state'))!;
      await state.storage.put('state', { ...s, status: 'COMPLETED' });
    });
    const second = await startSession(a.token);
    expect((await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, first.sessionId)).get())?.status).toBe('COMPLETED');

    // 3. Under way, and LiveKit lost the room without telling anyone.
    await hook('participant_joined', second.roomName, { sid: 'PA_dead_c', identity: a.user.id, role: 'client' });
    await hook('participant_joined', second.roomName, { sid: 'PA_dead_a', identity: 'agent-dead', agent: true });
    await testDb().update(coachingSessions).set({ createdAt: longAgo }).where(eq(coachingSessions.id, second.sessionId));
    // While the room stands, it is the live session.
    expect((await post('/api/rooms', {}, bearer(a.token))).status).toBe(409);
    await roomService().deleteRoom(second.roomName);
    const third = await startSession(a.token);
    expect(await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, second.sessionId)).get()).toMatchObject({
      status: 'COMPLETED',
      endReason: 'room_finished',
    });
    expect(third.sessionId).not.toBe(second.sessionId);
  });

  it('is for clients only, and for signed-in ones', async () => {
    const c = await coach();
    expect((await post('/api/rooms', {}, bearer(c.token))).status).toBe(403);
    expect((await post('/api/rooms', {})).status).toBe(401);
  });
});

describe('POST /api/rooms/:id/join', () => {
  it('gives the session’s client a token again, another client 403, a stranger 401, nobody a 404’s room', async () => {
    const a = await client();
    const b = await client();
    const t = await startSession(a.token);
    const again = await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(a.token));
    expect(again.status).toBe(200);
    expect((await body<Ticket>(again)).data).toMatchObject({ role: 'client', roomName: t.roomName });
    expect((await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(b.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/join`, {})).status).toBe(401);
    expect((await post('/api/rooms/no-such-session/join', {}, bearer(a.token))).status).toBe(404);
  });

  it('gives a coach a token with role coach and no admin or record right, and records them as the session’s coach', async () => {
    const a = await client('PREMIUM');
    const c = await coach();
    const t = await startSession(a.token);
    const res = await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(c.token));
    expect(res.status).toBe(200);
    const ticket = (await body<Ticket>(res)).data;
    const claims = decodeJwt(ticket.token) as { sub: string; video: Record<string, unknown>; attributes: Record<string, string> };
    expect(claims.sub).toBe(c.user.id);
    expect(claims.video).toMatchObject({ room: t.roomName, roomJoin: true });
    // Every coach action goes through the Worker: with roomAdmin a coach could remove the AI, dispatch
    // agents and send packets that arrive as the server's; roomRecord is not even scoped to the room.
    expect(claims.video.roomAdmin).toBeFalsy();
    expect(claims.video.roomRecord).toBeFalsy();
    expect(claims.attributes).toEqual({ role: 'coach' });
    const row = await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, t.sessionId)).get();
    expect(row?.coachId).toBe(c.user.id);
    // A second coach finds the seat taken.
    const other = await coach();
    expect((await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(other.token))).status).toBe(409);
  });

  it('keeps human coaches to Premium clients’ sessions', async () => {
    const a = await client('VAGUS_MEMBER');
    const c = await coach();
    const t = await startSession(a.token);
    expect((await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(c.token))).status).toBe(403);
  });

  it('answers 409 for a session that has ended', async () => {
    const a = await client();
    const t = await startSession(a.token);
    expect((await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(a.token))).status).toBe(200);
    const res = await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(a.token));
    expect(res.status).toBe(409);
    expect((await body(res)).error.code).toBe('CONFLICT');
  });
});

describe('POST /api/rooms/:id/mute-ai', () => {
  it('lets the session’s coach mute and unmute themself from the AI; nobody else', async () => {
    const { a, c, outsider: other, t } = await coachedSession();
    const muted = await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: true }, bearer(c.token));
    expect(muted.status).toBe(200);
    expect((await body<{ coachMutedFromAi: boolean }>(muted)).data.coachMutedFromAi).toBe(true);
    expect((await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: false }, bearer(other.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: false }, bearer(a.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: false })).status).toBe(401);
    const bad = await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: 'yes' }, bearer(c.token));
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.fields).toHaveProperty('muted');
    const state = await get(`/api/rooms/${t.sessionId}`, bearer(c.token));
    expect((await body<{ coachMutedFromAi: boolean }>(state)).data.coachMutedFromAi).toBe(true);
  });
});

describe('POST /api/rooms/:id/whisper', () => {
  it('lets the session’s coach steer the AI privately: stored as a whisper, shown to coaches, never to the client', async () => {
    const { a, c, outsider: other, t } = await coachedSession();

    // Who may whisper, and what a bad body gets: nothing is written by any of these.
    expect((await post(`/api/rooms/${t.sessionId}/whisper`, { text: 'Slow down' }, bearer(other.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/whisper`, { text: 'Slow down' }, bearer(a.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/whisper`, { text: 'Slow down' })).status).toBe(401);
    expect((await post('/api/rooms/no-such-session/whisper', { text: 'Slow down' }, bearer(c.token))).status).toBe(404);
    for (const bad of [{}, { text: '   ' }, { text: 'x'.repeat(1001) }, { text: 7 }]) {
      const res = await post(`/api/rooms/${t.sessionId}/whisper`, bad, bearer(c.token));
      expect(res.status).toBe(400);
      expect((await body(res)).error.fields).toHaveProperty('text');
    }
    expect(await testDb().select().from(messages).where(eq(messages.sessionId, t.sessionId)).all()).toEqual([]);

    const res = await post(`/api/rooms/${t.sessionId}/whisper`, { text: '  Ask about her sleep  ' }, bearer(c.token));
    expect(res.status).toBe(201);
    const sent = (await body<{ id: string; text: string; deliveredToAi: boolean }>(res)).data;
    // No agent has joined the room: it reads the whisper from the history when it does.
    expect(sent).toMatchObject({ text: 'Ask about her sleep', deliveredToAi: false });
    await testDb()
      .insert(messages)
      .values({
        sessionId: t.sessionId,
        speakerIdentity: a.user.id,
        speakerRole: 'client',
        text: 'I slept badly',
        heardByAi: true,
        spokenAt: new Date(Date.now() + 1000),
        idempotencyKey: `${t.sessionId}-w1`,
      });

    type Detail = { transcript: { kind: string; text: string }[]; transcriptLineCount: number };
    const forCoach = (await body<Detail>(await get(`/api/sessions/${t.sessionId}`, bearer(c.token)))).data;
    expect(forCoach.transcript.map((l) => [l.kind, l.text])).toEqual([
      ['whisper', 'Ask about her sleep'],
      ['speech', 'I slept badly'],
    ]);
    const forClient = (await body<Detail>(await get(`/api/sessions/${t.sessionId}`, bearer(a.token)))).data;
    expect(forClient.transcript.map((l) => l.text)).toEqual(['I slept badly']);
    expect(forClient.transcriptLineCount).toBe(1);

    await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(c.token));
    expect((await post(`/api/rooms/${t.sessionId}/whisper`, { text: 'Too late' }, bearer(c.token))).status).toBe(409);
  });
});

describe('POST /api/rooms/:id/end', () => {
  it('ends the session for everyone: room closed on the server, row completed', async () => {
    const a = await client();
    const b = await client();
    const t = await startSession(a.token);
    expect((await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(b.token))).status).toBe(403);
    const res = await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(a.token));
    expect(res.status).toBe(200);
    expect((await body<{ status: string; end: { reason: string } }>(res)).data).toMatchObject({
      status: 'COMPLETED',
      end: { reason: 'client' },
    });
    expect(await roomService().listRooms([t.roomName])).toEqual([]);
    const row = await testDb().select().from(coachingSessions).where(eq(coachingSessions.id, t.sessionId)).get();
    expect(row).toMatchObject({ status: 'COMPLETED', endReason: 'client', durationSeconds: 0, minutesCharged: 0 });
    // Ending twice is fine and changes nothing.
    expect((await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(a.token))).status).toBe(200);
  });

  it('gives a FREE client their month’s session back when the timer never ran', async () => {
    const a = await client('FREE');
    const t = await startSession(a.token);
    await post(`/api/rooms/${t.sessionId}/end`, {}, bearer(a.token));
    const u = await testDb().select().from(users).where(eq(users.id, a.user.id)).get();
    expect(u).toMatchObject({ monthlySessionsUsed: 0, monthlyMinutesUsed: 0 });
    expect((await post('/api/rooms', {}, bearer(a.token))).status).toBe(201);
  });
});

describe('GET /api/rooms/:id', () => {
  it('shows participants with roles, the timer and the status to the client and the coach', async () => {
    const { a, otherClient: b, c, t } = await coachedSession();
    await hook('participant_joined', t.roomName, { sid: 'PA_client', identity: a.user.id, role: 'client' });
    await hook('participant_joined', t.roomName, { sid: 'PA_agent', identity: 'agent-1', agent: true });
    for (const who of [a, c]) {
      const res = await get(`/api/rooms/${t.sessionId}`, bearer(who.token));
      expect(res.status).toBe(200);
      const { data } = await body<{
        status: string;
        participants: { identity: string; role: string }[];
        timer: { startedAt: number | null; capMinutes: number | null; remainingSeconds: number | null };
      }>(res);
      expect(data.status).toBe('ACTIVE');
      expect(data.participants.map((p) => [p.identity, p.role]).sort()).toEqual(
        [
          [a.user.id, 'client'],
          ['agent-1', 'ai'],
        ].sort(),
      );
      expect(data.timer.startedAt).toBeTypeOf('number');
      expect(data.timer).toMatchObject({ capMinutes: null, remainingSeconds: null });
    }
    expect((await get(`/api/rooms/${t.sessionId}`, bearer(b.token))).status).toBe(403);
    expect((await get(`/api/rooms/${t.sessionId}`)).status).toBe(401);
  });
});

describe('GET /api/sessions', () => {
  it('lists a client’s own sessions and a coach’s sessions; a detail carries the transcript; others get 404', async () => {
    const a = await client();
    const b = await client();
    const c = await coach();
    const t1 = await startSession(a.token);
    await post(`/api/rooms/${t1.sessionId}/end`, {}, bearer(a.token));
    const t2 = await startSession(a.token);
    await startSession(b.token);
    await post(`/api/rooms/${t2.sessionId}/join`, {}, bearer(c.token));
    await testDb()
      .insert(messages)
      .values([
        {
          sessionId: t1.sessionId,
          speakerIdentity: a.user.id,
          speakerRole: 'client',
          text: 'I feel tense',
          heardByAi: true,
          spokenAt: new Date(1_000),
          idempotencyKey: `${t1.sessionId}-1`,
        },
        {
          sessionId: t1.sessionId,
          speakerIdentity: 'agent',
          speakerRole: 'ai',
          text: 'Let us breathe',
          heardByAi: true,
          spokenAt: new Date(2_000),
          idempotencyKey: `${t1.sessionId}-2`,
        },
      ]);

    const mine = (await body<{ id: string }[]>(await get('/api/sessions', bearer(a.token)))).data.map((s) => s.id);
    expect(mine.sort()).toEqual([t1.sessionId, t2.sessionId].sort());
    const coachs = (await body<{ id: string }[]>(await get('/api/sessions', bearer(c.token)))).data.map((s) => s.id);
    expect(coachs).toEqual([t2.sessionId]);

    const detail = await get(`/api/sessions/${t1.sessionId}`, bearer(a.token));
    expect(detail.status).toBe(200);
    const d = (await body<{ transcript: { speakerRole: string; text: string }[] }>(detail)).data;
    expect(d.transcript.map((l) => [l.speakerRole, l.text])).toEqual([
      ['client', 'I feel tense'],
      ['ai', 'Let us breathe'],
    ]);
    expect((await get(`/api/sessions/${t1.sessionId}`, bearer(b.token))).status).toBe(404);
    expect((await get(`/api/sessions/${t1.sessionId}`, bearer(c.token))).status).toBe(404);
    expect((await get('/api/sessions')).status).toBe(401);
    expect((await get('/api/sessions?limit=0', bearer(a.token))).status).toBe(400);
  });
});

describe('GET /api/rooms/:id/ws', () => {
  const upgrade = (sessionId: string, query = '') => SELF.fetch(`http://api.test/api/rooms/${sessionId}/ws${query}`, { headers: { Upgrade: 'websocket' } });
  async function ticketFor(sessionId: string, token: string) {
    const res = await post(`/api/rooms/${sessionId}/ws-ticket`, {}, bearer(token));
    expect(res.status).toBe(201);
    const t = (await body<{ ticket: string; expiresAt: string }>(res)).data;
    expect(Date.parse(t.expiresAt) - Date.now()).toBeLessThanOrEqual(30_000);
    return t.ticket;
  }
  const next = (events: Record<string, unknown>[], type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const deadline = Date.now() + 5000;
      const poll = () => {
        const found = events.find((e) => e.type === type);
        if (found) resolve(found);
        else if (Date.now() > deadline) reject(new Error(`no ${type} event; got ${JSON.stringify(events)}`));
        else setTimeout(poll, 20);
      };
      poll();
    });

  it('streams state changes to the session’s client as they happen; others are refused', async () => {
    const { a, otherClient: b, c, t } = await coachedSession();

    const res = await openRoomSocket(t.sessionId, a.token);
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const events: Record<string, unknown>[] = [];
    ws.addEventListener('message', (e) => events.push(JSON.parse(String(e.data))));
    expect((await next(events, 'state')).state).toMatchObject({ sessionId: t.sessionId, status: 'WAITING' });

    await hook('participant_joined', t.roomName, { sid: 'PA_ws_c', identity: a.user.id, role: 'client' });
    await hook('participant_joined', t.roomName, { sid: 'PA_ws_a', identity: 'agent-ws', agent: true });
    expect(await next(events, 'started')).toMatchObject({ capMinutes: null });
    await post(`/api/rooms/${t.sessionId}/mute-ai`, { muted: true }, bearer(c.token));
    expect(await next(events, 'mute')).toMatchObject({ muted: true });
    ws.close();

    // A ticket only for the session's own people; none without signing in; no session, no ticket.
    expect((await post(`/api/rooms/${t.sessionId}/ws-ticket`, {}, bearer(b.token))).status).toBe(403);
    expect((await post(`/api/rooms/${t.sessionId}/ws-ticket`, {})).status).toBe(401);
    expect((await post('/api/rooms/no-such-session/ws-ticket', {}, bearer(a.token))).status).toBe(404);
    expect((await upgrade(t.sessionId)).status).toBe(401);
    expect((await get(`/api/rooms/${t.sessionId}/ws`, bearer(a.token))).status).toBe(400);
  });

  it('admits a ticket once, for its own session, within 30 seconds; never the login token in the URL', async () => {
    const a = await client();
    const other = await client();
    const t = await startSession(a.token);
    const theirs = await startSession(other.token);

    const ticket = await ticketFor(t.sessionId, a.token);
    const first = await upgrade(t.sessionId, `?ticket=${ticket}`);
    expect(first.status).toBe(101);
    first.webSocket!.accept();
    first.webSocket!.close();
    const second = await upgrade(t.sessionId, `?ticket=${ticket}`);
    expect(second.status).toBe(401);
    expect((await body(second)).error.code).toBe('UNAUTHORIZED');

    // Two upgrades racing with one ticket: one gets in.
    const raced = await ticketFor(t.sessionId, a.token);
    const both = await Promise.all([upgrade(t.sessionId, `?ticket=${raced}`), upgrade(t.sessionId, `?ticket=${raced}`)]);
    expect(both.map((r) => r.status).sort()).toEqual([101, 401]);
    for (const r of both) r.webSocket?.accept();
    for (const r of both) r.webSocket?.close();

    // Another session's ticket opens nothing here.
    const foreign = await ticketFor(theirs.sessionId, other.token);
    expect((await upgrade(t.sessionId, `?ticket=${foreign}`)).status).toBe(401);

    // An expired one is refused (its clock moved 31 s back).
    const stale = await ticketFor(t.sessionId, a.token);
    await runInDurableObject(sessionStub(t.sessionId), async (_i, state) => {
      const key = `ws-ticket:${stale}`;
      const held = (await state.storage.get<{ expiresAt: number }>(key))!;
      await state.storage.put(key, { ...held, expiresAt: Date.now() - 1_000 });
    });
    expect((await upgrade(t.sessionId, `?ticket=${stale}`)).status).toBe(401);

    // The login token in the URL (or the cookie) is no way in.
    expect((await upgrade(t.sessionId, `?access_token=${encodeURIComponent(a.token)}`)).status).toBe(401);
    const withCookie = await SELF.fetch(`http://api.test/api/rooms/${t.sessionId}/ws`, { headers: { Upgrade: 'websocket', Cookie: `hc_session=${a.token}` } });
    expect(withCookie.status).toBe(401);
    expect((await upgrade(t.sessionId, `?ticket=${'x'.repeat(200)}`)).status).toBe(401);
  });
});

describe('who may do what', () => {
  it('answers each room and session route for client A, client B, an outside coach, the session coach and nobody', async () => {
    const a = await client('PREMIUM');
    const b = await client('PREMIUM');
    const inCoach = await coach();
    const outCoach = await coach();
    const t = await startSession(a.token);
    await post(`/api/rooms/${t.sessionId}/join`, {}, bearer(inCoach.token));
    const id = t.sessionId;

    const routes: [string, (h: Record<string, string>) => Promise<Response>][] = [
      ['state', (h) => get(`/api/rooms/${id}`, h)],
      ['mute', (h) => post(`/api/rooms/${id}/mute-ai`, { muted: false }, h)],
      ['detail', (h) => get(`/api/sessions/${id}`, h)],
      ['join', (h) => post(`/api/rooms/${id}/join`, {}, h)],
    ];
    const who = { a: bearer(a.token), b: bearer(b.token), outCoach: bearer(outCoach.token), inCoach: bearer(inCoach.token), nobody: {} };
    const matrix: Record<string, Record<keyof typeof who, number>> = {};
    for (const [name, call] of routes) {
      matrix[name] = {} as Record<keyof typeof who, number>;
      for (const [k, h] of Object.entries(who) as [keyof typeof who, Record<string, string>][]) {
        matrix[name][k] = (await call(h)).status;
      }
    }
    expect(matrix).toEqual({
      state: { a: 200, b: 403, outCoach: 403, inCoach: 200, nobody: 401 },
      mute: { a: 403, b: 403, outCoach: 403, inCoach: 200, nobody: 401 },
      detail: { a: 200, b: 404, outCoach: 404, inCoach: 200, nobody: 401 },
      join: { a: 200, b: 403, outCoach: 409, inCoach: 200, nobody: 401 },
    });
    // Ending: refused to the others, then done by the session's coach.
    for (const h of [who.b, who.outCoach]) expect((await post(`/api/rooms/${id}/end`, {}, h)).status).toBe(403);
    expect((await post(`/api/rooms/${id}/end`, {})).status).toBe(401);
    const ended = await post(`/api/rooms/${id}/end`, {}, who.inCoach);
    expect(ended.status).toBe(200);
    expect((await body<{ end: { reason: string } }>(ended)).data.end.reason).toBe('coach');
  });
});
