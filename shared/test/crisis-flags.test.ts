import { describe, expect, it } from 'vitest';
import { ACK_WINDOW_MS, flagFigures, mayChangeFlag, median, nextFlagState } from '../src/crisis-flags';

describe('a crisis flag’s states', () => {
  it('goes open → acknowledged → resolved, and back to open only from resolved', () => {
    expect(nextFlagState('acknowledge', 'OPEN')).toBe('ACKNOWLEDGED');
    expect(nextFlagState('resolve', 'ACKNOWLEDGED')).toBe('RESOLVED');
    expect(nextFlagState('reopen', 'RESOLVED')).toBe('OPEN');
    expect(nextFlagState('acknowledge', 'ACKNOWLEDGED')).toBeNull();
    expect(nextFlagState('resolve', 'OPEN')).toBeNull();
    expect(nextFlagState('reopen', 'OPEN')).toBeNull();
    expect(nextFlagState('reopen', 'ACKNOWLEDGED')).toBeNull();
  });

  it('lets any coach or admin acknowledge or reopen, only the owner or an admin resolve, and no client anything', () => {
    const coach = { id: 'c1', role: 'COACH' };
    expect(mayChangeFlag('acknowledge', coach, null)).toBe(true);
    expect(mayChangeFlag('reopen', coach, 'c2')).toBe(true);
    expect(mayChangeFlag('resolve', coach, 'c1')).toBe(true);
    expect(mayChangeFlag('resolve', coach, 'c2')).toBe(false);
    expect(mayChangeFlag('resolve', { id: 'a', role: 'ADMIN' }, 'c2')).toBe(true);
    expect(mayChangeFlag('acknowledge', { id: 'x', role: 'CLIENT' }, null)).toBe(false);
  });
});

describe('the dashboard figures', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([])).toBeNull();
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
  });

  it('counts the open flags, ages the oldest, and takes the median time to acknowledge over the last 30 days only', () => {
    const now = Date.UTC(2026, 11, 31, 12);
    const min = 60_000;
    const acks = [
      { raisedAt: now - 60 * min, acknowledgedAt: now - 58 * min }, // 2 min
      { raisedAt: now - 30 * min, acknowledgedAt: now - 20 * min }, // 10 min
      { raisedAt: now - 10 * min, acknowledgedAt: now - 5 * min }, // 5 min
      { raisedAt: now - ACK_WINDOW_MS - 90 * min, acknowledgedAt: now - ACK_WINDOW_MS - 1 }, // before the window
    ];
    expect(flagFigures({ count: 2, oldestRaisedAt: now - 45 * min }, acks, now)).toEqual({
      open: 2,
      oldestOpenAgeMs: 45 * min,
      medianAckMs: 5 * min,
      acknowledgedIn30Days: 3,
    });
    expect(flagFigures({ count: 0, oldestRaisedAt: null }, [], now)).toEqual({ open: 0, oldestOpenAgeMs: null, medianAckMs: null, acknowledgedIn30Days: 0 });
  });
});
