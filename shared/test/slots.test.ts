import { describe, expect, it } from 'vitest';
import { type AvailabilityWindow, freeSlots, isSlot } from '../src/slots';

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
    expect(iso(freeSlots([weekly(1, '09:10', '10:45')], [], monday, week, before))).toEqual(['2026-12-07T09:30', '2026-12-07T10:00']);
  });

  it('leaves out booked slots, slots already begun, and gives overlapping windows’ slots once', () => {
    const windows = [weekly(1, '09:00', '10:30'), weekly(1, '10:00', '11:00')];
    const slots = freeSlots(windows, [new Date('2026-12-07T09:30:00Z')], monday, week, new Date('2026-12-07T09:00:00Z'));
    expect(iso(slots)).toEqual(['2026-12-07T10:00', '2026-12-07T10:30']);
  });

  it('opens a one-off window on its date only', () => {
    const once: AvailabilityWindow = { dayOfWeek: 3, startTime: '14:00', endTime: '15:00', isRecurring: false, specificDate: '2026-12-09' };
    expect(iso(freeSlots([once], [], monday, week, before))).toEqual(['2026-12-09T14:00', '2026-12-09T14:30']);
    expect(freeSlots([once], [], week, new Date('2026-12-21T00:00:00Z'), before)).toEqual([]);
  });

  it('knows a slot from a time that is not one', () => {
    const w = [weekly(1, '09:00', '10:00')];
    expect(isSlot(w, new Date('2026-12-07T09:30:00Z'), before)).toBe(true);
    expect(isSlot(w, new Date('2026-12-07T09:15:00Z'), before)).toBe(false);
    expect(isSlot(w, new Date('2026-12-07T10:00:00Z'), before)).toBe(false);
    expect(isSlot(w, new Date('2026-12-08T09:00:00Z'), before)).toBe(false);
    expect(isSlot(w, new Date('2026-12-07T09:00:00Z'), new Date('2026-12-07T09:00:00Z'))).toBe(false);
  });
});
