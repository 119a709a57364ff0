import { describe, expect, it } from 'vitest';
import { type FoundMember, type KnownAccount, NEW_ACCOUNT_STATE, planSync, roleFor } from '../src/skool-sync';

const now = new Date('2026-11-22T03:00:00Z');
const found = (email: string, over: Partial<FoundMember> = {}): FoundMember => ({
  email,
  name: email,
  paid: true,
  status: 'active',
  joinedAt: null,
  membershipEndsAt: null,
  profileUrl: null,
  photoUrl: null,
  bio: null,
  ...over,
});
const account = (email: string, over: Partial<KnownAccount> = {}): KnownAccount => ({ id: email, email, ...NEW_ACCOUNT_STATE, ...over });
const list = (...m: FoundMember[]) => ({ members: new Map(m.map((x) => [x.email, x])), complete: true });

describe('Skool membership rules', () => {
  it('makes Ultra members coaches, keeps cancelled ones through their paid period', () => {
    expect(roleFor('active', null, now)).toBe('COACH');
    expect(roleFor('cancelled', new Date(now.getTime() + 1000), now)).toBe('COACH');
    expect(roleFor('cancelled', new Date(now.getTime() - 1000), now)).toBe('CLIENT');
    expect(roleFor('expired', null, now)).toBe('CLIENT');
  });

  it('lets Ultra supersede Vagus for the role, and sets the tier from Vagus', () => {
    const plan = planSync([], list(found('a@x.io')), list(found('a@x.io', { paid: false }), found('b@x.io')), now);
    const byEmail = new Map(plan.accounts.map((a) => [a.email, a.next]));
    expect(byEmail.get('a@x.io')).toMatchObject({ role: 'COACH', tier: 'FREE' });
    expect(byEmail.get('b@x.io')).toMatchObject({ role: 'CLIENT', tier: 'VAGUS_MEMBER' });
    expect(plan.counts.newMembers).toBe(2);
  });

  it('never changes an ADMIN role or a PREMIUM tier, and leaves accounts Skool never knew alone', () => {
    const plan = planSync(
      [
        account('admin@x.io', { role: 'ADMIN', ultraStatus: 'active' }),
        account('p@x.io', { tier: 'PREMIUM', vagusStatus: 'active' }),
        account('hand@x.io', { role: 'COACH' }),
      ],
      list(),
      list(found('p@x.io', { paid: false, status: 'cancelled' })),
      now,
    );
    const byEmail = new Map(plan.accounts.map((a) => [a.email, a.next]));
    expect(byEmail.get('admin@x.io')?.role).toBe('ADMIN');
    expect(byEmail.get('p@x.io')?.tier).toBe('PREMIUM');
    expect(byEmail.has('hand@x.io')).toBe(false);
  });

  it('keeps a role staff set, against the Ultra list either way, while statuses and tiers still follow Skool', () => {
    const plan = planSync(
      [
        account('made-coach@x.io', { role: 'COACH', vagusStatus: 'active', roleSetByStaff: true }),
        account('made-client@x.io', { role: 'CLIENT', ultraStatus: 'active', roleSetByStaff: true }),
      ],
      list(found('made-client@x.io')),
      list(found('made-coach@x.io')),
      now,
    );
    const byEmail = new Map(plan.accounts.map((a) => [a.email, a.next]));
    expect(byEmail.get('made-coach@x.io')).toMatchObject({ role: 'COACH', tier: 'VAGUS_MEMBER' });
    expect(byEmail.get('made-client@x.io')?.role ?? 'CLIENT').toBe('CLIENT');
  });

  it('withholds downgrades when a list cannot be trusted, but still takes upgrades', () => {
    const known = [
      account('c@x.io', { role: 'COACH', ultraStatus: 'active' }),
      account('v@x.io', { tier: 'VAGUS_MEMBER', vagusStatus: 'active' }),
      account('up@x.io', { vagusStatus: 'active' }),
    ];
    const plan = planSync(known, { members: null, complete: false }, { ...list(found('up@x.io')), complete: false }, now);
    expect(plan.withholdDowngrades).toBe(true);
    expect(plan.counts.downgraded).toBe(0);
    expect(plan.accounts.find((a) => a.email === 'up@x.io')?.next.tier).toBe('VAGUS_MEMBER');
    expect(plan.accounts.find((a) => a.email === 'c@x.io')).toBeUndefined();
  });
});
