/**
 * Skool membership rules: from what a sync found in the two communities (Ultra = coaches, Vagus =
 * clients) to each account's role, tier and Skool status. Pure: plans changes, writes nothing.
 */
import type { MembershipTier, UserRole } from './tiers';

export type Community = 'ultra' | 'vagus';
export type SkoolStatus = 'active' | 'cancelled' | 'expired';

export interface FoundMember {
  /** Lower-cased. */
  email: string;
  name: string;
  paid: boolean;
  status: 'active' | 'cancelled';
  joinedAt: Date | null;
  membershipEndsAt: Date | null;
  profileUrl: string | null;
  photoUrl: string | null;
  bio: string | null;
}

/** What the sync decides about an account: its role, tier and Skool standing. */
export interface AccountState {
  role: UserRole;
  tier: MembershipTier;
  ultraStatus: SkoolStatus | null;
  vagusStatus: SkoolStatus | null;
  membershipEndDate: Date | null;
  skoolProfileUrl: string | null;
  skoolPhotoUrl: string | null;
  skoolBio: string | null;
}

/** An account the platform already has. */
export interface KnownAccount extends AccountState {
  id: string;
  email: string;
  /** Staff set this account's role (the staff console): the sync never changes it again. */
  roleSetByStaff?: boolean;
}

/** Where a member the platform has never seen starts from. */
export const NEW_ACCOUNT_STATE: Readonly<AccountState> = {
  role: 'CLIENT',
  tier: 'FREE',
  ultraStatus: null,
  vagusStatus: null,
  membershipEndDate: null,
  skoolProfileUrl: null,
  skoolPhotoUrl: null,
  skoolBio: null,
};

export interface Change {
  field: 'status' | 'role' | 'tier';
  community: Community | null;
  from: string | null;
  to: string;
}

export interface PlannedAccount {
  /** Absent for a member new to us (a placeholder account is created). */
  id?: string;
  email: string;
  displayName: string;
  next: AccountState;
  changes: Change[];
  upgraded: boolean;
  downgraded: boolean;
  cancelled: boolean;
}

export interface SyncPlan {
  accounts: PlannedAccount[];
  counts: { newMembers: number; upgraded: number; downgraded: number; cancelled: number };
}

/**
 * What each community's list may be trusted for: `null` when the scrape failed; `complete` false
 * when it found fewer than half of the last good run, so absences mean nothing.
 */
export interface CommunityResult {
  members: Map<string, FoundMember> | null;
  complete: boolean;
}

const TIER_RANK: Record<MembershipTier, number> = { FREE: 0, VAGUS_MEMBER: 1, PREMIUM: 2 };
const ROLE_RANK: Record<UserRole, number> = { CLIENT: 0, COACH: 1, ADMIN: 2 };

/** Ultra supersedes Vagus; a cancelled Ultra member stays a coach until the paid period ends. */
export function roleFor(ultra: SkoolStatus | null, endDate: Date | null, now: Date): 'COACH' | 'CLIENT' {
  if (ultra === 'active') return 'COACH';
  if (ultra === 'cancelled' && endDate !== null && endDate.getTime() > now.getTime()) return 'COACH';
  return 'CLIENT';
}

/** Paid Vagus → VAGUS_MEMBER (through a cancelled member's paid period); free Vagus → FREE. */
export function tierForVagus(member: FoundMember, now: Date): 'VAGUS_MEMBER' | 'FREE' {
  const paidUp = member.status === 'active' || (member.membershipEndsAt !== null && member.membershipEndsAt.getTime() > now.getTime());
  return member.paid && paidUp ? 'VAGUS_MEMBER' : 'FREE';
}

/**
 * Plans the sync. ADMIN roles, PREMIUM tiers and any role staff set are never changed: staff decisions
 * win over the sync. Accounts Skool never knew
 * (no status in either community) are left alone. When any community is untrusted, no change that
 * lowers a role or tier is planned (`withholdDowngrades`).
 */
export function planSync(
  known: readonly KnownAccount[],
  ultra: CommunityResult,
  vagus: CommunityResult,
  now: Date,
): SyncPlan & { withholdDowngrades: boolean } {
  const withholdDowngrades = !ultra.members || !vagus.members || !ultra.complete || !vagus.complete;
  const byEmail = new Map(known.map((k) => [k.email, k]));
  const emails = new Set<string>([...(ultra.members?.keys() ?? []), ...(vagus.members?.keys() ?? [])]);
  for (const k of known) if (k.ultraStatus !== null || k.vagusStatus !== null) emails.add(k.email);

  const accounts: PlannedAccount[] = [];
  const counts = { newMembers: 0, upgraded: 0, downgraded: 0, cancelled: 0 };

  for (const email of emails) {
    const k = byEmail.get(email);
    const u = ultra.members?.get(email) ?? null;
    const v = vagus.members?.get(email) ?? null;
    const prev: AccountState = k ? stateOf(k) : { ...NEW_ACCOUNT_STATE };

    // Absent from a complete list: the member has left that community.
    const absent = (c: CommunityResult, s: SkoolStatus | null): SkoolStatus | null => (c.members && c.complete && s !== null ? 'expired' : s);
    const ultraStatus = u ? u.status : absent(ultra, prev.ultraStatus);
    const vagusStatus = v ? v.status : absent(vagus, prev.vagusStatus);
    const membershipEndDate = u ? u.membershipEndsAt : prev.membershipEndDate;

    let role = prev.role;
    if (role !== 'ADMIN' && !k?.roleSetByStaff) role = roleFor(ultraStatus, membershipEndDate, now);
    let tier = prev.tier;
    if (tier !== 'PREMIUM') {
      if (v) tier = tierForVagus(v, now);
      else if (vagusStatus === 'expired' && prev.vagusStatus !== 'expired' && tier === 'VAGUS_MEMBER') tier = 'FREE';
    }
    const lowersRole = ROLE_RANK[role] < ROLE_RANK[prev.role];
    const lowersTier = TIER_RANK[tier] < TIER_RANK[prev.tier];
    if (withholdDowngrades) {
      if (lowersRole) role = prev.role;
      if (lowersTier) tier = prev.tier;
    }

    const profile = u ?? v;
    const next: AccountState = {
      role,
      tier,
      ultraStatus: withholdDowngrades && !u ? prev.ultraStatus : ultraStatus,
      vagusStatus: withholdDowngrades && !v ? prev.vagusStatus : vagusStatus,
      membershipEndDate,
      skoolProfileUrl: profile?.profileUrl ?? prev.skoolProfileUrl,
      skoolPhotoUrl: profile?.photoUrl ?? prev.skoolPhotoUrl,
      skoolBio: profile?.bio ?? prev.skoolBio,
    };

    const changes: Change[] = [];
    if (next.ultraStatus !== prev.ultraStatus && next.ultraStatus !== null) {
      changes.push({ field: 'status', community: 'ultra', from: prev.ultraStatus, to: next.ultraStatus });
    }
    if (next.vagusStatus !== prev.vagusStatus && next.vagusStatus !== null) {
      changes.push({ field: 'status', community: 'vagus', from: prev.vagusStatus, to: next.vagusStatus });
    }
    if (next.role !== prev.role || !k) changes.push({ field: 'role', community: null, from: k ? prev.role : null, to: next.role });
    if (next.tier !== prev.tier || !k) changes.push({ field: 'tier', community: null, from: k ? prev.tier : null, to: next.tier });

    const upgraded = !!k && (ROLE_RANK[next.role] > ROLE_RANK[prev.role] || TIER_RANK[next.tier] > TIER_RANK[prev.tier]);
    const downgraded = !!k && (ROLE_RANK[next.role] < ROLE_RANK[prev.role] || TIER_RANK[next.tier] < TIER_RANK[prev.tier]);
    const cancelled = changes.some((c) => c.field === 'status' && c.from === 'active' && c.to !== 'active');
    const profileChanged =
      next.skoolProfileUrl !== prev.skoolProfileUrl ||
      next.skoolPhotoUrl !== prev.skoolPhotoUrl ||
      next.skoolBio !== prev.skoolBio ||
      (next.membershipEndDate?.getTime() ?? null) !== (prev.membershipEndDate?.getTime() ?? null);

    if (!k) counts.newMembers += 1;
    if (upgraded) counts.upgraded += 1;
    if (downgraded) counts.downgraded += 1;
    if (cancelled) counts.cancelled += 1;
    // Unchanged members are touched by one set-based statement (last sync, Skool emails), not here.
    if (changes.length > 0 || profileChanged || !k) {
      accounts.push({
        ...(k ? { id: k.id } : {}),
        email,
        displayName: profile?.name ?? email,
        next,
        changes,
        upgraded,
        downgraded,
        cancelled,
      });
    }
  }
  return { accounts, counts, withholdDowngrades };
}

/** An account's state without its identity. */
function stateOf({ id: _id, email: _email, roleSetByStaff: _staff, ...state }: KnownAccount): AccountState {
  return state;
}
