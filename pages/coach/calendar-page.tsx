import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { ApiError, api, call } from '../api/client';
import { useAction } from '../shared/action';
import { Pending } from '../shared/query';
import { Alert, Button, TextField } from '../ui';
import { browserTimeZone, describeZone } from './calendar-time';
import { useCoach, useSetCoach } from './coach-only';
import { ReassignDialog } from './reassign-dialog';
import { WeekGrid } from './week-grid';

const loadAvailability = () => call(api.api.availability.$get());
type Window = Awaited<ReturnType<typeof loadAvailability>>[number];
const loadAll = () => call(api.api.appointments.$get({ query: { include: 'all' } }));
type Appointment = Awaited<ReturnType<typeof loadAll>>[number];

const loadCalendar = async () => {
  const [windows, appointments] = await Promise.all([loadAvailability(), loadAll()]);
  return { windows, appointments };
};
type Calendar = Awaited<ReturnType<typeof loadCalendar>>;
const CALENDAR_KEY = ['calendar'];

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** "Tue 3 Dec, 14:30" on the clock of `zone` (the coach's). */
const formatWhen = (iso: string, zone: string): string =>
  new Date(iso).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone });

/**
 * "Every Monday, 09:00–12:00 America/New_York" or "Tuesday 9 December 2026, 14:00–15:00 UTC (closed)":
 * wall-clock times in the coach's zone, named.
 */
function describeWindow(w: Window, zone: string): string {
  const hours = `${w.startTime}–${w.endTime} ${zone}${w.closed ? ' (closed)' : ''}`;
  if (w.isRecurring || !w.specificDate) return `Every ${DAYS[w.dayOfWeek]}, ${hours}`;
  const date = new Date(`${w.specificDate}T00:00:00Z`).toLocaleDateString(undefined, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  return `${date}, ${hours}`;
}

/** The list row of an appointment (the week grid's blocks lead there). */
const rowId = (appointmentId: string) => `appointment-${appointmentId}`;

/**
 * A coach with no zone chosen has their windows read in UTC: asked to confirm the zone, offered the
 * browser's (one click) or any other in Settings. Confirming moves the windows into that zone at the same
 * moments (the Worker rewrites them); from then on they keep their local hours.
 */
/** "09:00": what `hour`:00 UTC today reads on the clock of `zone`. */
const onClockOf = (zone: string, hour: number): string => {
  const at = new Date();
  at.setUTCHours(hour, 0, 0, 0);
  return at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: zone });
};

export function ZonePrompt() {
  const coach = useCoach();
  const setCoach = useSetCoach();
  const browser = browserTimeZone();
  const queries = useQueryClient();
  const confirm = useAction(async () => {
    setCoach(await call(api.api.users.me.$patch({ json: { timeZone: browser } })));
    // The Worker rewrote the windows into the zone: read them again.
    await queries.invalidateQueries({ queryKey: CALENDAR_KEY });
  });
  if (coach.timeZoneConfirmed) return null;
  return (
    <div data-testid="zone-prompt">
      <Alert tone="warn" title="Confirm your time zone">
        <p>
          Your availability is read in UTC because you have not chosen a time zone. This browser is in <strong>{browser}</strong>. Confirming keeps every hour
          you offer at the same moment, written on your clock (14:00 UTC is {onClockOf(browser, 14)} in {browser}); from then on your hours follow your clock,
          also when it changes for daylight saving.
        </p>
        <div className="hc-row">
          <Button onClick={() => confirm.run()} busy={confirm.busy} data-testid="zone-confirm">
            Use {browser}
          </Button>
          <Link to="/settings">Choose another in Settings</Link>
        </div>
        {confirm.error && <p>{confirm.error}</p>}
      </Alert>
    </div>
  );
}

/**
 * The coach's calendar, in their own time zone (named): a week (availability windows and appointments),
 * their upcoming appointments (each scheduled one cancellable or reassignable to another coach), those
 * missed in the last week, and when they can be booked (weekly windows and one-off dates, wall-clock
 * times in their zone). Until a coach confirms a zone, their windows are read in UTC (named so in the list and the form) and the week and
 * the times are drawn in the browser's zone, where they are; the prompt above asks them to confirm.
 */
export function CalendarPage() {
  const coach = useCoach();
  /** Where the windows' hours are read (the API's rule). */
  const windowZone = coach.timeZone;
  /** Where the week and the appointments' times are drawn. */
  const zone = coach.timeZoneConfirmed ? coach.timeZone : browserTimeZone();
  const load = useQuery({ queryKey: CALENDAR_KEY, queryFn: loadCalendar });
  const queries = useQueryClient();
  const set = (next: Calendar) => queries.setQueryData(CALENDAR_KEY, next);
  /** What the last reassignment did, said where the appointment was. */
  const [moved, setMoved] = useState<string | null>(null);
  const movedRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // The row (and the button that had focus) is gone: the news takes focus instead.
    if (moved) movedRef.current?.focus();
  }, [moved]);
  if (load.data === undefined) return <Pending query={load} label="Loading your calendar…" what="your calendar" />;
  const { windows, appointments } = load.data;
  const now = Date.now();
  const upcoming = appointments
    .filter((a) => Date.parse(a.scheduledFor) + a.durationMinutes * 60_000 > now)
    .sort((a, b) => a.scheduledFor.localeCompare(b.scheduledFor));
  /** Missed in the last week (nobody started them): listed as missed, so the coach sees who did not come. */
  const missed = appointments
    .filter((a) => a.status === 'MISSED' && Date.parse(a.scheduledFor) > now - 7 * 86_400_000)
    .sort((a, b) => b.scheduledFor.localeCompare(a.scheduledFor));

  function openAppointment(id: string) {
    const row = document.getElementById(rowId(id));
    row?.focus({ preventScroll: true });
    row?.scrollIntoView({ block: 'center', behavior: window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  }

  return (
    <div className="hc-stack">
      <h1>Calendar</h1>
      <ZonePrompt />
      <WeekGrid
        key={zone}
        zone={zone}
        windowZone={windowZone}
        windows={windows}
        appointments={appointments}
        listed={new Set([...upcoming, ...missed].map((a) => a.id))}
        onOpenAppointment={openAppointment}
      />
      <div className="hc-review">
        <section className="hc-card hc-stack" aria-labelledby="appointments-title" data-testid="calendar-appointments">
          <h2 id="appointments-title">Appointments</h2>
          <p className="hc-muted hc-small">Times in your time zone ({describeZone(new Date(), zone)}).</p>
          <div ref={movedRef} tabIndex={-1} role="status" data-testid="reassign-done">
            {moved && <p className="hc-alert hc-alert-info">{moved}</p>}
          </div>
          {upcoming.length === 0 ? (
            <p className="hc-muted">Nothing booked yet.</p>
          ) : (
            <ul className="hc-list" aria-label="Appointments">
              {upcoming.map((a) => (
                <AppointmentRow
                  key={a.id}
                  zone={zone}
                  appointment={a}
                  onChange={(next) => set({ windows, appointments: appointments.map((x) => (x.id === next.id ? next : x)) })}
                  onReassigned={(next) => {
                    set({ windows, appointments: appointments.filter((x) => x.id !== next.id) });
                    setMoved(`${next.client.displayName}’s appointment on ${formatWhen(next.scheduledFor, zone)} is now with ${next.coach.displayName}.`);
                  }}
                />
              ))}
            </ul>
          )}
          {missed.length > 0 && (
            <>
              <h3>Missed in the last week</h3>
              <ul className="hc-list" aria-label="Missed appointments" data-testid="calendar-missed">
                {missed.map((a) => (
                  <AppointmentRow key={a.id} zone={zone} appointment={a} onChange={() => undefined} onReassigned={() => undefined} />
                ))}
              </ul>
            </>
          )}
        </section>
        <section className="hc-card hc-stack" aria-labelledby="availability-title" data-testid="calendar-availability">
          <h2 id="availability-title">When clients can book you</h2>
          <p className="hc-muted hc-small" data-testid="availability-zone">
            Hours on your clock in <strong>{windowZone}</strong>; they stay put when the clocks change.
          </p>
          {windows.length === 0 ? (
            <p className="hc-muted">No windows yet: PREMIUM clients cannot book you until you add one.</p>
          ) : (
            <ul className="hc-list" aria-label="Availability">
              {windows.map((w) => (
                <WindowRow key={w.id} window={w} zone={windowZone} onRemoved={() => set({ windows: windows.filter((x) => x.id !== w.id), appointments })} />
              ))}
            </ul>
          )}
          <AddWindow zone={windowZone} onAdded={(w) => set({ windows: [...windows, w], appointments })} />
        </section>
      </div>
    </div>
  );
}

function AppointmentRow({
  appointment: a,
  zone,
  onChange,
  onReassigned,
}: {
  appointment: Appointment;
  zone: string;
  onChange: (a: Appointment) => void;
  onReassigned: (a: Appointment) => void;
}) {
  const [reassigning, setReassigning] = useState(false);
  const cancel = useAction(async () => onChange(await call(api.api.appointments[':id'].cancel.$post({ param: { id: a.id } }))));
  return (
    <li id={rowId(a.id)} tabIndex={-1} className="hc-appointment-row" data-testid="calendar-appointment" data-appointment-id={a.id} data-status={a.status}>
      <div className="hc-row hc-row-between">
        <strong>{formatWhen(a.scheduledFor, zone)}</strong>
        <span className="hc-badge">{a.status.toLowerCase()}</span>
      </div>
      <div className="hc-row hc-row-between">
        <span>
          {a.client.displayName} · {a.durationMinutes} min
        </span>
        {a.status === 'SCHEDULED' && (
          <span className="hc-row">
            <Button variant="secondary" onClick={() => setReassigning(true)} disabled={cancel.busy}>
              Reassign
            </Button>
            <Button variant="secondary" onClick={() => cancel.run()} busy={cancel.busy}>
              Cancel appointment
            </Button>
          </span>
        )}
        {a.status === 'CANCELLED' && a.cancelledAt && <span className="hc-muted hc-small">Cancelled {formatWhen(a.cancelledAt, zone)}</span>}
      </div>
      {cancel.error && <Alert>{cancel.error}</Alert>}
      {a.status === 'SCHEDULED' && <ReassignDialog appointment={a} open={reassigning} onClose={() => setReassigning(false)} onReassigned={onReassigned} />}
    </li>
  );
}

function WindowRow({ window: w, zone, onRemoved }: { window: Window; zone: string; onRemoved: () => void }) {
  const remove = useAction(async () => {
    await call(api.api.availability[':id'].$delete({ param: { id: w.id } }));
    onRemoved();
  });
  return (
    <li data-testid="availability-window" data-window-id={w.id}>
      <div className="hc-row hc-row-between">
        <span>{describeWindow(w, zone)}</span>
        <Button variant="secondary" onClick={() => remove.run()} busy={remove.busy} aria-label={`Remove ${describeWindow(w, zone)}`}>
          Remove
        </Button>
      </div>
      {remove.error && <Alert>{remove.error}</Alert>}
    </li>
  );
}

function AddWindow({ zone, onAdded }: { zone: string; onAdded: (w: Window) => void }) {
  const [kind, setKind] = useState<'weekly' | 'once'>('weekly');
  const [day, setDay] = useState(1);
  const [date, setDate] = useState('');
  const [start, setStart] = useState('09:00');
  const [end, setEnd] = useState('12:00');
  const save = useAction(async (json: { dayOfWeek: number } | { specificDate: string }) =>
    onAdded(await call(api.api.availability.$post({ json: { ...json, startTime: start, endTime: end } }))),
  );

  function add(e: FormEvent) {
    e.preventDefault();
    if (kind === 'once' && !date) save.refuse('Choose the date.');
    else save.run(kind === 'weekly' ? { dayOfWeek: day } : { specificDate: date });
  }

  const fields = save.failure instanceof ApiError ? save.failure.fields : {};
  return (
    <form className="hc-stack" onSubmit={add} aria-label="Add a window" data-testid="add-window">
      <h3>Add a window ({zone})</h3>
      <div className="hc-field">
        <label htmlFor="window-kind">Repeats</label>
        <select id="window-kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as 'weekly' | 'once')}>
          <option value="weekly">Every week</option>
          <option value="once">Once, on a date</option>
        </select>
      </div>
      {kind === 'weekly' ? (
        <div className="hc-field">
          <label htmlFor="window-day">Day</label>
          <select id="window-day" name="dayOfWeek" value={day} onChange={(e) => setDay(Number(e.target.value))}>
            {DAYS.map((d, i) => (
              <option key={d} value={i}>
                {d}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <TextField label="Date" name="specificDate" type="date" value={date} onChange={(e) => setDate(e.target.value)} error={fields.specificDate} />
      )}
      <div className="hc-row">
        <TextField label="From" name="startTime" type="time" value={start} onChange={(e) => setStart(e.target.value)} error={fields.startTime} />
        <TextField label="To" name="endTime" type="time" value={end} onChange={(e) => setEnd(e.target.value)} error={fields.endTime} />
      </div>
      {save.error && <Alert>{save.error}</Alert>}
      <div>
        <Button type="submit" busy={save.busy}>
          Add window
        </Button>
      </div>
    </form>
  );
}
