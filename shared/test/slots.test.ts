import { describe, expect, it } from 'vitest';
import { type AvailabilityWindow, canonicalTimeZone, freeSlots, isSlot, overlaps, utcWindowsInZone } from '../src/slots';

const weekly = (dayOfWeek: number, startTime: string, endTime: string): AvailabilityWindow => ({
  dayOfWeek,
  startTime,
  endTime,
  isRecurring: true,
  specificDate: null,
});
const iso = (ds: Date[]) => ds.map((d) => d.toISOString().slice(0, 16));

describe('freeSlots', () => {
  // 2026-12-07 is a Monday (UTC day 1).
  const monday = new Date('2026-12-07T00:00:00Z');
  const week = new Date('2026-12-14T00:00:00Z');
  const before = new Date('2026-12-01T00:00:00Z');

  it('cuts a weekly window into half-hour slots on the half hour, inside it', () => {
    expect(iso(freeSlots([weekly(1, '09:10', '10:45')], [], monday, week, before, 'UTC'))).toEqual(['2026-12-07T09:30', '2026-12-07T10:00']);
  });

  it('leaves out booked slots, slots already begun, and gives overlapping windows’ slots once', () => {
    const windows = [weekly(1, '09:00', '10:30'), weekly(1, '10:00', '11:00')];
    const slots = freeSlots(windows, [new Date('2026-12-07T09:30:00Z')], monday, week, new Date('2026-12-07T09:00:00Z'), 'UTC');
    expect(iso(slots)).toEqual(['2026-12-07T10:00', '2026-12-07T10:30']);
  });

  it('opens a one-off window on its date only', () => {
    const once: AvailabilityWindow = { dayOfWeek: 3, startTime: '14:00', endTime: '15:00', isRecurring: false, specificDate: '2026-12-09' };
    expect(iso(freeSlots([once], [], monday, week, before, 'UTC'))).toEqual(['2026-12-09T14:00', '2026-12-09T14:30']);
    expect(freeSlots([once], [], week, new Date('2026-12-21T00:00:00Z'), before, 'UTC')).toEqual([]);
  });

  it('knows a slot from a time that is not one', () => {
    const w = [weekly(1, '09:00', '10:00')];
    expect(isSlot(w, new Date('2026-12-07T09:30:00Z'), before, 'UTC')).toBe(true);
    expect(isSlot(w, new Date('2026-12-07T09:15:00Z'), before, 'UTC')).toBe(false);
    expect(isSlot(w, new Date('2026-12-07T10:00:00Z'), before, 'UTC')).toBe(false);
    expect(isSlot(w, new Date('2026-12-08T09:00:00Z'), before, 'UTC')).toBe(false);
    expect(isSlot(w, new Date('2026-12-07T09:00:00Z'), new Date('2026-12-07T09:00:00Z'), 'UTC')).toBe(false);
  });
});

describe('slots in the coach’s own zone, across daylight-saving changes', () => {
  const before = new Date('2027-01-01T00:00:00Z');
  const sunday = (startTime: string, endTime: string) => weekly(0, startTime, endTime);
  /** Slots of one local Sunday: from the Saturday to the Monday in UTC, then kept to that local date. */
  const sundaySlots = (w: AvailabilityWindow, date: string, zone: string) => {
    const day = Date.parse(`${date}T00:00:00Z`);
    const local = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    return freeSlots([w], [], new Date(day - 86_400_000), new Date(day + 2 * 86_400_000), before, zone).filter((s) => local.format(s) === date);
  };
  const wallClock = (ds: Date[], zone: string) =>
    ds.map((d) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d));
  const nineToTwelve = ['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'];

  // The Sunday before each change and the Sunday of it (every one of these changes falls on a Sunday).
  it.each([
    ['America/New_York', '2027-03-07', '2027-03-14', '2027-03-07T14:00', '2027-03-14T13:00'],
    ['America/New_York', '2027-10-31', '2027-11-07', '2027-10-31T13:00', '2027-11-07T14:00'],
    ['Europe/London', '2027-03-21', '2027-03-28', '2027-03-21T09:00', '2027-03-28T08:00'],
    ['Europe/London', '2027-10-24', '2027-10-31', '2027-10-24T08:00', '2027-10-31T09:00'],
    ['Australia/Sydney', '2027-03-28', '2027-04-04', '2027-03-27T22:00', '2027-04-03T23:00'],
    ['Australia/Sydney', '2027-09-26', '2027-10-03', '2027-09-25T23:00', '2027-10-02T22:00'],
  ])('%s: 9:00–12:00 local gives 9:00, 9:30 … 11:30 local on %s and on the change %s', (zone, weekBefore, change, firstBefore, firstAfter) => {
    for (const [date, first] of [
      [weekBefore, firstBefore],
      [change, firstAfter],
    ] as const) {
      const slots = sundaySlots(sunday('09:00', '12:00'), date, zone);
      expect(wallClock(slots, zone)).toEqual(nineToTwelve);
      expect(iso(slots)[0]).toBe(first);
      expect(slots.every((s, i) => i === 0 || s.getTime() - slots[i - 1]!.getTime() === 30 * 60_000)).toBe(true);
    }
  });

  it.each([
    // Clocks go forward: the skipped local times (2:00 and 2:30 in New York, 1:00 and 1:30 in London) are not offered.
    ['America/New_York', '2027-03-14', '01:00', '04:00', ['2027-03-14T06:00', '2027-03-14T06:30', '2027-03-14T07:00', '2027-03-14T07:30']],
    ['Europe/London', '2027-03-28', '00:00', '03:00', ['2027-03-28T00:00', '2027-03-28T00:30', '2027-03-28T01:00', '2027-03-28T01:30']],
    ['Australia/Sydney', '2027-10-03', '01:00', '04:00', ['2027-10-02T15:00', '2027-10-02T15:30', '2027-10-02T16:00', '2027-10-02T16:30']],
    // Clocks go back: the repeated hour is offered once, at its first occurrence.
    ['America/New_York', '2027-11-07', '01:00', '03:00', ['2027-11-07T05:00', '2027-11-07T05:30', '2027-11-07T07:00', '2027-11-07T07:30']],
    [
      'Europe/London',
      '2027-10-31',
      '00:00',
      '03:00',
      ['2027-10-30T23:00', '2027-10-30T23:30', '2027-10-31T00:00', '2027-10-31T00:30', '2027-10-31T02:00', '2027-10-31T02:30'],
    ],
    ['Australia/Sydney', '2027-04-04', '02:00', '04:00', ['2027-04-03T15:00', '2027-04-03T15:30', '2027-04-03T17:00', '2027-04-03T17:30']],
  ])('%s on %s: a window %s–%s across the change', (zone, date, start, end, expected) => {
    expect(iso(sundaySlots(sunday(start, end), date, zone))).toEqual(expected);
  });

  it('books only the first occurrence of a repeated time, and nothing the clocks skip', () => {
    const w = [sunday('01:00', '03:00')];
    expect(isSlot(w, new Date('2027-11-07T05:00:00Z'), before, 'America/New_York')).toBe(true);
    // 06:00Z is 1:00 again (EST): the second occurrence.
    expect(isSlot(w, new Date('2027-11-07T06:00:00Z'), before, 'America/New_York')).toBe(false);
    // 2:00 local on 2027-03-14 does not exist; 07:00Z is 3:00 EDT, outside 1:00–3:00.
    expect(isSlot(w, new Date('2027-03-14T07:00:00Z'), before, 'America/New_York')).toBe(false);
  });

  it('reads one-off windows on the coach’s local date', () => {
    // 2027-04-04 in Sydney begins at 13:00Z on 2027-04-03.
    const once: AvailabilityWindow = { dayOfWeek: 0, startTime: '00:00', endTime: '01:00', isRecurring: false, specificDate: '2027-04-04' };
    expect(iso(freeSlots([once], [], new Date('2027-04-03T00:00:00Z'), new Date('2027-04-05T00:00:00Z'), before, 'Australia/Sydney'))).toEqual([
      '2027-04-03T13:00',
      '2027-04-03T13:30',
    ]);
  });
});

describe('one-off exceptions', () => {
  it('closes hours on one local date: a day off, or part of one; other weeks keep their slots', () => {
    const off = (startTime: string, endTime: string): AvailabilityWindow => ({
      dayOfWeek: 1,
      startTime,
      endTime,
      isRecurring: false,
      specificDate: '2027-01-04',
      closed: true,
    });
    const mondays = [weekly(1, '09:00', '11:00')];
    const from = new Date('2027-01-03T00:00:00Z');
    const to = new Date('2027-01-13T00:00:00Z');
    const before = new Date('2027-01-01T00:00:00Z');
    expect(iso(freeSlots([...mondays, off('00:00', '24:00')], [], from, to, before, 'Europe/London'))).toEqual([
      '2027-01-11T09:00',
      '2027-01-11T09:30',
      '2027-01-11T10:00',
      '2027-01-11T10:30',
    ]);
    // 9:45–10:15 closed: the two slots it touches go, 9:00 and 10:30 stay.
    expect(iso(freeSlots([...mondays, off('09:45', '10:15')], [], from, new Date('2027-01-05T00:00:00Z'), before, 'Europe/London'))).toEqual([
      '2027-01-04T09:00',
      '2027-01-04T10:30',
    ]);
  });
});

describe('time zone names and overlaps', () => {
  it('accepts IANA zones, canonical spelling; refuses unknown names and bare offsets', () => {
    expect(canonicalTimeZone('America/New_York')).toBe('America/New_York');
    expect(canonicalTimeZone('europe/london')).toBe('Europe/London');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    for (const bad of ['Mars/Olympus_Mons', 'EST5EDT6', '+05:00', '', 'America/New York', '../etc']) expect(canonicalTimeZone(bad)).toBeNull();
  });

  it('finds windows that can be open at once', () => {
    const once = (specificDate: string, startTime: string, endTime: string): AvailabilityWindow => ({
      dayOfWeek: new Date(`${specificDate}T00:00:00Z`).getUTCDay(),
      startTime,
      endTime,
      isRecurring: false,
      specificDate,
    });
    expect(overlaps(weekly(1, '09:00', '12:00'), weekly(1, '11:30', '13:00'))).toBe(true);
    expect(overlaps(weekly(1, '09:00', '12:00'), weekly(1, '12:00', '13:00'))).toBe(false);
    expect(overlaps(weekly(1, '09:00', '12:00'), weekly(2, '09:00', '12:00'))).toBe(false);
    // 2027-01-04 is a Monday.
    expect(overlaps(weekly(1, '09:00', '12:00'), once('2027-01-04', '10:00', '11:00'))).toBe(true);
    expect(overlaps(once('2027-01-04', '10:00', '11:00'), once('2027-01-11', '10:00', '11:00'))).toBe(false);
    // An exception closing hours is meant to fall on open hours.
    expect(overlaps(weekly(1, '09:00', '12:00'), { ...once('2027-01-04', '00:00', '24:00'), closed: true })).toBe(false);
  });
});

describe('utcWindowsInZone (a coach confirming their first zone)', () => {
  const jan = new Date('2027-01-11T12:00:00Z');
  const oneOff = (specificDate: string, startTime: string, endTime: string, closed = false): AvailabilityWindow => ({
    dayOfWeek: new Date(`${specificDate}T00:00:00Z`).getUTCDay(),
    startTime,
    endTime,
    isRecurring: false,
    specificDate,
    closed,
  });
  const hours = (ws: AvailabilityWindow[]) => ws.map((w) => `${w.specificDate ?? w.dayOfWeek} ${w.startTime}-${w.endTime}${w.closed ? ' closed' : ''}`);

  it('moves weekly windows by the offset of the moment of confirming, splitting one that crosses local midnight', () => {
    const ws = [weekly(2, '14:00', '17:00'), weekly(3, '03:00', '07:00'), weekly(0, '02:00', '05:00'), weekly(6, '20:00', '24:00')];
    expect(hours(utcWindowsInZone(ws, 'America/New_York', jan))).toEqual(['2 09:00-12:00', '2 22:00-24:00', '3 00:00-02:00', '6 21:00-24:00', '6 15:00-19:00']);
    // East of UTC the split goes the other way: Saturday 20:00–24:00 UTC is Sunday 07:00–11:00 in Sydney (AEDT).
    expect(hours(utcWindowsInZone([weekly(6, '20:00', '24:00')], 'Australia/Sydney', jan))).toEqual(['0 07:00-11:00']);
    expect(hours(utcWindowsInZone([weekly(1, '10:00', '16:00')], 'Asia/Tokyo', jan))).toEqual(['1 19:00-24:00', '2 00:00-01:00']);
    // Confirming in summer uses summer's offset.
    expect(hours(utcWindowsInZone([weekly(2, '14:00', '17:00')], 'America/New_York', new Date('2027-07-01T12:00:00Z')))).toEqual(['2 10:00-13:00']);
  });

  it('moves a one-off (and a closed exception) by the offset on its own date, to the local date', () => {
    const ws = [oneOff('2027-07-01', '14:00', '17:00'), oneOff('2027-01-15', '01:00', '02:00'), oneOff('2027-01-19', '14:00', '15:00', true)];
    expect(hours(utcWindowsInZone(ws, 'America/New_York', jan))).toEqual(['2027-07-01 10:00-13:00', '2027-01-14 20:00-21:00', '2027-01-19 09:00-10:00 closed']);
    expect(utcWindowsInZone(ws, 'America/New_York', jan)[1]?.dayOfWeek).toBe(4);
  });

  it('offers the same instants right after, across the coming weeks up to the next clock change', () => {
    const ws = [weekly(2, '14:00', '17:00'), weekly(3, '03:00', '07:00'), oneOff('2027-01-15', '01:00', '02:00'), oneOff('2027-01-19', '14:00', '15:00', true)];
    const to = new Date('2027-03-01T00:00:00Z');
    const before = freeSlots(ws, [], jan, to, jan, 'UTC');
    expect(before.length).toBeGreaterThan(50);
    expect(iso(freeSlots(utcWindowsInZone(ws, 'America/New_York', jan), [], jan, to, jan, 'America/New_York'))).toEqual(iso(before));
    expect(iso(freeSlots(utcWindowsInZone(ws, 'Asia/Kolkata', jan), [], jan, to, jan, 'Asia/Kolkata'))).toEqual(iso(before));
    // After New York's change on 2027-03-14 the weekly hours stay 09:00–12:00 local: an hour earlier in UTC.
    const spring = freeSlots(
      utcWindowsInZone(ws, 'America/New_York', jan),
      [],
      new Date('2027-03-16T00:00:00Z'),
      new Date('2027-03-17T00:00:00Z'),
      jan,
      'America/New_York',
    );
    expect(iso(spring)[0]).toBe('2027-03-16T13:00');
  });
});
