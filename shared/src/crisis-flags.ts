/**
 * The rules of a crisis flag (issue 16), with no I/O: its states, which change is allowed from which
 * state and by whom, and the dashboard's figures. The Worker enforces them; the coach portal reads them to
 * offer only the buttons that will work.
 *
 * open → acknowledged (one coach, who now owns the follow-up) → resolved (with a note of what was done);
 * a resolved flag may be reopened (open again, owned by no one).
 */
export const FLAG_STATES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type FlagState = (typeof FLAG_STATES)[number];

/** `raise` is the system's (the transcript webhook); the other three are staff's. */
export const FLAG_ACTIONS = ['raise', 'acknowledge', 'resolve', 'reopen'] as const;
export type FlagAction = (typeof FLAG_ACTIONS)[number];
export type StaffFlagAction = Exclude<FlagAction, 'raise'>;

/** The longest note a resolution or a reopening may carry. */
export const FLAG_NOTE_MAX = 1000;

const FROM: Record<StaffFlagAction, FlagState> = { acknowledge: 'OPEN', resolve: 'ACKNOWLEDGED', reopen: 'RESOLVED' };
const TO: Record<StaffFlagAction, FlagState> = { acknowledge: 'ACKNOWLEDGED', resolve: 'RESOLVED', reopen: 'OPEN' };

/** The state `action` leads to from `state`, or null when the flag's state refuses it (a 409). */
export function nextFlagState(action: StaffFlagAction, state: FlagState): FlagState | null {
  return FROM[action] === state ? TO[action] : null;
}

/** The state a flag must be in for `action`. */
export const flagStateFor = (action: StaffFlagAction): FlagState => FROM[action];

/**
 * Whether this member of staff may take `action` on a flag owned by `ownerId`: any coach or admin
 * acknowledges (and so owns it) or reopens; only its owner, or an admin, resolves it.
 */
export function mayChangeFlag(action: StaffFlagAction, actor: { id: string; role: string }, ownerId: string | null): boolean {
  if (actor.role !== 'COACH' && actor.role !== 'ADMIN') return false;
  return action !== 'resolve' || actor.role === 'ADMIN' || actor.id === ownerId;
}

/** The median of some durations (ms), or null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The window of the "median time to acknowledge" figure. */
export const ACK_WINDOW_MS = 30 * 86_400_000;

/**
 * The dashboard's figures: how many flags are open and how long the oldest has waited, and the median time
 * from raise to first acknowledgement of the flags acknowledged within ACK_WINDOW_MS of `now`.
 */
export function flagFigures(
  open: { count: number; oldestRaisedAt: number | null },
  acknowledged: readonly { raisedAt: number; acknowledgedAt: number }[],
  now: number,
) {
  const recent = acknowledged.filter((a) => a.acknowledgedAt >= now - ACK_WINDOW_MS && a.acknowledgedAt <= now);
  return {
    open: open.count,
    oldestOpenAgeMs: open.oldestRaisedAt === null ? null : Math.max(0, now - open.oldestRaisedAt),
    medianAckMs: median(recent.map((a) => Math.max(0, a.acknowledgedAt - a.raisedAt))),
    acknowledgedIn30Days: recent.length,
  };
}
