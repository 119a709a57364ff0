import { describe, expect, it } from 'vitest';
import { endOf } from './skool-sync';

describe('Skool dates', () => {
  it('keeps a membership that ends on a date alive through that whole day', () => {
    expect(endOf('2027-01-01')?.toISOString()).toBe('2027-01-02T00:00:00.000Z');
    expect(endOf('2027-01-01T12:00:00.000Z')?.toISOString()).toBe('2027-01-01T12:00:00.000Z');
    expect(endOf(null)).toBeNull();
  });
});
