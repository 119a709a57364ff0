import { env, SELF } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, deliverMail, post, signIn, testDb } from '../../test/helpers';
import { mailTo, messagesTo } from '../../test/mailpit';
import { emailOutbox, users } from '../db/schema';
import { drainOutbox } from '../mail/drain';

async function person(role: 'COACH' | 'CLIENT', displayName: string) {
  const user = await createUser({ role, tier: role === 'CLIENT' ? 'PREMIUM' : 'FREE', displayName });
  if (role === 'COACH') await testDb().update(users).set({ isAvailable: true }).where(eq(users.id, user.id));
  return { user, token: await signIn(user.email) };
}

/** A coach with a window two days from now, 09:00-12:00 UTC, and a PREMIUM client; the slot at `hh:mm`. */
async function world(hhmm = '10:00') {
  const coach = await person('COACH', 'Casey Coach');
  const client = await person('CLIENT', 'Riley Client');
  const d = new Date(Date.now() + 2 * 86_400_000);
  await post('/api/availability', { dayOfWeek: d.getUTCDay(), startTime: '09:00', endTime: '12:00' }, bearer(coach.token));
  const at = new Date(`${d.toISOString().slice(0, 10)}T${hhmm}:00.000Z`);
  return { coach, client, at };
}

async function book(w: Awaited<ReturnType<typeof world>>) {
  const res = await post('/api/appointments', { coachId: w.coach.user.id, scheduledFor: w.at.toISOString() }, bearer(w.client.token));
  expect(res.status).toBe(201);
  return (await body<{ id: string }>(res)).data.id;
}

/** How many emails Mailpit holds for `to`. */
const subjects = async (to: string) => (await messagesTo(to)).length;
/** The drain as the MailOutbox would run it at `at` (this file's rows only: the pool isolates files' storage). */
const drainAt = (at: Date) => drainOutbox(env, testDb(), { now: at });

describe('appointment emails', () => {
  it('a booking emails the client and the coach, each with an .ics that says the right time', async () => {
    const w = await world();
    await book(w);
    await deliverMail();
    for (const [to, other] of [
      [w.client.user.email, 'Casey Coach'],
      [w.coach.user.email, 'Riley Client'],
    ] as const) {
      const [mail] = await mailTo(to);
      expect(mail?.Subject).toBe('Your Hybrid Coach session is booked');
      expect(mail?.Text).toContain(`with ${other}`);
      expect(mail?.Attachments).toMatchObject([{ FileName: 'appointment.ics', ContentType: 'text/calendar' }]);
      const ics = await (await fetch(`${env.TEST_MAILPIT_URL}/api/v1/message/${mail!.ID}/part/${mail!.Attachments[0]!.PartID}`)).text();
      expect(ics).toContain(`DTSTART:${w.at.toISOString().replace(/[-:]/g, '').replace('.000', '')}`);
      expect(ics).toContain('METHOD:PUBLISH');
    }
  });

  it('sends the reminders at 24 hours and 1 hour before, each once, and none after a cancel', async () => {
    const w = await world('11:00');
    const id = await book(w);
    await deliverMail();
    await mailTo(w.client.user.email); // booked
    const reminder = (h: number, deltaMs: number) => new Date(w.at.getTime() - h * 3_600_000 + deltaMs);
    await drainAt(reminder(24, -1000));
    expect(await subjects(w.client.user.email)).toBe(1);
    await drainAt(reminder(24, 1000));
    const after24 = await mailTo(w.client.user.email, { count: 2 });
    expect(after24.map((m) => m.Subject)).toContain('Reminder: your Hybrid Coach session is tomorrow');
    await mailTo(w.coach.user.email, { count: 2 });
    await drainAt(reminder(24, 60_000));
    expect(await subjects(w.client.user.email)).toBe(2);
    await drainAt(reminder(1, 1000));
    const after1 = await mailTo(w.client.user.email, { count: 3 });
    expect(after1.map((m) => m.Subject)).toContain('Reminder: your Hybrid Coach session starts in an hour');

    // Another booking, cancelled by the coach: the client hears of it, and no reminder follows.
    const w2 = await world('09:30');
    const id2 = await book(w2);
    await deliverMail();
    await mailTo(w2.client.user.email);
    expect((await post(`/api/appointments/${id2}/cancel`, {}, bearer(w2.coach.token))).status).toBe(200);
    await deliverMail();
    const cancelled = (await mailTo(w2.client.user.email, { count: 2 })).find((m) => m.Subject === 'Your Hybrid Coach session was cancelled');
    expect(cancelled?.Attachments).toMatchObject([{ ContentType: 'text/calendar' }]);
    await drainAt(new Date(w2.at.getTime() - 3_600_000 + 1000));
    expect(await subjects(w2.client.user.email)).toBe(2);
    const rows = await testDb()
      .select()
      .from(emailOutbox)
      .where(and(eq(emailOutbox.ref, `appointment:${id2}`), eq(emailOutbox.template, 'appointment-reminder')))
      .all();
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.state))).toEqual(new Set(['cancelled']));
    expect(id).not.toBe(id2);
  });

  it('a client with reminders off gets the booking email but no reminder', async () => {
    const w = await world('09:00');
    await SELF.fetch(`${API}/api/users/me`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', ...bearer(w.client.token) },
      body: JSON.stringify({ emailReminders: false }),
    });
    await book(w);
    await deliverMail();
    await mailTo(w.client.user.email);
    await drainAt(new Date(w.at.getTime() - 3_600_000 + 1000));
    // The coach still gets theirs; the client none.
    expect((await mailTo(w.coach.user.email, { count: 3 })).map((m) => m.Subject).filter((s) => s.startsWith('Reminder'))).toHaveLength(2);
    expect(await subjects(w.client.user.email)).toBe(1);
  });

  it('a hand-over emails the client, the new coach and the coach it left; reminders follow the new coach', async () => {
    const w = await world('10:30');
    const id = await book(w);
    const other = await person('COACH', 'Dana Newcoach');
    await deliverMail();
    expect((await post(`/api/appointments/${id}/reassign`, { coachId: other.user.id }, bearer(w.coach.token))).status).toBe(200);
    await deliverMail();
    const clientMail = (await mailTo(w.client.user.email, { count: 2 })).find((m) => m.Subject === 'Your Hybrid Coach session has a new coach');
    expect(clientMail?.Text).toContain('with Dana Newcoach instead of Casey Coach');
    expect((await mailTo(other.user.email)).map((m) => m.Subject)).toEqual(['Your Hybrid Coach session has a new coach']);
    expect((await mailTo(w.coach.user.email, { count: 2 })).map((m) => m.Subject)).toContain('A Hybrid Coach session was handed to another coach');
    await drainAt(new Date(w.at.getTime() - 3_600_000 + 1000));
    expect((await mailTo(other.user.email, { count: 3 })).filter((m) => m.Subject.startsWith('Reminder'))).toHaveLength(2);
    expect((await messagesTo(w.coach.user.email)).length).toBe(2);
  });
});
