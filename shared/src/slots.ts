/**
 * Bookable slots of a coach: fixed 30-minute slots on the half hour, inside the coach's availability
 * windows (recurring on a weekday, or on one date), in UTC. Portals show them in the viewer's zone.
 */
export const SLOT_MINUTES = 30;
const SLOT_MS = SLOT_MINUTES * 60_000;
const DAY_MS = 86_400_000;

/** How far ahead clients see slots and may book them. */
export const BOOKING_HORIZON_DAYS = 60;
/** Scheduled appointments a client may have ahead at once. */
export const MAX_UPCOMING_APPOINTMENTS = 10;
/** Availability windows a coach may keep (weekly and one-off together). */
export const MAX_AVAILABILITY_WINDOWS = 50;

/** The last instant bookable from `now`: slots start before it. */
export const bookingHorizon = (now: Date): Date => new Date(now.getTime() + BOOKING_HORIZON_DAYS * DAY_MS);

export interface AvailabilityWindow {
  dayOfWeek: number;
  /** "HH:MM", UTC */
  startTime: string;
  endTime: string;
  isRecurring: boolean;
  /** "YYYY-MM-DD" for a one-off window */
  specificDate: string | null;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const dateOf = (d: Date) => d.toISOString().slice(0, 10);

/** Whether a window is open on the UTC day starting at `day`. */
const opensOn = (w: AvailabilityWindow, day: Date) => (w.isRecurring ? w.dayOfWeek === day.getUTCDay() : w.specificDate === dateOf(day));

/**
 * Every slot start in [from, to) inside a window, later than `now`, not in `booked` (start instants);
 * sorted, without repeats (overlapping windows give a slot once).
 */
export function freeSlots(windows: readonly AvailabilityWindow[], booked: readonly Date[], from: Date, to: Date, now: Date): Date[] {
  const taken = new Set(booked.map((d) => d.getTime()));
  const starts = new Set<number>();
  for (let day = Math.floor(from.getTime() / DAY_MS) * DAY_MS; day < to.getTime(); day += DAY_MS) {
    for (const w of windows) {
      if (!opensOn(w, new Date(day))) continue;
      // Slots begin on the half hour at or after the window's start and end by its end.
      const first = day + Math.ceil((minutesOf(w.startTime) * 60_000) / SLOT_MS) * SLOT_MS;
      const end = day + minutesOf(w.endTime) * 60_000;
      for (let at = first; at + SLOT_MS <= end; at += SLOT_MS) {
        if (at >= from.getTime() && at < to.getTime() && at > now.getTime() && !taken.has(at)) starts.add(at);
      }
    }
  }
  return [...starts].sort((a, b) => a - b).map((t) => new Date(t));
}

/** Whether `start` is a slot of these windows (booked or not) that has not begun yet. */
export function isSlot(windows: readonly AvailabilityWindow[], start: Date, now: Date): boolean {
  const day = new Date(Math.floor(start.getTime() / DAY_MS) * DAY_MS);
  return freeSlots(windows, [], day, new Date(day.getTime() + DAY_MS), now).some((s) => s.getTime() === start.getTime());
}
