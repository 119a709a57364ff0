import { SELF } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { coachAvailability, users } from '../db/schema';

afterEach(() => {
  vi.useRealTimers();
});

const send = (method: 'PATCH' | 'PUT', path: string, payload: unknown, token: string) =>
  SELF.fetch(`${API}${path}`, { method, headers: { 'Content-Type': 'application/json', ...bearer(token) }, body: JSON.stringify(payload) });

type Me = { timeZone: string; timeZoneConfirmed: boolean };
type Window = { id: string; dayOfWeek: number; startTime: string; endTime: string };
type Slots = { coach: { id: string }; slots: string[] }[];

async function person(role: 'COACH' | 'CLIENT') {
  const user = await createUser({ role, tier: 'PREMIUM' });
  if (role === 'COACH') await testDb().update(users).set({ isAvailable: true }).where(eq(users.id, user.id));
  return { user, token: await signIn(user.email) };
}
const stopBookings = (c: { user: { id: string } }) => testDb().update(users).set({ isAvailable: false }).where(eq(users.id, c.user.id));
const wallClock = (slots: string[], zone: string) =>
  slots.map((s) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, dateStyle: 'short', timeStyle: 'short', hourCycle: 'h23' }).format(new Date(s)));

describe('the coach’s time zone', () => {
  it('is UTC and unconfirmed until chosen; a chosen IANA zone is kept in its canonical spelling', async () => {
    const c = await person('COACH');
    expect((await body<Me>(await get('/api/users/me', bearer(c.token)))).data).toMatchObject({ timeZone: 'UTC', timeZoneConfirmed: false });
    const res = await send('PATCH', '/api/users/me', { timeZone: 'america/new_york' }, c.token);
    expect(res.status).toBe(200);
    expect((await body<Me>(res)).data).toMatchObject({ timeZone: 'America/New_York', timeZoneConfirmed: true });
  });

  it('refuses a name that is not an IANA zone with 400 naming the field, and writes nothing', async () => {
    const c = await person('COACH');
    await send('PATCH', '/api/users/me', { timeZone: 'Europe/London' }, c.token);
    for (const bad of ['Mars/Olympus_Mons', '+05:00', 'Europe/Londres', '', 42, null]) {
      const res = await send('PATCH', '/api/users/me', { timeZone: bad, displayName: 'Renamed' }, c.token);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      const { error } = await body(res);
      expect(error.code).toBe('VALIDATION_ERROR');
      expect(error.fields).toHaveProperty('timeZone');
    }
    const row = await testDb().select().from(users).where(eq(users.id, c.user.id)).get();
    expect(row).toMatchObject({ timeZone: 'Europe/London', displayName: c.user.displayName });
  });
});

describe('confirming a first zone', () => {
  const windowsOf = async (c: { user: { id: string } }) =>
    (await testDb().select().from(coachAvailability).where(eq(coachAvailability.coachId, c.user.id)).all())
      .map((w) => `${w.specificDate ?? w.dayOfWeek} ${w.startTime}-${w.endTime}${w.closed ? ' closed' : ''}`)
      .sort();

  it('moves the windows typed in UTC into the zone: every offered slot keeps its instant; a later zone change keeps local hours', async () => {
    vi.useFakeTimers({ now: new Date('2027-01-11T12:00:00Z'), toFake: ['Date'] });
    const c = await person('COACH');
    const cl = await person('CLIENT');
    // Typed while the coach had no zone (read as UTC): a New York coach's 09:00–12:00 Tuesdays, evening hours
    // that cross midnight in New York, a one-off, and a day off closing an hour.
    for (const w of [
      { dayOfWeek: 2, startTime: '14:00', endTime: '17:00' },
      { dayOfWeek: 3, startTime: '03:00', endTime: '07:00' },
      { specificDate: '2027-01-15', startTime: '01:00', endTime: '02:00' },
      { specificDate: '2027-01-19', startTime: '14:00', endTime: '15:00', closed: true },
    ]) {
      expect((await post('/api/availability', w, bearer(c.token))).status).toBe(201);
    }
    const offered = async () =>
      (await body<Slots>(await get('/api/coaches/slots?days=28', bearer(cl.token)))).data.find((x) => x.coach.id === c.user.id)?.slots ?? [];
    const before = await offered();
    expect(before).toHaveLength(4 * 6 + 4 * 8 + 2 - 2);

    expect((await send('PATCH', '/api/users/me', { timeZone: 'America/New_York' }, c.token)).status).toBe(200);
    expect(await offered()).toEqual(before);
    expect(await windowsOf(c)).toEqual(['2 09:00-12:00', '2 22:00-24:00', '2027-01-14 20:00-21:00', '2027-01-19 09:00-10:00 closed', '3 00:00-02:00']);
    // The Tuesday slots read 09:00 … 11:30 in New York.
    expect(
      wallClock(before, 'America/New_York')
        .filter((t) => t.startsWith('2027-01-12'))
        .map((t) => t.slice(-5)),
    ).toEqual(['09:00', '09:30', '10:00', '10:30', '11:00', '11:30', '22:00', '22:30', '23:00', '23:30']);

    // Moving to London later: the working day stays 09:00–12:00 on the new clock (not converted again).
    expect((await send('PATCH', '/api/users/me', { timeZone: 'Europe/London' }, c.token)).status).toBe(200);
    expect(await windowsOf(c)).toEqual(['2 09:00-12:00', '2 22:00-24:00', '2027-01-14 20:00-21:00', '2027-01-19 09:00-10:00 closed', '3 00:00-02:00']);
    expect((await offered())[0]).toBe('2027-01-12T09:00:00.000Z');
    await stopBookings(c);
  });

  it('converts once when two first zones are set at the same moment', async () => {
    vi.useFakeTimers({ now: new Date('2027-01-11T12:00:00Z'), toFake: ['Date'] });
    const c = await person('COACH');
    await post('/api/availability', { dayOfWeek: 2, startTime: '14:00', endTime: '17:00' }, bearer(c.token));
    const answers = await Promise.all([
      send('PATCH', '/api/users/me', { timeZone: 'America/New_York' }, c.token),
      send('PATCH', '/api/users/me', { timeZone: 'America/New_York' }, c.token),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(await windowsOf(c)).toEqual(['2 09:00-12:00']);
    await stopBookings(c);
  });
});

describe('slots in the coach’s zone across daylight-saving changes', () => {
  // The Sunday before each 2027 change, and the Sunday of it; the first slot (9:00 local) of each in UTC.
  const changes = [
    ['America/New_York', '2027-03-07', '2027-03-14T13:00:00.000Z', '2027-03-07T14:00:00.000Z'],
    ['America/New_York', '2027-10-31', '2027-11-07T14:00:00.000Z', '2027-10-31T13:00:00.000Z'],
    ['Europe/London', '2027-03-21', '2027-03-28T08:00:00.000Z', '2027-03-21T09:00:00.000Z'],
    ['Europe/London', '2027-10-24', '2027-10-31T09:00:00.000Z', '2027-10-24T08:00:00.000Z'],
    ['Australia/Sydney', '2027-03-28', '2027-04-03T23:00:00.000Z', '2027-03-27T22:00:00.000Z'],
    ['Australia/Sydney', '2027-09-26', '2027-10-02T22:00:00.000Z', '2027-09-25T23:00:00.000Z'],
  ] as const;

  it.each(changes)('%s (week of %s): a 9:00–12:00 Sunday window gives 9:00 … 11:30 local on both sides', async (zone, sunday, firstAfter, firstBefore) => {
    vi.useFakeTimers({ now: new Date(`${sunday}T00:00:00Z`).getTime() - 3 * 86_400_000, toFake: ['Date'] });
    const c = await person('COACH');
    const cl = await person('CLIENT');
    await send('PATCH', '/api/users/me', { timeZone: zone }, c.token);
    expect((await post('/api/availability', { dayOfWeek: 0, startTime: '09:00', endTime: '12:00' }, bearer(c.token))).status).toBe(201);
    const from = new Date(Date.parse(`${sunday}T00:00:00Z`) - 86_400_000).toISOString();
    const offered = (await body<Slots>(await get(`/api/coaches/slots?days=10&from=${from}`, bearer(cl.token)))).data.find((x) => x.coach.id === c.user.id);
    const slots = offered?.slots ?? [];
    expect(slots).toHaveLength(12);
    expect([slots[0], slots[6]]).toEqual([firstBefore, firstAfter]);
    const times = wallClock(slots, zone).map((t) => t.slice(-5));
    expect(times).toEqual([...Array(2)].flatMap(() => ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30']));
    await stopBookings(c);
  });

  it('lets a client in another zone book the coach’s 9:00 after the change, and nothing an hour off it', async () => {
    vi.useFakeTimers({ now: new Date('2027-03-10T12:00:00Z'), toFake: ['Date'] });
    const c = await person('COACH');
    const [a, b] = [await person('CLIENT'), await person('CLIENT')];
    await send('PATCH', '/api/users/me', { timeZone: 'America/New_York' }, c.token);
    await post('/api/availability', { dayOfWeek: 0, startTime: '09:00', endTime: '12:00' }, bearer(c.token));
    const offered = (await body<Slots>(await get('/api/coaches/slots?days=7', bearer(a.token)))).data.find((x) => x.coach.id === c.user.id);
    // A client in Tokyo sees 9:00 New York time (EDT, from this day) as 22:00 there.
    expect(wallClock(offered?.slots.slice(0, 1) ?? [], 'Asia/Tokyo')).toEqual(['2027-03-14, 22:00']);
    // 14:00Z was 9:00 before the change; now it is 10:00, still a slot. 12:30Z is 8:30: not one.
    const book = (at: string, token: string) => post('/api/appointments', { coachId: c.user.id, scheduledFor: at }, bearer(token));
    expect((await book('2027-03-14T12:30:00.000Z', a.token)).status).toBe(400);
    expect((await book('2027-03-14T13:00:00.000Z', a.token)).status).toBe(201);
    expect((await book('2027-03-14T13:00:00.000Z', b.token)).status).toBe(409);
    const after = (await body<Slots>(await get('/api/coaches/slots?days=7', bearer(b.token)))).data.find((x) => x.coach.id === c.user.id);
    expect(after?.slots[0]).toBe('2027-03-14T13:30:00.000Z');
    await stopBookings(c);
  });
});

describe('one-off exceptions', () => {
  it('a day off on a date closes the weekly window’s slots that day only; only one-offs can close hours', async () => {
    vi.useFakeTimers({ now: new Date('2027-03-10T12:00:00Z'), toFake: ['Date'] });
    const c = await person('COACH');
    const cl = await person('CLIENT');
    await send('PATCH', '/api/users/me', { timeZone: 'Australia/Sydney' }, c.token);
    await post('/api/availability', { dayOfWeek: 0, startTime: '09:00', endTime: '10:00' }, bearer(c.token));
    const off = await post('/api/availability', { specificDate: '2027-03-14', startTime: '00:00', endTime: '24:00', closed: true }, bearer(c.token));
    expect(off.status).toBe(201);
    expect((await body(off)).data).toMatchObject({ closed: true, isRecurring: false, dayOfWeek: 0 });
    const offered = (await body<Slots>(await get('/api/coaches/slots?days=14', bearer(cl.token)))).data.find((x) => x.coach.id === c.user.id);
    // Sunday 2027-03-14 in Sydney is off; the next Sunday 9:00 AEDT is 22:00Z on the Saturday.
    expect(offered?.slots).toEqual(['2027-03-20T22:00:00.000Z', '2027-03-20T22:30:00.000Z']);
    const weeklyOff = await post('/api/availability', { dayOfWeek: 1, startTime: '09:00', endTime: '10:00', closed: true }, bearer(c.token));
    expect(weeklyOff.status).toBe(400);
    expect((await body(weeklyOff)).error.fields).toHaveProperty('closed');
    await stopBookings(c);
  });
});

describe('availability windows: bad input', () => {
  it('refuses a window ending before it starts (400) and one overlapping another (409), writing nothing', async () => {
    const c = await person('COACH');
    const monday = (await body<Window>(await post('/api/availability', { dayOfWeek: 1, startTime: '09:00', endTime: '12:00' }, bearer(c.token)))).data;
    const backwards = await post('/api/availability', { dayOfWeek: 2, startTime: '12:00', endTime: '09:00' }, bearer(c.token));
    expect(backwards.status).toBe(400);
    expect((await body(backwards)).error.fields).toHaveProperty('endTime');
    // 2027-01-04 is a Monday: extra hours inside the weekly window overlap it too.
    for (const clash of [
      { dayOfWeek: 1, startTime: '11:30', endTime: '13:00' },
      { dayOfWeek: 1, startTime: '08:00', endTime: '24:00' },
      { specificDate: '2027-01-04', startTime: '10:00', endTime: '10:30' },
    ]) {
      const res = await post('/api/availability', clash, bearer(c.token));
      expect(res.status, JSON.stringify(clash)).toBe(409);
      expect((await body(res)).error).toMatchObject({ code: 'CONFLICT', fields: { startTime: expect.any(String) } });
    }
    const tuesday = (await body<Window>(await post('/api/availability', { dayOfWeek: 2, startTime: '09:00', endTime: '12:00' }, bearer(c.token)))).data;
    // Back to back is not an overlap.
    expect((await post('/api/availability', { dayOfWeek: 1, startTime: '12:00', endTime: '13:00' }, bearer(c.token))).status).toBe(201);
    const moved = await send('PUT', `/api/availability/${tuesday.id}`, { dayOfWeek: 1, startTime: '10:00', endTime: '11:00' }, c.token);
    expect(moved.status).toBe(409);
    const rows = await testDb().select().from(coachAvailability).where(eq(coachAvailability.coachId, c.user.id)).all();
    expect(rows.map((r) => `${r.dayOfWeek} ${r.startTime}-${r.endTime}`).sort()).toEqual(['1 09:00-12:00', '1 12:00-13:00', '2 09:00-12:00']);
    expect(monday.id).toBeTruthy();
  });
});
