import { type CSSProperties, useId, useMemo, useState } from 'react';
import { Button } from '../ui';
import {
  addDays,
  clockOf,
  DAY_MINUTES,
  dayKey,
  describeZone,
  formatDay,
  formatSpan,
  type LocalWindow,
  pieceOnDay,
  type Span,
  sameDay,
  weekStartOf,
  windowSpans,
} from './calendar-time';
import './calendar.css';

/** What the grid needs of an appointment (the API's shape). */
export interface GridAppointment {
  id: string;
  scheduledFor: string;
  durationMinutes: number;
  status: string;
  client: { displayName: string };
}

/** The hours shown at least (08:00–18:00); the grid grows to fit anything earlier or later that week. */
const FIRST_HOUR = 8;
const LAST_HOUR = 18;

interface Item {
  kind: 'window' | 'appointment';
  id: string;
  from: number;
  to: number;
  span: Span;
  appointment?: GridAppointment;
}

/**
 * One week of the coach's calendar in the coach's time zone (`zone`, named above the grid): a column per day (Monday first), hours
 * down the side, availability windows as shaded bands and appointments as blocks. Each day is a
 * heading with a list, so a screen reader hears "Tuesday 8 December: available 09:00–12:00;
 * 10:00–10:30 Riley, scheduled"; on a phone the days become a plain list. An appointment with a row
 * in the list below (`listed`) is a button that takes focus there.
 */
export function WeekGrid({
  windows,
  appointments,
  listed,
  onOpenAppointment,
  zone,
  windowZone = zone,
  now = new Date(),
}: {
  windows: readonly (LocalWindow & { id: string })[];
  appointments: readonly GridAppointment[];
  listed: ReadonlySet<string>;
  onOpenAppointment: (id: string) => void;
  /** The IANA zone the week is drawn in (the coach's, or the browser's until they choose one). */
  zone: string;
  /** The zone the windows' hours are read in (the coach's; UTC until they choose one). */
  windowZone?: string;
  now?: Date;
}) {
  const titleId = useId();
  const thisWeek = weekStartOf(now, zone);
  const [weekStart, setWeekStart] = useState(thisWeek);
  const days = useMemo(() => Array.from({ length: 7 }, (_, i) => addDays(weekStart, i, zone)), [weekStart, zone]);
  const weekEnd = useMemo(() => addDays(weekStart, 7, zone), [weekStart, zone]);

  const byDay = useMemo(() => {
    const spans: Omit<Item, 'from' | 'to'>[] = [
      // A closed exception (a day off) is not a time clients can book: it is drawn as the gap it makes.
      ...windows
        .filter((w) => !w.closed)
        .flatMap((w) => windowSpans(w, weekStart, weekEnd, windowZone).map((span) => ({ kind: 'window' as const, id: w.id, span }))),
      ...appointments.map((a) => {
        const start = new Date(a.scheduledFor);
        return { kind: 'appointment' as const, id: a.id, span: { start, end: new Date(start.getTime() + a.durationMinutes * 60_000) }, appointment: a };
      }),
    ];
    return days.map((day) =>
      spans
        .flatMap((s) => {
          const piece = pieceOnDay(s.span, day, zone);
          return piece ? [{ ...s, ...piece }] : [];
        })
        .sort((a, b) => a.from - b.from || (a.kind === b.kind ? 0 : a.kind === 'window' ? -1 : 1)),
    );
  }, [windows, appointments, days, weekStart, weekEnd, zone, windowZone]);

  const all = byDay.flat();
  const firstHour = Math.min(FIRST_HOUR, ...all.map((i) => Math.floor(i.from / 60)));
  const lastHour = Math.max(LAST_HOUR, ...all.map((i) => Math.ceil(i.to / 60)));
  const hours = Array.from({ length: lastHour - firstHour }, (_, i) => firstHour + i);
  const isThisWeek = sameDay(weekStart, thisWeek, zone);
  const range = `${formatDay(days[0]!, zone, { day: 'numeric', month: 'short' })} – ${formatDay(days[6]!, zone, { day: 'numeric', month: 'short', year: 'numeric' })}`;

  return (
    <section className="hc-card hc-stack" aria-labelledby={titleId} data-testid="week-grid" data-week-start={dayKey(weekStart, zone)} data-zone={zone}>
      <div className="hc-row hc-row-between">
        <h2 id={titleId} aria-live="polite">
          Week of {range}
        </h2>
        <div className="hc-row" role="group" aria-label="Choose the week">
          <Button variant="secondary" onClick={() => setWeekStart(addDays(weekStart, -7, zone))} data-testid="week-previous">
            <span aria-hidden="true">←</span> Previous week
          </Button>
          <Button variant="secondary" onClick={() => setWeekStart(thisWeek)} disabled={isThisWeek} data-testid="week-this">
            This week
          </Button>
          <Button variant="secondary" onClick={() => setWeekStart(addDays(weekStart, 7, zone))} data-testid="week-next">
            Next week <span aria-hidden="true">→</span>
          </Button>
        </div>
      </div>
      <p className="hc-muted hc-small" data-testid="week-zone">
        Times in your time zone ({describeZone(days[3]!, zone)}). <span className="hc-week-key hc-week-key-window" aria-hidden="true" /> When clients can book
        you <span className="hc-week-key hc-week-key-appointment" aria-hidden="true" /> Appointments
      </p>
      <div className="hc-week" data-compact={hours.length > 14 || undefined} style={{ '--hc-week-hours': hours.length } as CSSProperties}>
        <div className="hc-week-gutter" aria-hidden="true">
          <div className="hc-week-head" />
          <div className="hc-week-body">
            {hours.map((h) => (
              <span key={h} className="hc-week-hour" style={{ '--at': h - firstHour } as CSSProperties}>
                {new Date(2000, 0, 1, h).toLocaleTimeString(undefined, { hour: 'numeric' })}
              </span>
            ))}
          </div>
        </div>
        {days.map((day, i) => (
          <Day
            key={dayKey(day, zone)}
            day={day}
            zone={zone}
            today={sameDay(day, now, zone)}
            items={byDay[i]!}
            firstHour={firstHour}
            listed={listed}
            onOpenAppointment={onOpenAppointment}
          />
        ))}
      </div>
    </section>
  );
}

function Day({
  day,
  zone,
  today,
  items,
  firstHour,
  listed,
  onOpenAppointment,
}: {
  day: Date;
  zone: string;
  today: boolean;
  items: Item[];
  firstHour: number;
  listed: ReadonlySet<string>;
  onOpenAppointment: (id: string) => void;
}) {
  const headingId = useId();
  const place = (i: Item) => ({ '--from': (i.from - firstHour * 60) / 60, '--length': (i.to - i.from) / 60 }) as CSSProperties;
  return (
    <section className="hc-week-day" aria-labelledby={headingId} data-testid="week-day" data-date={dayKey(day, zone)} data-today={today || undefined}>
      <h3 id={headingId} className="hc-week-head" aria-current={today ? 'date' : undefined}>
        <span className="hc-week-weekday">{formatDay(day, zone, { weekday: 'short' })}</span>{' '}
        <span className="hc-week-date">{formatDay(day, zone, { day: 'numeric', month: 'short' })}</span>
        {today && <span className="hc-badge hc-week-today">Today</span>}
      </h3>
      <ul className="hc-week-body" aria-labelledby={headingId}>
        {items.length === 0 && <li className="hc-week-nothing">Nothing planned</li>}
        {items.map((i) => {
          const attrs = { 'data-from': clockOf(i.from), 'data-to': clockOf(Math.min(i.to, DAY_MINUTES)), style: place(i) };
          if (i.kind === 'window') {
            return (
              <li key={`w-${i.id}-${i.span.start.getTime()}`} className="hc-week-window" data-testid="week-window" data-window-id={i.id} {...attrs}>
                Available {formatSpan(i.span, zone)}
              </li>
            );
          }
          const a = i.appointment!;
          // The name first: a 30-minute block has room for one line.
          const said = `${a.client.displayName}, ${formatSpan(i.span, zone)}, ${a.status.toLowerCase()}`;
          const text = (
            <>
              <span className="hc-week-client">{a.client.displayName}</span> <span className="hc-week-time">{formatSpan(i.span, zone)}</span>
              <span className="hc-visually-hidden">,</span> <span className="hc-week-status">{a.status.toLowerCase()}</span>
            </>
          );
          return (
            <li key={`a-${a.id}`} className="hc-week-appointment" data-testid="week-appointment" data-appointment-id={a.id} data-status={a.status} {...attrs}>
              {listed.has(a.id) ? (
                <button type="button" onClick={() => onOpenAppointment(a.id)} title={said} aria-label={`${said}: show in the list`}>
                  {text}
                </button>
              ) : (
                <span title={said}>{text}</span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
