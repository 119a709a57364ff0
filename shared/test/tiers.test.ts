import { describe, expect, it } from 'vitest';
import { MEMBERSHIP_TIERS, monthlyUsage, nextMonthStart, portalForRole, sessionAllowance, TIERS } from '../src/tiers';

describe('tier rules', () => {
  it('has the three tiers of the product, FREE limited to 1 session and 20 minutes', () => {
    expect(MEMBERSHIP_TIERS).toEqual(['FREE', 'VAGUS_MEMBER', 'PREMIUM']);
    expect(TIERS.FREE.limits).toMatchObject({ sessionsPerMonth: 1, minutesPerMonth: 20, humanCoachAccess: false });
    expect(TIERS.VAGUS_MEMBER.limits).toMatchObject({ sessionsPerMonth: null, aiReportsEnabled: true, humanCoachAccess: false });
    expect(TIERS.PREMIUM.limits).toMatchObject({ sessionsPerMonth: null, humanCoachAccess: true });
  });

  it('finds the next month start in UTC, across a year end', () => {
    expect(nextMonthStart(new Date('2026-12-31T23:59:59Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextMonthStart(new Date('2026-01-31T10:00:00Z')).toISOString()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('counts nothing for a user never counted', () => {
    const u = monthlyUsage('FREE', { monthlySessionsUsed: 5, monthlyMinutesUsed: 90, usageResetsAt: null }, new Date('2026-03-03T00:00:00Z'));
    expect(u).toMatchObject({ sessionsThisMonth: 0, minutesThisMonth: 0, remainingMinutes: 20 });
  });

  it('never reports negative remaining minutes', () => {
    const s = sessionAllowance(
      'FREE',
      { monthlySessionsUsed: 0, monthlyMinutesUsed: 25, usageResetsAt: new Date('2026-04-01T00:00:00Z') },
      new Date('2026-03-03T00:00:00Z'),
    );
    expect(s.allowed).toBe(false);
    expect(s.usage.remainingMinutes).toBe(0);
  });

  it('sends admins and coaches to the coach portal, clients to theirs', () => {
    expect(portalForRole('ADMIN')).toBe('coach');
    expect(portalForRole('COACH')).toBe('coach');
    expect(portalForRole('CLIENT')).toBe('client');
  });
});
