import { SELF } from 'cloudflare:test';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq, inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { appointments, coachAvailability, users } from '../db/schema';

const send = (method: 'PUT' | 'DELETE', path: string, payload: unknown, token: string) =>
  SELF.fetch(`${API}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });

async function coach(available = true) {
  const user = await createUser({ role: 'COACH', displayName: 'Casey Coach' });
  await testDb().update(users).set({ isAvailable: available }).where(eq(users.id, user.id));
  return { user, token: await signIn(user.email) };
}
async function client(tier: MembershipTier = 'PREMIUM') {
  const user = await createUser({ role: 'CLIENT', tier });
  return { user, token: await signIn(user.email) };
}
/** The coach takes no more bookings: later tests that list every coach's slots do not see theirs. */
const stopBookings = (c: { user: { id: string } }) => testDb().update(users).set({ isAvailable: false }).where(eq(users.id, c.user.id));
/** Two days from now (UTC): its date and weekday. */
function dayAfterTomorrow() {
  const d = new Date(Date.now() + 2 * 86_400_000);
  return { date: d.toISOString().slice(0, 10), dayOfWeek: d.getUTCDay() };
}

type Window = { id: string; dayOfWeek: number; startTime: string; endTime: string; isRecurring: boolean; specificDate: string | null };
type Slots = { coach: { id: string }; slots: string[] }[];
type Appt = { id: string; scheduledFor: string; status: string; coach: { id: string }; client: { id: string }; cancelledBy: string | null };

describe('coach availability', () => {
  it('lets a coach add, read, change and remove weekly and one-off windows; nobody else', async () => {
    const c = await coach();
    const other = await coach();
    const cl = await client();
    const weekly = await post('/api/availability', { dayOfWeek: 1, startTime: '09:00', endTime: '12:00' }, bearer(c.token));
    expect(weekly.status).toBe(201);
    const w = (await body<Window>(weekly)).data;
    expect(w).toMatchObject({ dayOfWeek: 1, isRecurring: true, specificDate: null });
    const once = (await body<Window>(await post('/api/availability', { specificDate: '2027-01-06', startTime: '14:00', endTime: '15:00' }, bearer(c.token))))
      .data;
    expect(once).toMatchObject({ dayOfWeek: 3, isRecurring: false, specificDate: '2027-01-06' });

    expect((await body<Window[]>(await get('/api/availability', bearer(c.token)))).data.map((x) => x.id)).toEqual([w.id, once.id]);
    const changed = await send('PUT', `/api/availability/${w.id}`, { dayOfWeek: 2, startTime: '10:00', endTime: '11:00' }, c.token);
    expect((await body<Window>(changed)).data).toMatchObject({ dayOfWeek: 2, startTime: '10:00' });
    expect((await send('PUT', `/api/availability/${w.id}`, { dayOfWeek: 2, startTime: '10:00', endTime: '11:00' }, other.token)).status).toBe(404);
    expect((await send('DELETE', `/api/availability/${w.id}`, undefined, other.token)).status).toBe(404);
    expect((await send('DELETE', `/api/availability/${w.id}`, undefined, c.token)).status).toBe(200);
    expect((await body<Window[]>(await get('/api/availability', bearer(c.token)))).data.map((x) => x.id)).toEqual([once.id]);

    expect((await get('/api/availability', bearer(cl.token))).status).toBe(403);
    expect((await post('/api/availability', { dayOfWeek: 1, startTime: '09:00', endTime: '10:00' }, bearer(cl.token))).status).toBe(403);
    expect((await get('/api/availability')).status).toBe(401);
    for (const bad of [
      { dayOfWeek: 1, specificDate: '2027-01-06', startTime: '09:00', endTime: '10:00' },
      { startTime: '09:00', endTime: '10:00' },
      { dayOfWeek: 1, startTime: '10:00', endTime: '09:00' },
      { dayOfWeek: 7, startTime: '09:00', endTime: '10:00' },
      { dayOfWeek: 1, startTime: '9am', endTime: '10:00' },
    ]) {
      expect((await post('/api/availability', bad, bearer(c.token))).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await body<Window[]>(await get('/api/availability', bearer(c.token)))).data).toHaveLength(1);
  });
});

describe('booking a human coach', () => {
  it('shows a PREMIUM client the coach’s free slots, books one once, and frees it on cancellation', async () => {
    const c = await coach();
    const away = await coach(false);
    const a = await client();
    const b = await client();
    const { date, dayOfWeek } = dayAfterTomorrow();
    await post('/api/availability', { dayOfWeek, startTime: '09:00', endTime: '10:00' }, bearer(c.token));
    await post('/api/availability', { dayOfWeek, startTime: '09:00', endTime: '10:00' }, bearer(away.token));

    const slotsOf = async (token: string) => (await body<Slots>(await get('/api/coaches/slots?days=3', bearer(token)))).data;
    const offered = await slotsOf(a.token);
    // Only coaches open for bookings are offered.
    expect(offered.map((x) => x.coach.id)).toEqual([c.user.id]);
    expect(offered[0]!.slots).toEqual([`${date}T09:00:00.000Z`, `${date}T09:30:00.000Z`]);

    const at = `${date}T09:30:00.000Z`;
    const booked = await post('/api/appointments', { coachId: c.user.id, scheduledFor: at }, bearer(a.token));
    expect(booked.status).toBe(201);
    const appt = (await body<Appt>(booked)).data;
    expect(appt).toMatchObject({ scheduledFor: at, status: 'SCHEDULED', coach: { id: c.user.id }, client: { id: a.user.id } });
    // Taken: refused to another client, gone from the offer, on the coach's list.
    expect((await post('/api/appointments', { coachId: c.user.id, scheduledFor: at }, bearer(b.token))).status).toBe(409);
    expect((await slotsOf(b.token))[0]!.slots).toEqual([`${date}T09:00:00.000Z`]);
    expect((await body<Appt[]>(await get('/api/appointments', bearer(c.token)))).data.map((x) => x.id)).toEqual([appt.id]);
    expect((await body<Appt[]>(await get('/api/appointments', bearer(a.token)))).data.map((x) => x.id)).toEqual([appt.id]);
    expect((await body<Appt[]>(await get('/api/appointments', bearer(b.token)))).data).toEqual([]);

    // Cancelled by the coach (recorded), the slot is free again; cancelling twice is a conflict.
    expect((await post(`/api/appointments/${appt.id}/cancel`, {}, bearer(b.token))).status).toBe(404);
    const cancelled = await post(`/api/appointments/${appt.id}/cancel`, {}, bearer(c.token));
    expect((await body<Appt>(cancelled)).data).toMatchObject({ status: 'CANCELLED', cancelledBy: c.user.id });
    expect((await post(`/api/appointments/${appt.id}/cancel`, {}, bearer(a.token))).status).toBe(409);
    expect((await post('/api/appointments', { coachId: c.user.id, scheduledFor: at }, bearer(b.token))).status).toBe(201);
  });

  it('lets one of two clients booking the same slot at the same moment through', async () => {
    const c = await coach();
    const { date, dayOfWeek } = dayAfterTomorrow();
    await post('/api/availability', { dayOfWeek, startTime: '16:00', endTime: '17:00' }, bearer(c.token));
    const clients = await Promise.all([client(), client(), client()]);
    const answers = await Promise.all(
      clients.map((x) => post('/api/appointments', { coachId: c.user.id, scheduledFor: `${date}T16:00:00.000Z` }, bearer(x.token))),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await testDb().select().from(appointments).where(eq(appointments.coachId, c.user.id)).all()).toHaveLength(1);
  });

  it('keeps booking to PREMIUM clients (403 with the upgrade path) and to real slots (400)', async () => {
    const c = await coach();
    const member = await client('VAGUS_MEMBER');
    const premium = await client('PREMIUM');
    const { date, dayOfWeek } = dayAfterTomorrow();
    await post('/api/availability', { dayOfWeek, startTime: '09:00', endTime: '10:00' }, bearer(c.token));

    const refused = await get('/api/coaches/slots', bearer(member.token));
    expect(refused.status).toBe(403);
    expect((await body(refused)).error).toMatchObject({ code: 'TIER_LIMIT_REACHED', details: { upgradeUrl: '/pricing' } });
    expect((await post('/api/appointments', { coachId: c.user.id, scheduledFor: `${date}T09:00:00.000Z` }, bearer(member.token))).status).toBe(403);
    expect((await get('/api/coaches/slots', bearer(c.token))).status).toBe(403);

    for (const scheduledFor of [`${date}T09:15:00.000Z`, `${date}T10:00:00.000Z`, '2020-01-06T09:00:00.000Z']) {
      const res = await post('/api/appointments', { coachId: c.user.id, scheduledFor }, bearer(premium.token));
      expect(res.status, scheduledFor).toBe(400);
      expect((await body(res)).error.fields).toHaveProperty('scheduledFor');
    }
    expect((await post('/api/appointments', { coachId: 'nobody', scheduledFor: `${date}T09:00:00.000Z` }, bearer(premium.token))).status).toBe(404);
    expect((await post('/api/appointments', { coachId: c.user.id }, bearer(premium.token))).status).toBe(400);
    expect(await testDb().select().from(appointments).where(eq(appointments.coachId, c.user.id)).all()).toEqual([]);
  });
});

describe('an appointment’s life', () => {
  it('is handed to another coach by its coach, never onto a taken slot', async () => {
    const c = await coach();
    const d = await coach();
    const a = await client();
    const b = await client();
    const { date, dayOfWeek } = dayAfterTomorrow();
    for (const x of [c, d]) await post('/api/availability', { dayOfWeek, startTime: '09:00', endTime: '10:00' }, bearer(x.token));
    const at = `${date}T09:00:00.000Z`;
    const mine = (await body<Appt>(await post('/api/appointments', { coachId: c.user.id, scheduledFor: at }, bearer(a.token)))).data;
    const theirs = (await body<Appt>(await post('/api/appointments', { coachId: d.user.id, scheduledFor: at }, bearer(b.token)))).data;

    type Option = { id: string; free: boolean; offersThisTime: boolean };
    const options = async () => (await body<Option[]>(await get(`/api/appointments/${mine.id}/reassign-options`, bearer(c.token)))).data;
    const e = await coach(); // no availability windows
    const before = await options();
    expect(before.find((o) => o.id === c.user.id)).toBeUndefined();
    expect(before.find((o) => o.id === d.user.id)).toMatchObject({ free: false, offersThisTime: true });
    expect(before.find((o) => o.id === e.user.id)).toMatchObject({ free: true, offersThisTime: false });
    expect((await get(`/api/appointments/${mine.id}/reassign-options`, bearer(d.token))).status).toBe(404);
    expect((await get(`/api/appointments/${mine.id}/reassign-options`, bearer(a.token))).status).toBe(403);

    expect((await post(`/api/appointments/${mine.id}/reassign`, { coachId: d.user.id }, bearer(c.token))).status).toBe(409);
    // A coach whose account is gone is no coach to hand it to.
    await testDb().update(users).set({ deletedAt: new Date() }).where(eq(users.id, e.user.id));
    expect((await post(`/api/appointments/${mine.id}/reassign`, { coachId: e.user.id }, bearer(c.token))).status).toBe(400);
    expect((await options()).find((o) => o.id === e.user.id)).toBeUndefined();
    expect((await post(`/api/appointments/${mine.id}/reassign`, { coachId: c.user.id }, bearer(d.token))).status).toBe(404);
    expect((await post(`/api/appointments/${mine.id}/reassign`, { coachId: a.user.id }, bearer(c.token))).status).toBe(400);
    expect((await post(`/api/appointments/${mine.id}/reassign`, { coachId: d.user.id }, bearer(a.token))).status).toBe(403);
    await post(`/api/appointments/${theirs.id}/cancel`, {}, bearer(b.token));
    expect((await options()).find((o) => o.id === d.user.id)).toMatchObject({ free: true, offersThisTime: true });
    const moved = await post(`/api/appointments/${mine.id}/reassign`, { coachId: d.user.id }, bearer(c.token));
    expect(moved.status).toBe(200);
    expect((await body<Appt>(moved)).data.coach.id).toBe(d.user.id);
    expect((await body<Appt[]>(await get('/api/appointments', bearer(d.token)))).data.map((x) => x.id)).toEqual([mine.id]);
  });

  it('starts only when the client has no other live session, and sends a second start back to its own session', async () => {
    const c = await coach();
    const a = await client();
    const [appt] = await testDb()
      .insert(appointments)
      .values({ clientId: a.user.id, coachId: c.user.id, scheduledFor: new Date(Date.now() + 5 * 60_000) })
      .returning();
    const status = async () => (await testDb().select().from(appointments).where(eq(appointments.id, appt!.id)).get())?.status;

    const adHoc = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(a.token)))).data;
    const refused = await post(`/api/rooms/appointment/${appt!.id}`, {}, bearer(a.token));
    expect(refused.status).toBe(409);
    expect((await body(refused)).error.details).toMatchObject({ sessionId: adHoc.sessionId, appointmentId: null });
    expect(await status()).toBe('SCHEDULED');

    await post(`/api/rooms/${adHoc.sessionId}/end`, {}, bearer(a.token));
    const opened = await post(`/api/rooms/appointment/${appt!.id}`, {}, bearer(a.token));
    expect(opened.status).toBe(201);
    const { sessionId } = (await body<{ sessionId: string }>(opened)).data;
    for (const again of [post(`/api/rooms/appointment/${appt!.id}`, {}, bearer(a.token)), post('/api/rooms', {}, bearer(a.token))]) {
      const res = await again;
      expect(res.status).toBe(409);
      expect((await body(res)).error.details).toMatchObject({ sessionId, appointmentId: appt!.id });
    }
    expect(await status()).toBe('ACTIVE');
  });

  it('opens its room 10 minutes before, once, with the booked coach as the session’s coach', async () => {
    const c = await coach();
    const other = await coach();
    const a = await client();
    const soon = new Date(Date.now() + 5 * 60_000);
    const later = new Date(Date.now() + 60 * 60_000);
    const [now5, in60] = await testDb()
      .insert(appointments)
      .values([
        { clientId: a.user.id, coachId: c.user.id, scheduledFor: soon },
        { clientId: a.user.id, coachId: c.user.id, scheduledFor: later },
      ])
      .returning();

    const early = await post(`/api/rooms/appointment/${in60!.id}`, {}, bearer(a.token));
    expect(early.status).toBe(409);
    expect((await body(early)).error.details).toHaveProperty('opensAt');
    expect((await post(`/api/rooms/appointment/${now5!.id}`, {}, bearer(c.token))).status).toBe(403);

    const opened = await post(`/api/rooms/appointment/${now5!.id}`, {}, bearer(a.token));
    expect(opened.status).toBe(201);
    const { sessionId } = (await body<{ sessionId: string }>(opened)).data;
    expect((await post(`/api/rooms/appointment/${now5!.id}`, {}, bearer(a.token))).status).toBe(409);
    const row = (await testDb().select().from(appointments).where(eq(appointments.id, now5!.id)).all())[0]!;
    expect(row.status).toBe('ACTIVE');

    // The booked coach joins as the session's coach; another coach cannot take it.
    expect((await post(`/api/rooms/${sessionId}/join`, {}, bearer(c.token))).status).toBe(200);
    expect((await post(`/api/rooms/${sessionId}/join`, {}, bearer(other.token))).status).toBe(409);
    const coachs = (await body<{ id: string; appointmentId: string | null }[]>(await get('/api/sessions', bearer(c.token)))).data;
    expect(coachs.find((s) => s.id === sessionId)?.appointmentId).toBe(now5!.id);

    // Ending the session ends the appointment: it no longer shows as under way.
    expect((await post(`/api/rooms/${sessionId}/end`, {}, bearer(c.token))).status).toBe(200);
    const ended = (await testDb().select().from(appointments).where(eq(appointments.id, now5!.id)).all())[0]!;
    expect(ended.status).toBe('COMPLETED');
    const upcoming = (await body<{ id: string }[]>(await get('/api/appointments', bearer(a.token)))).data;
    expect(upcoming.map((x) => x.id)).not.toContain(now5!.id);
    const all = (await body<{ id: string; status: string }[]>(await get('/api/appointments?include=all', bearer(a.token)))).data;
    expect(all.find((x) => x.id === now5!.id)?.status).toBe('COMPLETED');
  });
});

describe('caps', () => {
  it('keeps a coach to 50 availability windows, also when several are added at once', async () => {
    const c = await coach(false);
    const rows = Array.from({ length: 47 }, (_, i) => ({ coachId: c.user.id, dayOfWeek: i % 7, startTime: '09:00', endTime: '10:00' }));
    // D1 binds at most 100 values a statement.
    for (let i = 0; i < rows.length; i += 10)
      await testDb()
        .insert(coachAvailability)
        .values(rows.slice(i, i + 10));
    expect((await post('/api/availability', { dayOfWeek: 1, startTime: '11:00', endTime: '12:00' }, bearer(c.token))).status).toBe(201);
    const answers = await Promise.all(
      [1, 2, 3, 4].map((h) => post('/api/availability', { dayOfWeek: 2, startTime: `1${h}:00`, endTime: `1${h}:30` }, bearer(c.token))),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 409, 409]);
    const refused = (await body(answers.find((r) => r.status === 409)!)).error;
    expect(refused).toMatchObject({ code: 'CONFLICT', details: { limit: 50 } });
    expect(refused.message).toMatch(/50 availability windows/);
    expect((await body<Window[]>(await get('/api/availability', bearer(c.token)))).data).toHaveLength(50);
    // Removing one makes room for another.
    const [first] = (await body<Window[]>(await get('/api/availability', bearer(c.token)))).data;
    await send('DELETE', `/api/availability/${first!.id}`, undefined, c.token);
    expect((await post('/api/availability', { dayOfWeek: 3, startTime: '11:00', endTime: '12:00' }, bearer(c.token))).status).toBe(201);
  });

  it('keeps a client to 10 scheduled appointments ahead, also when several are booked at once; a cancelled one frees a place', async () => {
    const c = await coach();
    const a = await client();
    const { date, dayOfWeek } = dayAfterTomorrow();
    await post('/api/availability', { dayOfWeek, startTime: '08:00', endTime: '15:00' }, bearer(c.token));
    const at = (i: number) => new Date(Date.parse(`${date}T08:00:00.000Z`) + i * 30 * 60_000).toISOString();
    const book = (i: number) => post('/api/appointments', { coachId: c.user.id, scheduledFor: at(i) }, bearer(a.token));
    // Over and done with, or cancelled: not counted.
    await testDb()
      .insert(appointments)
      .values([
        { clientId: a.user.id, coachId: c.user.id, scheduledFor: new Date(Date.now() - 2 * 86_400_000) },
        { clientId: a.user.id, coachId: c.user.id, scheduledFor: new Date(Date.parse(at(13))), status: 'CANCELLED' },
      ]);
    for (let i = 0; i < 8; i++) expect((await book(i)).status, `booking ${i}`).toBe(201);
    const answers = await Promise.all([8, 9, 10, 11].map(book));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 201, 409, 409]);
    expect((await body(answers.find((r) => r.status === 409)!)).error).toMatchObject({ code: 'CONFLICT', details: { limit: 10 } });
    const mine = (await body<Appt[]>(await get('/api/appointments', bearer(a.token)))).data;
    expect(mine).toHaveLength(10);

    await post(`/api/appointments/${mine[0]!.id}/cancel`, {}, bearer(a.token));
    expect((await book(12)).status).toBe(201);
    expect((await book(13)).status).toBe(409);
    await stopBookings(c);
  });

  it('offers and books slots up to 60 days ahead, no further', async () => {
    const c = await coach();
    const a = await client();
    const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    for (const n of [58, 61]) await post('/api/availability', { specificDate: day(n), startTime: '09:00', endTime: '10:00' }, bearer(c.token));
    const from = new Date(Date.now() + 55 * 86_400_000).toISOString();
    const offered = (await body<Slots>(await get(`/api/coaches/slots?days=14&from=${from}`, bearer(a.token)))).data.find((x) => x.coach.id === c.user.id);
    expect(offered?.slots).toEqual([`${day(58)}T09:00:00.000Z`, `${day(58)}T09:30:00.000Z`]);
    const beyond = new Date(Date.now() + 61 * 86_400_000).toISOString();
    expect((await body<Slots>(await get(`/api/coaches/slots?days=7&from=${beyond}`, bearer(a.token)))).data).toEqual([]);

    const far = await post('/api/appointments', { coachId: c.user.id, scheduledFor: `${day(61)}T09:00:00.000Z` }, bearer(a.token));
    expect(far.status).toBe(400);
    expect((await body(far)).error.fields).toHaveProperty('scheduledFor');
    expect((await post('/api/appointments', { coachId: c.user.id, scheduledFor: `${day(58)}T09:00:00.000Z` }, bearer(a.token))).status).toBe(201);
    await stopBookings(c);
  });
});

describe('many coaches', () => {
  it('lists slots and reassign options with more coaches than D1 binds parameters in one query (100)', async () => {
    const { date, dayOfWeek } = dayAfterTomorrow();
    const many: { id: string }[] = [];
    for (let i = 0; i < 120; i++) {
      const [m] = await testDb()
        .insert(users)
        .values({ email: `many-${i}-${crypto.randomUUID().slice(0, 6)}@example.com`, displayName: `Coach ${i}`, role: 'COACH', isAvailable: true })
        .returning({ id: users.id });
      await testDb().insert(coachAvailability).values({ coachId: m!.id, dayOfWeek, startTime: '09:00', endTime: '10:00' });
      many.push(m!);
    }
    try {
      const cl = await client();
      const res = await get('/api/coaches/slots?days=3', bearer(cl.token));
      expect(res.status).toBe(200);
      const slots = (await body<Slots>(res)).data;
      expect(slots.filter((s) => many.some((m) => m.id === s.coach.id) && s.slots.includes(`${date}T09:00:00.000Z`))).toHaveLength(120);

      const c = await coach();
      const [appt] = await testDb()
        .insert(appointments)
        .values({ clientId: cl.user.id, coachId: c.user.id, scheduledFor: new Date(`${date}T09:00:00.000Z`) })
        .returning();
      const options = await get(`/api/appointments/${appt!.id}/reassign-options`, bearer(c.token));
      expect(options.status).toBe(200);
      await stopBookings(c);
    } finally {
      await testDb()
        .update(users)
        .set({ isAvailable: false })
        .where(inArray(users.id, many.map((m) => m.id).slice(0, 90)));
      await testDb()
        .update(users)
        .set({ isAvailable: false })
        .where(inArray(users.id, many.map((m) => m.id).slice(90)));
    }
  });
});
