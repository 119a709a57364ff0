import { createScheduledController, env } from 'cloudflare:test';
import { atLocalTime, localDate, localWeekday } from '@hybrid-coach/shared/time-zone';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, deliverMail, get, post, signIn, testDb } from '../../test/helpers';
import { mailTo } from '../../test/mailpit';
import { appointments, coachAvailability, emailOutbox, users } from '../db/schema';
import worker from '../index';
import { ERASURE_CRON } from '../lib/erasure';
import { drainOutbox } from '../mail/drain';

type Appt = { id: string; scheduledFor: string; status: string };

async function person(role: 'COACH' | 'CLIENT', displayName: string, timeZone: string | null = null) {
  const user = await createUser({ role, tier: role === 'CLIENT' ? 'PREMIUM' : 'FREE', displayName });
  await testDb()
    .update(users)
    .set({ timeZone, ...(role === 'COACH' ? { isAvailable: true } : {}) })
    .where(eq(users.id, user.id));
  return { user, token: await signIn(user.email) };
}

/**
 * A coach in New York working 09:00–12:00 local on a day a week ahead (no daylight-saving change then in
 * the tests' years matters: the slot instants are read back from the API), and a PREMIUM client in Tokyo.
 */
async function world() {
  const coach = await person('COACH', 'Casey Coach', 'America/New_York');
  const client = await person('CLIENT', 'Riley Client', 'Asia/Tokyo');
  const day = new Date(Date.now() + 3 * 86_400_000);
  const date = day.toISOString().slice(0, 10);
  await post('/api/availability', { specificDate: date, startTime: '09:00', endTime: '12:00' }, bearer(coach.token));
  await testDb().update(users).set({ isAvailable: false }).where(eq(users.role, 'COACH'));
  await testDb().update(users).set({ isAvailable: true }).where(eq(users.id, coach.user.id));
  const slots = (await body<{ coach: { id: string }; slots: string[] }[]>(await get('/api/coaches/slots?days=7', bearer(client.token)))).data;
  const mine = slots.find((s) => s.coach.id === coach.user.id)?.slots ?? [];
  expect(mine).toHaveLength(6);
  return { coach, client, slots: mine };
}

const book = async (w: Awaited<ReturnType<typeof world>>, slot: string, token = w.client.token) => {
  const res = await post('/api/appointments', { coachId: w.coach.user.id, scheduledFor: slot }, bearer(token));
  expect(res.status).toBe(201);
  return (await body<Appt>(res)).data.id;
};
const reschedule = (id: string, scheduledFor: string, token: string) => post(`/api/appointments/${id}/reschedule`, { scheduledFor }, bearer(token));
const stored = (id: string) => testDb().select().from(appointments).where(eq(appointments.id, id)).get();
const icsOf = async (m: { ID: string; Attachments: { PartID: string }[] }) =>
  (await fetch(`${env.TEST_MAILPIT_URL}/api/v1/message/${m.ID}/part/${m.Attachments[0]!.PartID}`)).text();
/** How the time reads in a zone, as the emails write it. */
const inZone = (iso: string, timeZone: string) => `${new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone })} ${timeZone}`;

describe('rescheduling', () => {
  it('moves the client’s appointment to another free slot in one step; both sides hear of it in their own zone, the .ics keeps its UID with a higher SEQUENCE', async () => {
    const w = await world();
    const id = await book(w, w.slots[0]!);
    await deliverMail();
    const [bookedClient] = await mailTo(w.client.user.email);
    // Each side reads the booking in their own zone, named.
    expect(bookedClient?.Text).toContain(inZone(w.slots[0]!, 'Asia/Tokyo'));
    const [bookedCoach] = await mailTo(w.coach.user.email);
    expect(bookedCoach?.Text).toContain(inZone(w.slots[0]!, 'America/New_York'));
    const firstIcs = await icsOf(bookedClient!);

    const res = await reschedule(id, w.slots[3]!, w.client.token);
    expect(res.status).toBe(200);
    expect((await body<Appt>(res)).data).toMatchObject({ id, scheduledFor: w.slots[3], status: 'SCHEDULED' });
    // The old slot is free again, the new one taken.
    const free = (await body<{ coach: { id: string }; slots: string[] }[]>(await get('/api/coaches/slots?days=7', bearer(w.client.token)))).data;
    const now = free.find((s) => s.coach.id === w.coach.user.id)!.slots;
    expect(now).toContain(w.slots[0]);
    expect(now).not.toContain(w.slots[3]);

    await deliverMail();
    for (const [to, zone] of [
      [w.client.user.email, 'Asia/Tokyo'],
      [w.coach.user.email, 'America/New_York'],
    ] as const) {
      const moved = (await mailTo(to, { count: 2 })).find((m) => m.Subject === 'Your Hybrid Coach session was moved');
      expect(moved?.Text).toContain(`${inZone(w.slots[0]!, zone)} was moved to`);
      expect(moved?.Text).toContain(inZone(w.slots[3]!, zone));
      const ics = await icsOf(moved!);
      const uid = /UID:(.+)\r\n/.exec(ics)?.[1];
      expect(uid).toBe(/UID:(.+)\r\n/.exec(firstIcs)?.[1]);
      expect(Number(/SEQUENCE:(\d+)/.exec(ics)?.[1])).toBeGreaterThan(Number(/SEQUENCE:(\d+)/.exec(firstIcs)?.[1]));
      expect(ics).toContain(`DTSTART:${w.slots[3]!.replace(/[-:]/g, '').replace('.000', '')}`);
    }
    // The download says the same: same UID, the new time; once cancelled, it removes the event.
    const download = async () => {
      const res = await get(`/api/appointments/${id}/ics`, bearer(w.client.token));
      expect(res.headers.get('Content-Type')).toContain('text/calendar');
      return res.text();
    };
    const downloaded = await download();
    expect(/UID:(.+)\r\n/.exec(downloaded)?.[1]).toBe(/UID:(.+)\r\n/.exec(firstIcs)?.[1]);
    expect(downloaded).toContain(`DTSTART:${w.slots[3]!.replace(/[-:]/g, '').replace('.000', '')}`);
    expect(downloaded).toContain('METHOD:PUBLISH');
    // The reminders follow the new time: those for the old one are cancelled, new ones queued.
    const reminders = await testDb()
      .select()
      .from(emailOutbox)
      .where(eq(emailOutbox.ref, `appointment:${id}`))
      .all();
    const queued = reminders.filter((r) => r.template === 'appointment-reminder' && r.state === 'queued');
    expect(queued).toHaveLength(4);
    expect(new Set(queued.map((r) => r.nextAttemptAt.getTime() + 3_600_000 * (r.subject.includes('tomorrow') ? 24 : 1)))).toEqual(
      new Set([Date.parse(w.slots[3]!)]),
    );
    expect((await post(`/api/appointments/${id}/cancel`, {}, bearer(w.coach.token))).status).toBe(200);
    expect(await download()).toContain('METHOD:CANCEL');
  });

  it('refuses a slot taken meanwhile (409) and keeps the original; two moves into one slot at once: one wins', async () => {
    const w = await world();
    const other = await person('CLIENT', 'Other Client');
    const mine = await book(w, w.slots[0]!);
    await book(w, w.slots[1]!, other.token);
    const res = await reschedule(mine, w.slots[1]!, w.client.token);
    expect(res.status).toBe(409);
    expect((await body(res)).error?.code).toBe('CONFLICT');
    expect((await stored(mine))?.scheduledFor.toISOString()).toBe(w.slots[0]);
    expect((await stored(mine))?.status).toBe('SCHEDULED');

    // Both clients move into the same free slot at the same moment.
    const theirs = (await body<Appt[]>(await get('/api/appointments', bearer(other.token)))).data[0]!.id;
    const answers = await Promise.all([reschedule(mine, w.slots[4]!, w.client.token), reschedule(theirs, w.slots[4]!, other.token)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const rows = await Promise.all([stored(mine), stored(theirs)]);
    // One of them holds the slot; the other kept its own time.
    expect(rows.filter((r) => r?.scheduledFor.toISOString() === w.slots[4])).toHaveLength(1);
    const loser = rows.find((r) => r?.scheduledFor.toISOString() !== w.slots[4])!;
    expect(loser.scheduledFor.toISOString()).toBe(loser.id === mine ? w.slots[0] : w.slots[1]);
  });

  it('refuses bad moves with the documented 4xx and writes nothing', async () => {
    const w = await world();
    const stranger = await person('CLIENT', 'Stranger');
    const id = await book(w, w.slots[0]!);
    const cancelled = await book(w, w.slots[2]!);
    expect((await post(`/api/appointments/${cancelled}/cancel`, {}, bearer(w.client.token))).status).toBe(200);
    const past = crypto.randomUUID();
    await testDb()
      .insert(appointments)
      .values({ id: past, clientId: w.client.user.id, coachId: w.coach.user.id, scheduledFor: new Date(Date.now() - 10 * 60_000) });
    // A weekly window on yesterday's weekday (New York): yesterday's 09:00 was one of its slots, in the past
    // now; the same time a week on is free.
    const yesterday = localDate(new Date(Date.now() - 86_400_000), 'America/New_York');
    const pastSlot = atLocalTime(yesterday, 9 * 60, 'America/New_York');
    const weekday = localWeekday(pastSlot, 'America/New_York');
    expect((await post('/api/availability', { dayOfWeek: weekday, startTime: '09:00', endTime: '12:00' }, bearer(w.coach.token))).status).toBe(201);
    const offered = (await body<{ coach: { id: string }; slots: string[] }[]>(await get('/api/coaches/slots?days=7', bearer(w.client.token)))).data;
    expect(offered.find((o) => o.coach.id === w.coach.user.id)?.slots).toContain(new Date(pastSlot.getTime() + 7 * 86_400_000).toISOString());
    const outboxBefore = (await testDb().select().from(emailOutbox).all()).length;

    const cases: [string, string, string, number, string][] = [
      ['someone else’s', id, w.slots[1]!, 404, stranger.token],
      ['as its coach', id, w.slots[1]!, 403, w.coach.token],
      ['cancelled', cancelled, w.slots[1]!, 409, w.client.token],
      ['begun', past, w.slots[1]!, 409, w.client.token],
      ['not a slot', id, new Date(Date.parse(w.slots[0]!) + 15 * 60_000).toISOString(), 400, w.client.token],
      ['a slot in the past', id, pastSlot.toISOString(), 400, w.client.token],
      ['its own time', id, w.slots[0]!, 400, w.client.token],
      ['no such appointment', crypto.randomUUID(), w.slots[1]!, 404, w.client.token],
    ];
    for (const [what, appt, at, status, token] of cases) {
      const res = await reschedule(appt, at, token);
      expect(res.status, what).toBe(status);
      const b = await body(res);
      expect(b.success, what).toBe(false);
      expect(typeof b.error?.code, what).toBe('string');
    }
    expect((await post(`/api/appointments/${id}/reschedule`, { scheduledFor: 'tomorrow' }, bearer(w.client.token))).status).toBe(400);
    expect((await post(`/api/appointments/${id}/reschedule`, { scheduledFor: w.slots[1], coachId: 'x' }, bearer(w.client.token))).status).toBe(400);
    expect((await stored(id))?.scheduledFor.toISOString()).toBe(w.slots[0]);
    expect((await stored(cancelled))?.status).toBe('CANCELLED');
    expect((await testDb().select().from(emailOutbox).all()).length).toBe(outboxBefore);
  });

  it('makes the checks booking makes: a client no longer PREMIUM (403), a coach no longer taking bookings (409); the original kept, nothing written', async () => {
    const w = await world();
    const id = await book(w, w.slots[0]!);
    const outboxBefore = (await testDb().select().from(emailOutbox).all()).length;
    const kept = async () => {
      expect(await stored(id)).toMatchObject({ status: 'SCHEDULED', scheduledFor: new Date(w.slots[0]!) });
      expect((await testDb().select().from(emailOutbox).all()).length).toBe(outboxBefore);
    };

    // The client's membership lapsed (the Skool sync set them FREE).
    await testDb().update(users).set({ membershipTier: 'FREE' }).where(eq(users.id, w.client.user.id));
    const free = await reschedule(id, w.slots[3]!, w.client.token);
    expect(free.status).toBe(403);
    expect((await body(free)).error).toMatchObject({ code: 'TIER_LIMIT_REACHED', details: { tier: 'FREE', upgradeUrl: expect.any(String) } });
    await kept();

    // PREMIUM again, but the coach closed their bookings.
    await testDb().update(users).set({ membershipTier: 'PREMIUM' }).where(eq(users.id, w.client.user.id));
    await testDb().update(users).set({ isAvailable: false }).where(eq(users.id, w.coach.user.id));
    const closed = await reschedule(id, w.slots[3]!, w.client.token);
    expect(closed.status).toBe(409);
    expect((await body(closed)).error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('not taking bookings') });
    await kept();

    // Both as before: the move goes through.
    await testDb().update(users).set({ isAvailable: true }).where(eq(users.id, w.coach.user.id));
    expect((await reschedule(id, w.slots[3]!, w.client.token)).status).toBe(200);
  });
});

describe('missed appointments', () => {
  /** An appointment of this client and coach at `at`, written directly (the API books only the future). */
  async function at(w: { client: { user: { id: string } }; coach: { user: { id: string } } }, when: Date, status: 'SCHEDULED' | 'ACTIVE' = 'SCHEDULED') {
    const id = crypto.randomUUID();
    await testDb().insert(appointments).values({ id, clientId: w.client.user.id, coachId: w.coach.user.id, scheduledFor: when, status });
    return id;
  }

  it('becomes MISSED 15 minutes after its end with no session, shown so to both sides; a started one does not', async () => {
    const coach = await person('COACH', 'Casey Coach');
    const client = await person('CLIENT', 'Riley Client');
    const w = { coach, client };
    const minute = 60_000;
    const over = await at(w, new Date(Date.now() - (30 + 15 + 1) * minute)); // its end plus 15 minutes has passed
    const notYet = await at(w, new Date(Date.now() - (30 + 14) * minute)); // a minute to go
    const started = await at(w, new Date(Date.now() - 2 * 3_600_000), 'ACTIVE');
    const all = async (token: string) =>
      Object.fromEntries((await body<Appt[]>(await get('/api/appointments?include=all', bearer(token)))).data.map((a) => [a.id, a.status]));
    expect(await all(client.token)).toMatchObject({ [over]: 'MISSED', [notYet]: 'SCHEDULED', [started]: 'ACTIVE' });
    expect(await all(coach.token)).toMatchObject({ [over]: 'MISSED', [notYet]: 'SCHEDULED', [started]: 'ACTIVE' });
    // Neither side can cancel or move it any more.
    expect((await post(`/api/appointments/${over}/cancel`, {}, bearer(client.token))).status).toBe(409);
  });

  it('uses none of the month’s sessions: a client on FREE (one session a month) still starts their one session after missing one', async () => {
    const coach = await person('COACH', 'Casey Coach');
    const client = await person('CLIENT', 'Riley Client');
    const missed = await at({ coach, client }, new Date(Date.now() - 2 * 3_600_000));
    const mine = (await body<Appt[]>(await get('/api/appointments?include=all', bearer(client.token)))).data;
    expect(mine.find((a) => a.id === missed)?.status).toBe('MISSED');
    // Their membership lapsed after booking: FREE allows one session a month.
    await testDb().update(users).set({ membershipTier: 'FREE' }).where(eq(users.id, client.user.id));
    const usage = async () => (await body<{ usage: { sessionsThisMonth: number } }>(await get('/api/users/me', bearer(client.token)))).data.usage;
    expect((await usage()).sessionsThisMonth).toBe(0);

    // The month's one session is still theirs (were the missed one counted, this start would be 403), and
    // a session started does count.
    const started = await post('/api/rooms', {}, bearer(client.token));
    expect(started.status).toBe(201);
    expect((await usage()).sessionsThisMonth).toBe(1);
    await post(`/api/rooms/${(await body<{ sessionId: string }>(started)).data.sessionId}/end`, {}, bearer(client.token));
  });

  it.each([
    ['nightly', '0 3 * * *'],
    ['hourly', ERASURE_CRON],
  ])('is marked by the %s cron at its run time (the test moves the time), without anyone looking', async (_, cron) => {
    const coach = await person('COACH', 'Casey Coach');
    const client = await person('CLIENT', 'Riley Client');
    const start = new Date(Date.now() + 2 * 3_600_000);
    const id = await at({ coach, client }, start);
    // The cron an hour before it: nothing to mark.
    await worker.scheduled(createScheduledController({ cron, scheduledTime: start.getTime() - 3_600_000 }), env);
    expect((await stored(id))?.status).toBe('SCHEDULED');
    // The cron at its end plus 15 minutes: MISSED.
    await worker.scheduled(createScheduledController({ cron, scheduledTime: start.getTime() + 45 * 60_000 }), env);
    expect((await stored(id))?.status).toBe('MISSED');
  });
});

describe('reminders in each person’s zone', () => {
  it('writes the time in the coach’s zone for the coach and the client’s for the client (UTC, named, when they have none)', async () => {
    const coach = await person('COACH', 'Casey Coach', 'Australia/Sydney');
    const client = await person('CLIENT', 'Riley Client');
    const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    await testDb().delete(coachAvailability).where(eq(coachAvailability.coachId, coach.user.id));
    await post('/api/availability', { specificDate: day, startTime: '00:00', endTime: '24:00' }, bearer(coach.token));
    const slots = (await body<{ coach: { id: string }; slots: string[] }[]>(await get('/api/coaches/slots?days=7', bearer(client.token)))).data;
    const slot = slots.find((s) => s.coach.id === coach.user.id)!.slots[10]!;
    await post('/api/appointments', { coachId: coach.user.id, scheduledFor: slot }, bearer(client.token));
    await deliverMail();
    await mailTo(client.user.email);
    await mailTo(coach.user.email);
    await drainOutbox(env, testDb(), { now: new Date(Date.parse(slot) - 3_600_000 + 1000) });
    const forClient = (await mailTo(client.user.email, { count: 3 })).filter((m) => m.Subject.startsWith('Reminder'));
    const forCoach = (await mailTo(coach.user.email, { count: 3 })).filter((m) => m.Subject.startsWith('Reminder'));
    expect(forClient).toHaveLength(2);
    expect(forCoach).toHaveLength(2);
    for (const m of forClient) expect(m.Text).toContain(inZone(slot, 'UTC'));
    for (const m of forCoach) expect(m.Text).toContain(inZone(slot, 'Australia/Sydney'));
  });
});
