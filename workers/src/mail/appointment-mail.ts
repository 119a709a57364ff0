/**
 * The emails of an appointment's life: booked (client and coach, with an .ics), reminders 24 hours and
 * 1 hour before (queued at booking with their send time; each once; none once it is cancelled, moved or
 * handed over), cancelled (client and coach, an .ics that removes it), reassigned (the client, the new
 * coach, and the coach it went away from), rescheduled (client and coach, the .ics's UID kept and its
 * SEQUENCE raised). Each person reads the time in their own zone (`users.time_zone`; UTC, named, without). Everyone concerned gets it, the person who acted included: it
 * is their confirmation.
 *
 * The writes go in the same D1 batch as the change, followed by a guard that cancels them unless the
 * change really happened (a booking taken back by the cap, a slot taken meanwhile, a cancel that found
 * the appointment no longer scheduled): a message exists exactly when its reason does.
 */
import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/client';
import { appointments, emailOutbox, users } from '../db/schema';
import { type CalendarEvent, icsAttachment } from './ics';
import { mailUnless, outboxInsert } from './outbox';
import { type AppointmentMailKind, appointmentMail } from './templates';

export interface Party {
  id: string;
  email: string;
  displayName: string;
  /** Their IANA zone: the times in their emails are written in it (UTC, named, when they have none). */
  timeZone: string | null;
}

export interface AppointmentFacts {
  id: string;
  scheduledFor: Date;
  durationMinutes: number;
  client: Party;
  coach: Party;
}

export type AppointmentEvent = { kind: 'booked' } | { kind: 'cancelled' } | { kind: 'reassigned'; from: Party } | { kind: 'rescheduled'; from: Date };

const REMINDERS = [
  { kind: 'reminder-24h', beforeMs: 24 * 60 * 60_000 },
  { kind: 'reminder-1h', beforeMs: 60 * 60_000 },
] as const;

export const appointmentRef = (id: string) => `appointment:${id}`;

/** The columns of a person an appointment's emails need. */
export const partyColumns = (t: typeof users) => ({ id: t.id, email: t.email, displayName: t.displayName, timeZone: t.timeZone });

const clientOf = alias(users, 'appointment_client');
const coachOf = alias(users, 'appointment_coach');

/** An appointment with its client and coach (as `Party`), in one query; undefined if there is none. */
export async function appointmentWithParties(db: Db, id: string) {
  const row = await db
    .select({
      appointment: appointments,
      client: { id: clientOf.id, email: clientOf.email, displayName: clientOf.displayName, timeZone: clientOf.timeZone },
      coach: { id: coachOf.id, email: coachOf.email, displayName: coachOf.displayName, timeZone: coachOf.timeZone },
    })
    .from(appointments)
    .innerJoin(clientOf, eq(clientOf.id, appointments.clientId))
    .innerJoin(coachOf, eq(coachOf.id, appointments.coachId))
    .where(eq(appointments.id, id))
    .get();
  return row && { ...row.appointment, client: row.client, coach: row.coach };
}

/**
 * The appointment as a calendar event: the UID stays the appointment's, so a calendar updates (PUBLISH,
 * with a higher `sequence`) or removes (CANCEL) the event it already has.
 */
export const calendarEventOf = (
  env: Env,
  a: Pick<AppointmentFacts, 'id' | 'scheduledFor' | 'durationMinutes' | 'client' | 'coach'>,
  method: CalendarEvent['method'],
  sequence: number,
  now: Date,
): CalendarEvent => ({
  uid: `${a.id}@hybrid.coach`,
  start: a.scheduledFor,
  durationMinutes: a.durationMinutes,
  summary: `Hybrid Coach session: ${a.client.displayName} with ${a.coach.displayName}`,
  description: `Join from the portal: ${env.CLIENT_APP_URL} (client) or ${env.COACH_APP_URL} (coach).`,
  url: env.CLIENT_APP_URL,
  method,
  sequence,
  stamp: now,
});

/** A SEQUENCE for a change at `now`: seconds since 2023, growing with every later change (booked is 0). */
export const sequenceAt = (now: Date) => Math.floor(now.getTime() / 1000) - 1_700_000_000;

/** The batch statements for `event`, then the guard: the emails stand only if `happened` is true after the change. */
export async function appointmentMailWrites(
  env: Env,
  db: Db,
  a: AppointmentFacts,
  event: AppointmentEvent,
  happened: SQL,
  now = new Date(),
): Promise<BatchItem<'sqlite'>[]> {
  const ref = appointmentRef(a.id);
  const writes: BatchItem<'sqlite'>[] = [];
  const keys: string[] = [];
  const event0 = (method: CalendarEvent['method'], sequence: number, coach: Party) => calendarEventOf(env, { ...a, coach }, method, sequence, now);
  // Each change of an event a calendar has seen must raise its SEQUENCE (booked is 0): seconds since 2023
  // grow with every later change and stay well inside the 32-bit integer calendars expect.
  const sequence = event.kind === 'booked' ? 0 : sequenceAt(now);
  const queue = async (
    to: Party,
    role: 'client' | 'coach',
    kind: AppointmentMailKind,
    opts: { notBefore?: Date; ics?: CalendarEvent; handedAway?: boolean; withName: string },
  ) => {
    // Unique to this change: a booking's id is new; a cancel happens once; a hand-over or a move may
    // happen again (and back to where it was).
    const again = event.kind === 'reassigned' || event.kind === 'rescheduled';
    const key = `appt:${a.id}:${kind}:${to.id}:${a.scheduledFor.getTime()}:${a.coach.id}${again ? `:${now.getTime()}` : ''}`;
    keys.push(key);
    const portal = role === 'client' ? env.CLIENT_APP_URL : env.COACH_APP_URL;
    writes.push(
      ...(await outboxInsert(env, db, {
        to: { email: to.email, userId: to.id },
        template: kind.startsWith('reminder') ? 'appointment-reminder' : (`appointment-${kind}` as 'appointment-booked'),
        kind: kind.startsWith('reminder') ? 'reminder' : 'notification',
        idempotencyKey: key,
        ref,
        ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
        expiresAt: new Date(a.scheduledFor.getTime() + a.durationMinutes * 60_000),
        content: appointmentMail({
          kind,
          name: to.displayName,
          withName: opts.withName,
          role,
          start: a.scheduledFor,
          timeZone: to.timeZone ?? 'UTC',
          ...(event.kind === 'rescheduled' ? { previousStart: event.from } : {}),
          durationMinutes: a.durationMinutes,
          portalUrl: role === 'client' ? `${portal}/dashboard` : `${portal}/calendar`,
          settingsUrl: `${portal}/settings`,
          ...(event.kind === 'reassigned' ? { previousCoachName: event.from.displayName } : {}),
          ...(opts.handedAway ? { handedAway: true } : {}),
          ...(opts.ics ? { attachments: [icsAttachment(opts.ics)] } : {}),
        }),
      })),
    );
  };
  const reminders = async () => {
    for (const r of REMINDERS) {
      const at = new Date(a.scheduledFor.getTime() - r.beforeMs);
      if (at <= now) continue; // booked later than that: the reminder would come after its moment
      const ics = event0('PUBLISH', sequence, a.coach);
      await queue(a.client, 'client', r.kind, { notBefore: at, ics, withName: a.coach.displayName });
      await queue(a.coach, 'coach', r.kind, { notBefore: at, ics, withName: a.client.displayName });
    }
  };

  if (event.kind !== 'booked') {
    // Reminders queued for the appointment as it was stop here (cancelled, or made again for the new coach or time).
    writes.push(
      db
        .update(emailOutbox)
        .set({ state: 'cancelled', bodySealed: '' })
        .where(and(eq(emailOutbox.ref, ref), eq(emailOutbox.template, 'appointment-reminder'), eq(emailOutbox.state, 'queued'), happened)),
    );
  }
  if (event.kind === 'booked') {
    const ics = event0('PUBLISH', 0, a.coach);
    await queue(a.client, 'client', 'booked', { ics, withName: a.coach.displayName });
    await queue(a.coach, 'coach', 'booked', { ics, withName: a.client.displayName });
    await reminders();
  } else if (event.kind === 'cancelled') {
    const ics = event0('CANCEL', sequence, a.coach);
    await queue(a.client, 'client', 'cancelled', { ics, withName: a.coach.displayName });
    await queue(a.coach, 'coach', 'cancelled', { ics, withName: a.client.displayName });
  } else if (event.kind === 'rescheduled') {
    // The same UID with a higher SEQUENCE: the calendar moves the event it has.
    const ics = event0('PUBLISH', sequence, a.coach);
    await queue(a.client, 'client', 'rescheduled', { ics, withName: a.coach.displayName });
    await queue(a.coach, 'coach', 'rescheduled', { ics, withName: a.client.displayName });
    await reminders();
  } else {
    await queue(a.client, 'client', 'reassigned', { ics: event0('PUBLISH', sequence, a.coach), withName: a.coach.displayName });
    await queue(a.coach, 'coach', 'reassigned', { ics: event0('PUBLISH', sequence, a.coach), withName: a.client.displayName });
    await queue(event.from, 'coach', 'reassigned', { ics: event0('CANCEL', sequence, event.from), withName: a.client.displayName, handedAway: true });
    await reminders();
  }
  writes.push(mailUnless(db, keys, happened));
  return writes;
}

/** `happened` conditions: the appointment is now as the change meant it to be. */
export const appointmentIs = (id: string, status: (typeof appointments.status.enumValues)[number], also: { coachId?: string; at?: Date } = {}) =>
  sql`EXISTS (SELECT 1 FROM ${appointments} WHERE ${appointments.id} = ${id} AND ${appointments.status} = ${status}${also.coachId ? sql` AND ${appointments.coachId} = ${also.coachId}` : sql``}${also.at ? sql` AND ${appointments.scheduledFor} = ${also.at.getTime()}` : sql``})`;
