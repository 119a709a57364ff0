/**
 * Week maths for the coach's calendar, in the coach's own IANA zone (the one their availability is
 * kept in), which need not be the browser's: a coach travelling still sees their working week. Days are
 * the instants of local midnights in that zone; windows are wall-clock times in it (`HH:MM` on a weekday
 * or date) and become instants here; an instant span is then cut at local midnights, one piece per day.
 */
import { addLocalDays, atLocalTime, localDate, localMinutes, localWeekday, localWeekStart } from '@hybrid-coach/shared/time-zone';

export const DAY_MINUTES = 24 * 60;
const MINUTE_MS = 60_000;

/** An availability window as the API answers it (wall-clock times in the coach's zone). */
export interface LocalWindow {
  dayOfWeek: number;
  startTime: string;
  endTime: string;
  isRecurring: boolean;
  specificDate: string | null;
  closed?: boolean;
}

/** A stretch of time between two instants. */
export interface Span {
  start: Date;
  end: Date;
}

/** Local midnight `n` days after `day`'s (calendar days: 23 or 25 hours across a clock change). */
export const addDays = (day: Date, n: number, zone: string): Date => addLocalDays(day, n, zone);

/** Local midnight of the Monday of the week `at` falls in. */
export const weekStartOf = (at: Date, zone: string): Date => localWeekStart(at, zone);

export const sameDay = (a: Date, b: Date, zone: string): boolean => localDate(a, zone) === localDate(b, zone);

/** "2026-12-07": a local date as a key (and a data attribute for tests). */
export const dayKey = (day: Date, zone: string): string => localDate(day, zone);

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Each time a window is open that overlaps [from, to): one for a one-off date, one per matching day for a
 * weekly one. `zone` is the one the window's hours are read in (the coach's), not necessarily the one
 * the week is drawn in.
 */
export function windowSpans(w: LocalWindow, from: Date, to: Date, zone: string): Span[] {
  const on = (date: string): Span => ({ start: atLocalTime(date, minutesOf(w.startTime), zone), end: atLocalTime(date, minutesOf(w.endTime), zone) });
  const spans: Span[] = [];
  if (!w.isRecurring && w.specificDate) {
    spans.push(on(w.specificDate));
  } else {
    // From the day before `from`'s in that zone: a window late on it can reach into [from, to).
    for (let day = addLocalDays(from, -1, zone); day < to; day = addLocalDays(day, 1, zone)) {
      if (localWeekday(day, zone) === w.dayOfWeek) spans.push(on(localDate(day, zone)));
    }
  }
  return spans.filter((s) => s.start < to && s.end > from);
}

/** The part of a span on one local day, as wall-clock minutes after that day's midnight (`to` up to 1440). */
export interface DayPiece {
  from: number;
  to: number;
}

/** Where `span` lies on the local day starting at `day` (a local midnight), or null if it does not touch it. */
export function pieceOnDay(span: Span, day: Date, zone: string): DayPiece | null {
  const dayEnd = addDays(day, 1, zone);
  const start = new Date(Math.max(span.start.getTime(), day.getTime()));
  const end = new Date(Math.min(span.end.getTime(), dayEnd.getTime()));
  if (start >= end) return null;
  const from = localMinutes(start, zone);
  let to = end.getTime() === dayEnd.getTime() ? DAY_MINUTES : localMinutes(end, zone);
  // Across the hour a clock goes back, wall-clock time can run backwards: keep the real length.
  if (to <= from) to = Math.min(DAY_MINUTES, from + (end.getTime() - start.getTime()) / MINUTE_MS);
  return { from, to };
}

/** "09:00": minutes after midnight as a 24-hour clock (for data attributes; "24:00" is the day's end). */
export const clockOf = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The zone, named and with its offset at `at`: "Europe/Berlin, GMT+1". */
export function describeZone(at: Date, zone: string): string {
  const offset = new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName')?.value;
  return offset && offset !== zone ? `${zone}, ${offset}` : zone;
}

/** "14:30" (or "2:30 PM") in the viewer's locale, on the clock of `zone`. */
export const formatTime = (at: Date, zone: string): string => at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', timeZone: zone });

/** "14:30–15:00": a span's local times. */
export const formatSpan = (span: Span, zone: string): string => `${formatTime(span.start, zone)}–${formatTime(span.end, zone)}`;

/** "Mon 7 Dec" style day parts of a local midnight, in `zone`. */
export const formatDay = (day: Date, zone: string, options: Intl.DateTimeFormatOptions): string =>
  day.toLocaleDateString(undefined, { ...options, timeZone: zone });

/** The browser's zone: what a coach with no zone yet is offered. */
export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
