/**
 * Week maths for the coach's calendar. The grid is in the viewer's own time zone, which is the
 * browser's: Date's local methods (getHours, setDate…) already convert UTC instants to it, daylight
 * saving included, so no date library is needed. Windows are kept in UTC (`HH:MM` on a UTC weekday or
 * date) and become instants here; an instant span is then cut at local midnights, one piece per day.
 */

export const DAY_MINUTES = 24 * 60;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** An availability window as the API answers it (UTC). */
export interface UtcWindow {
  dayOfWeek: number;
  startTime: string;
  endTime: string;
  isRecurring: boolean;
  specificDate: string | null;
}

/** A stretch of time between two instants. */
export interface Span {
  start: Date;
  end: Date;
}

/** Local midnight `n` days after `day`'s (calendar days: 23 or 25 hours across a clock change). */
export const addDays = (day: Date, n: number): Date => new Date(day.getFullYear(), day.getMonth(), day.getDate() + n);

/** Local midnight of the Monday of the week `at` falls in. */
export function weekStartOf(at: Date): Date {
  const midnight = new Date(at.getFullYear(), at.getMonth(), at.getDate());
  return addDays(midnight, -((midnight.getDay() + 6) % 7));
}

export const sameDay = (a: Date, b: Date): boolean => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** "2026-12-07": a local date as a key (and a data attribute for tests). */
export const dayKey = (day: Date): string => `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Each time a window is open that overlaps [from, to): one for a one-off date, one per matching UTC day for a weekly one. */
export function windowSpans(w: UtcWindow, from: Date, to: Date): Span[] {
  const on = (utcMidnight: number): Span => ({
    start: new Date(utcMidnight + minutesOf(w.startTime) * MINUTE_MS),
    // "24:00" ends at the next UTC midnight.
    end: new Date(utcMidnight + minutesOf(w.endTime) * MINUTE_MS),
  });
  const spans: Span[] = [];
  if (!w.isRecurring && w.specificDate) {
    spans.push(on(Date.parse(`${w.specificDate}T00:00:00Z`)));
  } else {
    // UTC days from the one before `from` (a window late on it can reach into local `from`) to `to`.
    for (let day = Math.floor(from.getTime() / DAY_MS) * DAY_MS - DAY_MS; day < to.getTime(); day += DAY_MS) {
      if (new Date(day).getUTCDay() === w.dayOfWeek) spans.push(on(day));
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
export function pieceOnDay(span: Span, day: Date): DayPiece | null {
  const dayEnd = addDays(day, 1);
  const start = new Date(Math.max(span.start.getTime(), day.getTime()));
  const end = new Date(Math.min(span.end.getTime(), dayEnd.getTime()));
  if (start >= end) return null;
  const clock = (t: Date) => t.getHours() * 60 + t.getMinutes();
  const from = clock(start);
  let to = end.getTime() === dayEnd.getTime() ? DAY_MINUTES : clock(end);
  // Across the hour a clock goes back, wall-clock time can run backwards: keep the real length.
  if (to <= from) to = Math.min(DAY_MINUTES, from + (end.getTime() - start.getTime()) / MINUTE_MS);
  return { from, to };
}

/** "09:00": minutes after midnight as a 24-hour clock (for data attributes; "24:00" is the day's end). */
export const clockOf = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The viewer's time zone, named and with its offset at `at`: "Europe/Berlin, GMT+1". */
export function describeZone(at: Date): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const offset = new Intl.DateTimeFormat(undefined, { timeZoneName: 'shortOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
  return offset && offset !== zone ? `${zone}, ${offset}` : zone;
}

/** "14:30" (or "2:30 PM") in the viewer's locale and zone. */
export const formatTime = (at: Date): string => at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/** "14:30–15:00": a span's local times. */
export const formatSpan = (span: Span): string => `${formatTime(span.start)}–${formatTime(span.end)}`;
