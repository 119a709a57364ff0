import { queryOptions, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, call, messageOf } from '../api/client';
import { Alert, Button, ConfirmDialog } from '../ui';
import { loadConsent } from './consent';
import { loadProfile } from './profile';
import { type CallEntry, callPath, liveSessionIn } from './start-call';

/** The client's upcoming appointments (scheduled or under way), soonest first. */
const loadAppointments = () => call(api.api.appointments.$get({ query: {} }));
export type Appointment = Awaited<ReturnType<typeof loadAppointments>>[number];
export const appointmentsQuery = queryOptions({ queryKey: ['appointments'], queryFn: loadAppointments });

/** How long before an appointment its room opens (the Worker's APPOINTMENT_ROOM_OPENS_MS). */
export const ROOM_OPENS_BEFORE_MS = 10 * 60_000;

/** The browser's time zone, e.g. "Europe/Berlin": every time on these pages is shown in it. */
export const viewerTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "Tuesday, June 23" (in the reader's locale and time zone). */
export const formatDay = (iso: string): string => new Date(iso).toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

/** "11:30 PM" or "23:30" (in the reader's locale and time zone). */
export const formatTime = (iso: string): string => new Date(iso).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });

/** "Tuesday, June 23 at 11:30 PM" (in the reader's locale and time zone). */
export const formatDayTime = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { weekday: 'long', day: 'numeric', month: 'long', hour: 'numeric', minute: '2-digit' });

/** Whether the appointment's room can be entered at `now`: from 10 minutes before it until its end. */
export function roomIsOpen(a: Appointment, now: number): boolean {
  const start = Date.parse(a.scheduledFor);
  return (a.status === 'SCHEDULED' || a.status === 'ACTIVE') && now >= start - ROOM_OPENS_BEFORE_MS && now < start + a.durationMinutes * 60_000;
}

/** The current time, again every `everyMs`: for what changes as the clock moves (a room opening). */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Every appointment of the client's, past and cancelled ones too. */
const loadAllAppointments = () => call(api.api.appointments.$get({ query: { include: 'all' } }));

/** Those of all the client's appointments (past and cancelled too) that `pick` keeps now; none while loading or on failure. */
function useAllAppointments(pick: (all: Appointment[], now: number) => Appointment[]): Appointment[] {
  const all = useQuery({ queryKey: ['appointments', 'all'], queryFn: loadAllAppointments }).data;
  const now = useNow();
  return all === undefined ? [] : pick(all, now);
}

/** Missed appointments of the last 30 days (nobody started them), latest first. */
export const missedRecently = (all: Appointment[], now: number): Appointment[] =>
  all.filter((a) => a.status === 'MISSED' && Date.parse(a.scheduledFor) > now - 30 * 86_400_000).sort((a, b) => b.scheduledFor.localeCompare(a.scheduledFor));

/** The client's missed appointments (the last 30 days), each said once, in their zone; nothing while loading. */
export function MissedAppointments() {
  const missed = useAllAppointments(missedRecently);
  if (missed.length === 0) return null;
  return (
    <ul className="hc-list" aria-label="Missed appointments" data-testid="missed-appointments">
      {missed.map((a) => (
        <li key={a.id} data-appointment-id={a.id} data-status={a.status}>
          <span className="hc-badge">missed</span> {a.coach.displayName}, <time dateTime={a.scheduledFor}>{formatDayTime(a.scheduledFor)}</time>. Nobody joined
          it; it did not count as one of your sessions.
        </li>
      ))}
    </ul>
  );
}

/** Saves the appointment's calendar file (GET /api/appointments/:id/ics): the same event the emails carry. */
export async function downloadIcs(a: Pick<Appointment, 'id'>): Promise<void> {
  let res: Response;
  try {
    res = await api.api.appointments[':id'].ics.$get({ param: { id: a.id } });
  } catch {
    throw new ApiError('NETWORK_ERROR', 'We could not reach Hybrid Coach. Check your connection and try again.', 0);
  }
  if (!res.ok) throw new ApiError('NOT_FOUND', 'That calendar file is not available.', res.status);
  const url = URL.createObjectURL(new Blob([await res.text()], { type: 'text/calendar' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = 'hybrid-coach-appointment.ics';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once it started.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Appointments still ahead that someone other than the client cancelled (their coach, an admin), soonest first. */
export const cancelledForClient = (all: Appointment[], now: number): Appointment[] =>
  all
    .filter((a) => a.status === 'CANCELLED' && a.cancelledBy !== null && a.cancelledBy !== a.client.id && Date.parse(a.scheduledFor) > now)
    .sort((a, b) => a.scheduledFor.localeCompare(b.scheduledFor));

/**
 * What the client would otherwise never learn: an appointment ahead that the coach cancelled simply
 * vanished from the upcoming list. Each is said in place, with the way to another time; nothing
 * while loading or on failure (the rest of the page has the client's appointments).
 */
export function CancelledByCoach({ showBookLink = false }: { showBookLink?: boolean }) {
  const cancelled = useAllAppointments(cancelledForClient);
  if (cancelled.length === 0) return null;
  return (
    <div className="hc-stack" data-testid="cancelled-by-coach">
      {cancelled.map((a) => {
        const byCoach = a.cancelledBy === a.coach.id;
        return (
          <Alert key={a.id} tone="warn" title="Appointment cancelled">
            <p data-appointment-id={a.id}>
              {byCoach ? `${a.coach.displayName} cancelled your appointment on ` : `Your appointment with ${a.coach.displayName} on `}
              <time dateTime={a.scheduledFor}>{formatDayTime(a.scheduledFor)}</time>
              {byCoach ? '. ' : ' was cancelled. '}
              {showBookLink ? <Link to="/book">Choose another time</Link> : 'Choose another time below.'}
            </p>
          </Alert>
        );
      })}
    </div>
  );
}

/** The dashboard's note of the next booked appointment, if there is one (nothing while loading or on failure). */
export function NextAppointment() {
  const appointments = useQuery(appointmentsQuery).data;
  const now = useNow();
  if (appointments === undefined) return null;
  const next = appointments.find((a) => Date.parse(a.scheduledFor) + a.durationMinutes * 60_000 > now);
  if (!next) return null;
  return (
    <section className="hc-card hc-row hc-row-between" aria-labelledby="next-appointment-title" data-testid="next-appointment">
      <div>
        <h2 id="next-appointment-title">Your next appointment</h2>
        <p>
          With {next.coach.displayName}, <time dateTime={next.scheduledFor}>{formatDayTime(next.scheduledFor)}</time>
          {roomIsOpen(next, now) && ' · the room is open'}
        </p>
      </div>
      <Link to="/book">{roomIsOpen(next, now) ? 'Join it' : 'See your appointments'}</Link>
    </section>
  );
}

/** The client's live session for an appointment already started (from another tab, or before a reload). */
async function liveSessionOf(a: Pick<Appointment, 'id'>): Promise<string | undefined> {
  const sessions = await call(api.api.sessions.$get({ query: {} }));
  return sessions.find((s) => s.appointmentId === a.id && (s.status === 'WAITING' || s.status === 'ACTIVE'))?.id;
}

const openAppointmentRoom = (id: string) => call(api.api.rooms.appointment[':id'].$post({ param: { id } }));

/**
 * The call of an appointment whose room is open: a scheduled one starts its session (POST
 * /api/rooms/appointment/:id, whose ticket the call page takes as it takes the one of "Start a
 * session"); one already under way (another tab, a moment ago) is rejoined. While another session of
 * the client's is live, it says so, naming that session (`details.sessionId`) so it can be returned to.
 */
export async function appointmentCall(a: Pick<Appointment, 'id' | 'status'>): Promise<CallEntry> {
  if (a.status === 'SCHEDULED') {
    try {
      const ticket = await openAppointmentRoom(a.id);
      return { sessionId: ticket.sessionId, ticket };
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONFLICT')) throw err;
      const live = liveSessionIn(err);
      if (live?.appointmentId === a.id) return { sessionId: live.sessionId };
      if (live) {
        throw new ApiError('CONFLICT', 'Your other session is still under way. Return to it and end it, then join this appointment.', 409, {
          sessionId: live.sessionId,
        });
      }
    }
  }
  const live = await liveSessionOf(a);
  if (!live) throw new ApiError('CONFLICT', 'The call for this appointment has ended.', 409);
  return { sessionId: live };
}

/**
 * One upcoming appointment: when and with whom, "Join" while its room is open (onboarding first for a
 * client who has not done it: the AI coach reads it when it joins), "Move" to another free time (with
 * `onMove`), its calendar file, "Cancel" after a confirmation.
 */
export function AppointmentRow({
  appointment: a,
  now,
  onCancelled,
  onMove,
}: {
  appointment: Appointment;
  now: number;
  onCancelled: (a: Appointment) => void;
  onMove?: (a: Appointment) => void;
}) {
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<'cancel' | 'join' | 'ics' | null>(null);
  const [error, setError] = useState<{ text: string; otherSession?: string } | null>(null);
  const when = formatDayTime(a.scheduledFor);

  async function cancel() {
    setBusy('cancel');
    setError(null);
    try {
      const cancelled = await call(api.api.appointments[':id'].cancel.$post({ param: { id: a.id } }));
      setConfirming(false);
      onCancelled(cancelled);
    } catch (err) {
      setConfirming(false);
      setBusy(null);
      setError({ text: messageOf(err) });
    }
  }

  async function join() {
    setBusy('join');
    setError(null);
    try {
      const [profile, consent] = await Promise.all([loadProfile(), loadConsent()]);
      if (!profile.onboardingCompleted || !consent.agreed) {
        navigate('/onboarding', { state: { after: 'appointment', appointment: { id: a.id, status: a.status } } });
        return;
      }
      navigate(...callPath(await appointmentCall(a)));
    } catch (err) {
      setBusy(null);
      setError({
        text: messageOf(err),
        otherSession: err instanceof ApiError && typeof err.details.sessionId === 'string' ? err.details.sessionId : undefined,
      });
    }
  }

  async function calendarFile() {
    setBusy('ics');
    setError(null);
    try {
      await downloadIcs(a);
    } catch (err) {
      setError({ text: messageOf(err) });
    } finally {
      setBusy(null);
    }
  }

  const open = roomIsOpen(a, now);
  return (
    <li data-testid="appointment" data-appointment-id={a.id} data-status={a.status}>
      <div className="hc-row hc-row-between">
        <div>
          <strong>
            <time dateTime={a.scheduledFor}>{when}</time>
          </strong>
          <div>
            {a.coach.displayName} · {a.durationMinutes} min {a.status === 'ACTIVE' && <span className="hc-badge">under way</span>}
          </div>
        </div>
        <div className="hc-row">
          {open ? (
            <Button onClick={() => void join()} busy={busy === 'join'} aria-label={`Join your appointment with ${a.coach.displayName}`}>
              {busy === 'join' ? 'Joining…' : 'Join'}
            </Button>
          ) : (
            <span className="hc-muted hc-small">The room opens 10 minutes before</span>
          )}
          <Button variant="secondary" onClick={() => void calendarFile()} busy={busy === 'ics'} data-testid="appointment-ics">
            Add to calendar
          </Button>
          {a.status === 'SCHEDULED' && onMove && !open && (
            <Button
              variant="secondary"
              onClick={() => onMove(a)}
              disabled={busy !== null}
              aria-label={`Move your appointment with ${a.coach.displayName}, ${when}, to another time`}
              data-testid="appointment-move"
            >
              Move
            </Button>
          )}
          {a.status === 'SCHEDULED' && (
            <Button
              variant="secondary"
              onClick={() => setConfirming(true)}
              disabled={busy !== null}
              aria-label={`Cancel your appointment with ${a.coach.displayName}, ${when}`}
            >
              Cancel
            </Button>
          )}
        </div>
      </div>
      {error && (
        <Alert>
          {error.text}
          {error.otherSession && (
            <>
              {' '}
              <Link to={`/call/${encodeURIComponent(error.otherSession)}`}>Return to that session</Link>
            </>
          )}
        </Alert>
      )}
      <ConfirmDialog
        open={confirming}
        title="Cancel this appointment?"
        confirmLabel="Yes, cancel it"
        cancelLabel="Keep it"
        busy={busy === 'cancel'}
        onConfirm={() => void cancel()}
        onClose={() => setConfirming(false)}
      >
        <p>
          {a.coach.displayName}, {when}. Your coach will see that you cancelled, and the time becomes free for others.
        </p>
      </ConfirmDialog>
    </li>
  );
}
