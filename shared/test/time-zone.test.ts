import { describe, expect, it } from 'vitest';
import { addLocalDays, atLocalTime, localDate, localMinutes, localWeekday, localWeekStart, startOfLocalDay, timeZoneNames } from '../src/time-zone';

describe('wall-clock days in a named zone (the coach calendar’s maths)', () => {
  it('keeps 09:00 New York at 09:00 on both sides of the March change, an hour apart in UTC', () => {
    expect(atLocalTime('2027-03-13', 9 * 60, 'America/New_York').toISOString()).toBe('2027-03-13T14:00:00.000Z');
    expect(atLocalTime('2027-03-15', 9 * 60, 'America/New_York').toISOString()).toBe('2027-03-15T13:00:00.000Z');
    // 24:00 is the next local midnight.
    expect(atLocalTime('2027-03-13', 24 * 60, 'America/New_York').toISOString()).toBe('2027-03-14T05:00:00.000Z');
  });

  it('counts calendar days across a change (23 and 25 hours), weeks from Monday, in the zone not the machine’s', () => {
    const zone = 'Europe/London';
    const day = startOfLocalDay(new Date('2027-03-27T12:00:00Z'), zone);
    expect(addLocalDays(day, 1, zone).getTime() - day.getTime()).toBe(24 * 3_600_000);
    expect(addLocalDays(day, 2, zone).getTime() - addLocalDays(day, 1, zone).getTime()).toBe(23 * 3_600_000);
    const autumn = startOfLocalDay(new Date('2027-10-31T12:00:00Z'), zone);
    expect(addLocalDays(autumn, 1, zone).getTime() - autumn.getTime()).toBe(25 * 3_600_000);
    // Late Sunday in New York is already Monday in Tokyo: a different day and week.
    const at = new Date('2027-03-15T02:00:00Z');
    expect([localDate(at, 'America/New_York'), localWeekday(at, 'America/New_York')]).toEqual(['2027-03-14', 0]);
    expect([localDate(at, 'Asia/Tokyo'), localWeekday(at, 'Asia/Tokyo'), localMinutes(at, 'Asia/Tokyo')]).toEqual(['2027-03-15', 1, 11 * 60]);
    expect(localDate(localWeekStart(at, 'Asia/Tokyo'), 'Asia/Tokyo')).toBe('2027-03-15');
    expect(localDate(localWeekStart(at, 'America/New_York'), 'America/New_York')).toBe('2027-03-08');
  });

  it('lists the IANA zones with UTC and any zone asked for', () => {
    const names = timeZoneNames('America/New_York');
    expect(names).toContain('UTC');
    expect(names).toContain('America/New_York');
    expect(names).toEqual([...names].sort());
  });
});
