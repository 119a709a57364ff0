import { describe, expect, it } from 'vitest';
import { chargedMinutes, durationSeconds, timerSchedule, timerShouldStart } from '../src/session-timer';

const t0 = Date.UTC(2026, 9, 1, 12, 0, 0);
const min = 60_000;

describe('session timer rules', () => {
  it('starts only with the client and the AI or a coach', () => {
    expect(timerShouldStart(new Set(['client']))).toBe(false);
    expect(timerShouldStart(new Set(['ai', 'coach']))).toBe(false);
    expect(timerShouldStart(new Set(['client', 'ai']))).toBe(true);
    expect(timerShouldStart(new Set(['client', 'coach']))).toBe(true);
  });

  it('warns 5 and 1 minutes before a 20-minute cap, then stops', () => {
    expect(timerSchedule(t0, 20, [])).toEqual([
      { kind: '5min', at: t0 + 15 * min },
      { kind: '1min', at: t0 + 19 * min },
      { kind: 'cap', at: t0 + 20 * min },
    ]);
    expect(timerSchedule(t0, 20, ['5min'])).toEqual([
      { kind: '1min', at: t0 + 19 * min },
      { kind: 'cap', at: t0 + 20 * min },
    ]);
  });

  it('skips a warning longer than the cap itself, and has nothing without a cap', () => {
    expect(timerSchedule(t0, 3, []).map((e) => e.kind)).toEqual(['1min', 'cap']);
    expect(timerSchedule(t0, null, [])).toEqual([]);
  });

  it('charges every started minute, never past the cap, nothing if the timer never ran', () => {
    expect(chargedMinutes(durationSeconds(t0, t0 + 61_000, 20))).toBe(2);
    expect(chargedMinutes(durationSeconds(t0, t0 + 45 * min, 20))).toBe(20);
    expect(chargedMinutes(durationSeconds(null, t0 + 45 * min, 20))).toBe(0);
    expect(durationSeconds(t0, t0 + 90 * min, null)).toBe(90 * 60);
  });
});
