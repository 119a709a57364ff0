/**
 * Wall-clock days and times in a named IANA zone, for screens drawn in a zone that need not be the
 * browser's (a coach's calendar is in the coach's zone). Luxon, as in slots.ts: Date's local methods know
 * only the browser's zone. Instants stay `Date`s; a "day" is the instant of its local midnight.
 */
import { DateTime } from 'luxon';

const at = (instant: Date, zone: string) => DateTime.fromJSDate(instant, { zone });

/** The instant of local midnight of the day `instant` falls on in `zone`. */
export const startOfLocalDay = (instant: Date, zone: string): Date => at(instant, zone).startOf('day').toJSDate();

/** Local midnight `n` calendar days after `day`'s (23 or 25 hours across a clock change). */
export const addLocalDays = (day: Date, n: number, zone: string): Date => at(day, zone).startOf('day').plus({ days: n }).toJSDate();

/** Local midnight of the Monday of the week `instant` falls in. */
export const localWeekStart = (instant: Date, zone: string): Date => at(instant, zone).startOf('week').toJSDate();

/** "2027-03-14": the local date of `instant` in `zone`. */
export const localDate = (instant: Date, zone: string): string => at(instant, zone).toISODate() ?? '';

/** 0 = Sunday … 6 = Saturday, as `Date.getDay` and the availability windows count. */
export const localWeekday = (instant: Date, zone: string): number => at(instant, zone).weekday % 7;

/** Minutes after local midnight on the clock in `zone` (0 … 1439). */
export const localMinutes = (instant: Date, zone: string): number => {
  const t = at(instant, zone);
  return t.hour * 60 + t.minute;
};

/**
 * The instant the clocks in `zone` read `minutes` after midnight on `date` ("YYYY-MM-DD"); 1440 is the
 * next midnight. A time the clocks skip comes out an hour later (Luxon's rule), which is where a drawn
 * window starting in the gap begins.
 */
export const atLocalTime = (date: string, minutes: number, zone: string): Date =>
  DateTime.fromISO(date, { zone })
    .startOf('day')
    .plus({ days: Math.floor(minutes / 1440) })
    .set({ hour: Math.floor((minutes % 1440) / 60), minute: minutes % 60 })
    .toJSDate();

/** The IANA zones this runtime knows (for a zone picker), sorted; `extra` names are kept in the list. */
export function timeZoneNames(...extra: string[]): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([...known, 'UTC', ...extra])].sort();
}
