/**
 * The usage timer of a coaching session: when it starts, when the warnings and the hard stop fall,
 * and how many minutes a session costs. Pure rules, no I/O; times are epoch milliseconds.
 */

export type ParticipantRole = 'client' | 'coach' | 'ai';

export const WARNINGS = [
  { kind: '5min', minutesLeft: 5 },
  { kind: '1min', minutesLeft: 1 },
] as const;
export type WarningKind = (typeof WARNINGS)[number]['kind'];

/** The timer runs once the client and at least one other (the AI or a coach) are in the room. */
export function timerShouldStart(present: ReadonlySet<ParticipantRole>): boolean {
  return present.has('client') && (present.has('ai') || present.has('coach'));
}

export interface TimerEvent {
  kind: WarningKind | 'cap';
  at: number;
}

/** The warnings not yet sent and the hard stop, in time order; none without a cap. */
export function timerSchedule(startedAt: number, capMinutes: number | null, sent: readonly WarningKind[]): TimerEvent[] {
  if (capMinutes === null) return [];
  const capAt = startedAt + capMinutes * 60_000;
  const warnings = WARNINGS.filter((w) => !sent.includes(w.kind) && w.minutesLeft < capMinutes).map((w) => ({
    kind: w.kind,
    at: capAt - w.minutesLeft * 60_000,
  }));
  return [...warnings, { kind: 'cap' as const, at: capAt }];
}

/** Whole seconds the session ran: from the timer's start to its end, never past the cap. */
export function durationSeconds(startedAt: number | null, endedAt: number, capMinutes: number | null): number {
  if (startedAt === null || endedAt <= startedAt) return 0;
  const ran = Math.floor((endedAt - startedAt) / 1000);
  return capMinutes === null ? ran : Math.min(ran, capMinutes * 60);
}

/** Minutes charged to the month: every started minute counts. */
export function chargedMinutes(seconds: number): number {
  return Math.ceil(seconds / 60);
}
