/**
 * Bookable slots of a coach: fixed 30-minute slots on the half hour, inside the coach's availability
 * windows (recurring on a weekday, or on one date), less one-off exceptions closing hours on a date. Windows are wall-clock times in the coach's IANA
 * time zone; slots are UTC instants (portals show them in the viewer's zone). Expanded with Luxon, a
 * small maintained library over Intl's zone data (the Temporal polyfill is larger and pre-1.0).
 *
 * Daylight-saving changes: a window keeps its local hours on both sides (9:00–12:00 stays 9:00–12:00
 * local). A local time the clocks skip does not exist and is not offered; a local time the clocks repeat
 * is offered once, at its first occurrence (the earlier instant).
 */
import { IANAZone } from 'luxon';

export const SLOT_MINUTES = 30;
const DAY_MS = 86_400_000;

/** An appointment nobody started is MISSED this long after its end. */
export const MISSED_GRACE_MINUTES = 15;

/** How far ahead clients see slots and may book them. */
export const BOOKING_HORIZON_DAYS = 60;
/** Scheduled appointments a client may have ahead at once. */
export const MAX_UPCOMING_APPOINTMENTS = 10;
/** Availability windows a coach may keep (weekly and one-off together). */
export const MAX_AVAILABILITY_WINDOWS = 50;

/** The last instant bookable from `now`: slots start before it. */
export const bookingHorizon = (now: Date): Date => new Date(now.getTime() + BOOKING_HORIZON_DAYS * DAY_MS);

export interface AvailabilityWindow {
  /** 0 = Sunday; for a one-off window, its date's weekday */
  dayOfWeek: number;
  /** "HH:MM" local wall-clock time in the coach's zone ("24:00" = the end of the day) */
  startTime: string;
  endTime: string;
  isRecurring: boolean;
  /** "YYYY-MM-DD" (local date) for a one-off window */
  specificDate: string | null;
  /** A one-off exception closing these hours on its date (a day off): no slot there overlaps it. */
  closed?: boolean;
}

/** Zone of a coach who has not chosen one (their windows read as UTC, as before zones existed). */
export const DEFAULT_TIME_ZONE = 'UTC';

/**
 * The canonical IANA name of a time zone (`america/new_york` → `America/New_York`), or null for a name
 * that is not one (offsets such as `+05:00` are not zones: they do not follow daylight-saving changes).
 */
export function canonicalTimeZone(name: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name) || !IANAZone.isValidZone(name)) return null;
  return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether two windows of one kind (open, or closed exceptions) meet: same weekday or date, hours meeting. */
export function overlaps(a: AvailabilityWindow, b: AvailabilityWindow): boolean {
  // Closing hours is what an exception is for: it only clashes with another exception.
  if (Boolean(a.closed) !== Boolean(b.closed)) return false;
  const sameDay = a.dayOfWeek === b.dayOfWeek && (a.isRecurring || b.isRecurring || a.specificDate === b.specificDate);
  return sameDay && a.startTime < b.endTime && b.startTime < a.endTime;
}

/** "HH:MM" of minutes after midnight (1440 is "24:00", the end of the day). */
const hhmmOf = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/**
 * Windows typed in UTC (a coach who had not chosen a zone), rewritten as wall-clock windows in `zone` that
 * offer the same instants at the moment of confirming (`now`): a weekly window moves by the zone's offset
 * at `now`, a one-off by the offset at its own start. A window that then crosses local midnight is split
 * there into two, one on each local day (03:00–07:00 UTC on a Tuesday is, in New York in winter,
 * 22:00–24:00 Monday and 00:00–02:00 Tuesday). From then on the windows keep their local hours, so across a daylight-saving change their instants
 * move by the hour, as the coach's day does. Zones whose offset is not a whole half hour (Nepal, Chatham)
 * cannot keep every instant: slots begin on the local half hour.
 */
export function utcWindowsInZone<W extends AvailabilityWindow>(windows: readonly W[], zone: string, now: Date): (W & AvailabilityWindow)[] {
  const tz = IANAZone.create(zone);
  return windows.flatMap((w) => {
    const at = w.isRecurring ? now.getTime() : Date.parse(`${w.specificDate}T${w.startTime}:00Z`);
    const offset = tz.offset(at);
    const start = minutesOf(w.startTime) + offset;
    const end = minutesOf(w.endTime) + offset;
    const parts: (W & AvailabilityWindow)[] = [];
    // k: the local day the part falls on, relative to the window's UTC day (-1, 0 or 1: offsets are within ±14 hours).
    for (let k = Math.floor(start / 1440); k * 1440 < end; k++) {
      const from = Math.max(start, k * 1440) - k * 1440;
      const to = Math.min(end, (k + 1) * 1440) - k * 1440;
      if (from >= to) continue;
      const date = w.specificDate === null ? null : new Date(Date.parse(`${w.specificDate}T00:00:00Z`) + k * DAY_MS);
      parts.push({
        ...w,
        dayOfWeek: date ? date.getUTCDay() : (((w.dayOfWeek + k) % 7) + 7) % 7,
        specificDate: date ? date.toISOString().slice(0, 10) : null,
        startTime: hhmmOf(from),
        endTime: hhmmOf(to),
      });
    }
    return parts;
  });
}

const HOUR_MS = 3_600_000;

/**
 * The first instant at which the zone's clocks read `wallMs` (a local time written as if it were UTC),
 * or null when the clocks skip it.
 */
function firstInstant(zone: IANAZone, wallMs: number): number | null {
  const near = wallMs - zone.offset(wallMs) * 60_000;
  // The offsets in force within hours of that time: one, or the two either side of a change.
  const offsets = new Set([-3, 0, 3].map((h) => zone.offset(near + h * HOUR_MS)));
  let first: number | null = null;
  for (const offset of offsets) {
    const t = wallMs - offset * 60_000;
    if (zone.offset(t) === offset && (first === null || t < first)) first = t;
  }
  return first;
}

/** The local date (as midnight UTC of that calendar date) on which `at` falls in the zone. */
const localDay = (zone: IANAZone, at: Date) => Math.floor((at.getTime() + zone.offset(at.getTime()) * 60_000) / DAY_MS) * DAY_MS;

/**
 * Every slot start in [from, to) inside a window, later than `now`, not in `booked` (start instants);
 * sorted, without repeats. `zone` is the coach's IANA zone, in which the windows' times are read.
 */
export function freeSlots(windows: readonly AvailabilityWindow[], booked: readonly Date[], from: Date, to: Date, now: Date, zone: string): Date[] {
  const tz = IANAZone.create(zone);
  const taken = new Set(booked.map((d) => d.getTime()));
  const starts = new Set<number>();
  for (let day = localDay(tz, from); day <= localDay(tz, to); day += DAY_MS) {
    const date = new Date(day);
    const today = windows.filter((w) => (w.isRecurring ? w.dayOfWeek === date.getUTCDay() : w.specificDate === date.toISOString().slice(0, 10)));
    const closed = today.filter((w) => w.closed);
    const shut = (m: number) => closed.some((x) => minutesOf(x.startTime) < m + SLOT_MINUTES && m < minutesOf(x.endTime));
    for (const w of today) {
      if (w.closed) continue;
      // Slots begin on the half hour at or after the window's start and end by its end (wall clock).
      for (let m = Math.ceil(minutesOf(w.startTime) / SLOT_MINUTES) * SLOT_MINUTES; m + SLOT_MINUTES <= minutesOf(w.endTime); m += SLOT_MINUTES) {
        if (shut(m)) continue;
        const t = firstInstant(tz, day + m * 60_000);
        if (t !== null && t >= from.getTime() && t < to.getTime() && t > now.getTime() && !taken.has(t)) starts.add(t);
      }
    }
  }
  return [...starts].sort((a, b) => a - b).map((t) => new Date(t));
}

/** Whether `start` is a slot of these windows (booked or not) that has not begun yet. */
export function isSlot(windows: readonly AvailabilityWindow[], start: Date, now: Date, zone: string): boolean {
  return freeSlots(windows, [], start, new Date(start.getTime() + 1), now, zone).length > 0;
}
