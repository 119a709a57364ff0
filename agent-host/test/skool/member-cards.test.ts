import { describe, expect, it } from 'vitest';
import { parseShownDate, type RawCard, toMembers } from '../../src/skool/member-cards';
import { patterns } from '../../src/skool/selectors';

const card = (over: Partial<RawCard> = {}): RawCard => ({
  name: 'Zoë Ångström',
  email: 'Zoe@Example.se',
  paid: true,
  cancelled: false,
  endsText: null,
  joinedText: 'Joined Apr 12, 2023',
  profileUrl: 'https://www.skool.com/@zoe-1',
  photoUrl: null,
  bio: null,
  ...over,
});

describe('member cards as the members page shows them', () => {
  it('turns "Joined Apr 12, 2023" and "Membership ends/ended ..." into calendar dates', () => {
    expect(parseShownDate('Joined Apr 12, 2023', patterns.joined)).toBe('2023-04-12');
    expect(parseShownDate('Joined Sept 3, 2024', patterns.joined)).toBe('2024-09-03');
    expect(parseShownDate('Membership ends Jan 1, 2027', patterns.membershipEnds)).toBe('2027-01-01');
    expect(parseShownDate('Membership ended Feb 29, 2024', patterns.membershipEnds)).toBe('2024-02-29');
  });

  it('gives null for a date it cannot read rather than guessing', () => {
    expect(parseShownDate(null, patterns.joined)).toBeNull();
    expect(parseShownDate('Joined 3 days ago', patterns.joined)).toBeNull();
    expect(parseShownDate('Joined Feb 30, 2023', patterns.joined)).toBeNull();
    expect(parseShownDate('Membership ends soon', patterns.membershipEnds)).toBeNull();
  });

  it('gives an end date only to cancelled members', () => {
    const [active, cancelled] = toMembers(
      [card({ endsText: 'Membership ends Jan 1, 2027' }), card({ cancelled: true, endsText: 'Membership ends Jan 1, 2027' })],
      'vagus',
    );
    expect(active).toMatchObject({ status: 'active', membershipEndsAt: null, joinedAt: '2023-04-12', email: 'Zoe@Example.se' });
    expect(cancelled).toMatchObject({ status: 'cancelled', membershipEndsAt: '2027-01-01' });
  });

  it('refuses lists that look like the layout changed rather than sending them', () => {
    expect(() => toMembers([], 'ultra')).toThrow(/no member cards found/);
    expect(() => toMembers([card({ email: null }), card({ email: null })], 'ultra')).toThrow(/is SKOOL_EMAIL an admin of ultra/);
    expect(() => toMembers([card(), card({ name: null })], 'vagus')).toThrow(/member card #2 has no name/);
  });
});
