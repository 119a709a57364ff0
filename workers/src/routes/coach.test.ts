import { SELF } from 'cloudflare:test';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { hook } from '../../test/livekit';
import { appointments, coachingSessions, profiles, users } from '../db/schema';
import { MAX_CLIENTS } from './coach';

interface ClientItem {
  id: string;
  displayName: string;
  tier: string;
  sessionCount: number;
  lastSessionAt: string | null;
  nextAppointmentAt: string | null;
}
interface ClientDetail {
  client: ClientItem;
  profile: { coachingGoals: string | null; clientFacts: string[]; challenges: string[]; lastSummary: string | null; initialMood: number | null };
  sessions: { id: string; coachName: string | null; aiSummary: string | null; reviewable: boolean; flagged: boolean }[];
}
interface Live {
  sessionId: string;
  clientName: string;
  coachId: string | null;
  coachPresent: boolean;
  clientPresent: boolean;
  remainingSeconds: number | null;
  canJoin: boolean;
}

const patchMe = (payload: unknown, token: string) =>
  SELF.fetch(`${API}/api/users/me`, { method: 'PATCH', headers: { 'Content-Type': 'application/json', ...bearer(token) }, body: JSON.stringify(payload) });

async function person(role: 'COACH' | 'CLIENT', tier: MembershipTier = 'PREMIUM', displayName?: string) {
  const user = await createUser({ role, tier, ...(displayName ? { displayName } : {}) });
  return { ...user, token: await signIn(user.email) };
}

describe('a coach’s clients', () => {
  it('lists the clients a coach has coached or will meet, with the sidebar: profile, history with summaries', async () => {
    const coach = await person('COACH', 'FREE', 'Casey Coach');
    const otherCoach = await person('COACH', 'FREE', 'Olive Other');
    const robin = await person('CLIENT', 'PREMIUM', 'Robin Calm');
    const booked = await person('CLIENT', 'PREMIUM', 'Bo Booked');
    const stranger = await person('CLIENT', 'PREMIUM', 'Sam Stranger');
    const db = testDb();
    const day = 24 * 3600_000;
    await db.insert(coachingSessions).values([
      {
        roomName: `session-${crypto.randomUUID()}`,
        clientId: robin.id,
        coachId: coach.id,
        status: 'COMPLETED',
        tierAtStart: 'PREMIUM',
        aiSummary: 'Worked on slow breathing.',
        createdAt: new Date(Date.now() - 2 * day),
      },
      {
        roomName: `session-${crypto.randomUUID()}`,
        clientId: robin.id,
        coachId: null,
        status: 'COMPLETED',
        tierAtStart: 'PREMIUM',
        aiSummary: 'Talked with the AI about sleep.',
        createdAt: new Date(Date.now() - day),
      },
      {
        roomName: `session-${crypto.randomUUID()}`,
        clientId: robin.id,
        coachId: otherCoach.id,
        status: 'COMPLETED',
        tierAtStart: 'PREMIUM',
        aiSummary: 'Humming practice.',
        createdAt: new Date(Date.now() - 3 * day),
        flaggedAt: new Date(),
        flagReason: 'crisis',
      },
      { roomName: `session-${crypto.randomUUID()}`, clientId: stranger.id, coachId: otherCoach.id, status: 'COMPLETED', tierAtStart: 'PREMIUM' },
    ]);
    const at = new Date(Math.ceil((Date.now() + 3 * day) / 1_800_000) * 1_800_000);
    await db.insert(appointments).values({ coachId: coach.id, clientId: booked.id, scheduledFor: at });
    const facts = { coachingGoals: 'Sleep through the night', clientFacts: ['Has two kids'], challenges: ['Exams'], lastSummary: 'Worked on slow breathing.' };
    await db
      .insert(profiles)
      .values({ userId: robin.id, ...facts })
      .onConflictDoUpdate({ target: profiles.userId, set: facts });

    const res = await get('/api/coach/clients', bearer(coach.token));
    expect(res.status).toBe(200);
    const list = (await body<ClientItem[]>(res)).data;
    // By name; strangers (another coach's client) are not listed.
    expect(list.map((c) => c.displayName)).toEqual(['Bo Booked', 'Robin Calm']);
    expect(list[1]).toMatchObject({ sessionCount: 3, nextAppointmentAt: null });
    expect(list[0]).toMatchObject({ sessionCount: 0, lastSessionAt: null, nextAppointmentAt: at.toISOString() });

    const detail = (await body<ClientDetail>(await get(`/api/coach/clients/${robin.id}`, bearer(coach.token)))).data;
    expect(detail.profile).toMatchObject({ coachingGoals: 'Sleep through the night', clientFacts: ['Has two kids'], challenges: ['Exams'] });
    // The whole history with summaries, newest first; the transcript opens for the coach's own only,
    // not for another coach's flagged one (its flag still shows).
    expect(detail.sessions.map((s) => [s.aiSummary, s.coachName, s.reviewable, s.flagged])).toEqual([
      ['Talked with the AI about sleep.', null, false, false],
      ['Worked on slow breathing.', 'Casey Coach', true, false],
      ['Humming practice.', 'Olive Other', false, true],
    ]);
  });

  it('lists at most `limit` clients, the first by name (at most MAX_CLIENTS)', async () => {
    const coach = await person('COACH', 'FREE');
    const names = ['cleo Third', 'Ava First', 'Bea Second'];
    const clients = await Promise.all(names.map((n) => createUser({ tier: 'PREMIUM', displayName: n })));
    await testDb()
      .insert(coachingSessions)
      .values(
        clients.map((c) => ({
          roomName: `session-${crypto.randomUUID()}`,
          clientId: c.id,
          coachId: coach.id,
          status: 'COMPLETED' as const,
          tierAtStart: 'PREMIUM' as const,
        })),
      );
    const list = async (query: string) =>
      (await body<ClientItem[]>(await get(`/api/coach/clients${query}`, bearer(coach.token)))).data.map((c) => c.displayName);
    expect(await list('')).toEqual(['Ava First', 'Bea Second', 'cleo Third']);
    expect(await list('?limit=2')).toEqual(['Ava First', 'Bea Second']);
    for (const limit of [0, MAX_CLIENTS + 1]) expect((await get(`/api/coach/clients?limit=${limit}`, bearer(coach.token))).status).toBe(400);
  });

  it('keeps clients out (403), other coaches’ clients unknown (404), and nobody (401)', async () => {
    const coach = await person('COACH');
    const client = await person('CLIENT');
    expect((await get('/api/coach/clients', bearer(client.token))).status).toBe(403);
    expect((await get(`/api/coach/clients/${client.id}`, bearer(client.token))).status).toBe(403);
    expect((await get('/api/coach/live', bearer(client.token))).status).toBe(403);
    const unknown = await get(`/api/coach/clients/${client.id}`, bearer(coach.token));
    expect(unknown.status).toBe(404);
    expect((await body(unknown)).error.code).toBe('NOT_FOUND');
    expect((await get('/api/coach/clients')).status).toBe(401);
  });
});

describe('sessions live now, for a coach', () => {
  it('shows Premium clients’ rooms waiting for a coach, who is in them and the time left; gone for others once taken', async () => {
    const coach = await person('COACH', 'FREE', 'Casey Coach');
    const other = await person('COACH', 'FREE');
    const premium = await person('CLIENT', 'PREMIUM', 'Pat Premium');
    const member = await person('CLIENT', 'VAGUS_MEMBER', 'Mo Member');
    const start = async (token: string) => (await body<{ sessionId: string; roomName: string }>(await post('/api/rooms', {}, bearer(token)))).data;
    const p = await start(premium.token);
    const m = await start(member.token);

    const live = async (token: string) => (await body<Live[]>(await get('/api/coach/live', bearer(token)))).data;
    const waiting = (await live(coach.token)).find((s) => s.sessionId === p.sessionId);
    expect(waiting).toMatchObject({ clientName: 'Pat Premium', coachId: null, coachPresent: false, canJoin: true });
    // A member's session is the AI's alone: human coaches join Premium sessions only.
    expect((await live(coach.token)).some((s) => s.sessionId === m.sessionId)).toBe(false);

    await hook('participant_joined', p.roomName, { sid: 'PA_live_client', identity: premium.id, role: 'client' });
    expect((await post(`/api/rooms/${p.sessionId}/join`, {}, bearer(coach.token))).status).toBe(200);
    await hook('participant_joined', p.roomName, { sid: 'PA_live_coach', identity: coach.id, role: 'coach' });
    const taken = (await live(coach.token)).find((s) => s.sessionId === p.sessionId);
    expect(taken).toMatchObject({ coachId: coach.id, coachPresent: true, clientPresent: true, canJoin: true, remainingSeconds: null });
    // Another coach no longer sees it as one to join.
    expect((await live(other.token)).some((s) => s.sessionId === p.sessionId)).toBe(false);

    // Its history names the client and the coach.
    const history = (await body<{ id: string; clientName: string; coachName: string | null }[]>(await get('/api/sessions', bearer(coach.token)))).data;
    expect(history.find((s) => s.id === p.sessionId)).toMatchObject({ clientName: 'Pat Premium', coachName: 'Casey Coach' });

    await post(`/api/rooms/${p.sessionId}/end`, {}, bearer(coach.token));
    expect((await live(coach.token)).some((s) => s.sessionId === p.sessionId)).toBe(false);
  });
});

describe('PATCH /api/users/me', () => {
  it('changes the display name, and a coach’s availability for bookings', async () => {
    const coach = await person('COACH', 'FREE', 'Casey Coach');
    const res = await patchMe({ displayName: '  Casey C. ', isAvailable: true }, coach.token);
    expect(res.status).toBe(200);
    expect((await body(res)).data).toMatchObject({ displayName: 'Casey C.', isAvailable: true });
    const row = await testDb().select().from(users).where(eq(users.id, coach.id)).get();
    expect(row).toMatchObject({ displayName: 'Casey C.', isAvailable: true });
    expect((await body(await patchMe({ isAvailable: false }, coach.token))).data).toMatchObject({ displayName: 'Casey C.', isAvailable: false });
  });

  it('refuses a client’s availability (403) and bad input (400), writing nothing', async () => {
    const client = await person('CLIENT', 'PREMIUM', 'Robin Calm');
    expect((await patchMe({ isAvailable: true }, client.token)).status).toBe(403);
    for (const bad of [{}, { displayName: '   ' }, { displayName: 'x'.repeat(81) }, { displayName: 'ok', role: 'ADMIN' }, { isAvailable: 'yes' }]) {
      const res = await patchMe(bad, client.token);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
    const row = await testDb().select().from(users).where(eq(users.id, client.id)).get();
    expect(row).toMatchObject({ displayName: 'Robin Calm', isAvailable: false, role: 'CLIENT' });
    expect((await SELF.fetch(`${API}/api/users/me`, { method: 'PATCH', body: '{}' })).status).toBe(401);
  });
});
