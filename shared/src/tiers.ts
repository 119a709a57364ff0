/**
 * Membership tiers and monthly usage: the one tier table, shared by the Worker, the portals and the
 * agent-host. Pure rules, no I/O. The server always reads tier and usage from D1 before applying
 * these rules; nothing here trusts a client or a token.
 */

export const USER_ROLES = ['COACH', 'CLIENT', 'ADMIN'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const MEMBERSHIP_TIERS = ['FREE', 'VAGUS_MEMBER', 'PREMIUM'] as const;
export type MembershipTier = (typeof MEMBERSHIP_TIERS)[number];

export interface TierLimits {
  /** null = unlimited */
  sessionsPerMonth: number | null;
  /** Minutes a month, also the cap of any one session; null = unlimited. */
  minutesPerMonth: number | null;
  humanCoachAccess: boolean;
  aiReportsEnabled: boolean;
  prioritySupport: boolean;
}

export interface TierInfo {
  tier: MembershipTier;
  name: string;
  summary: string;
  features: readonly string[];
  limits: TierLimits;
}

export const TIERS: Record<MembershipTier, TierInfo> = {
  FREE: {
    tier: 'FREE',
    name: 'Free',
    summary: 'Try an AI coaching session each month.',
    features: ['1 AI coaching session a month', 'Up to 20 minutes', 'Session transcript'],
    limits: {
      sessionsPerMonth: 1,
      minutesPerMonth: 20,
      humanCoachAccess: false,
      aiReportsEnabled: false,
      prioritySupport: false,
    },
  },
  VAGUS_MEMBER: {
    tier: 'VAGUS_MEMBER',
    name: 'Vagus Member',
    summary: 'Unlimited AI coaching with full reports.',
    features: ['Unlimited AI coaching sessions', 'Session summaries and reports', 'Personal context carried between sessions'],
    limits: {
      sessionsPerMonth: null,
      minutesPerMonth: null,
      humanCoachAccess: false,
      aiReportsEnabled: true,
      prioritySupport: false,
    },
  },
  PREMIUM: {
    tier: 'PREMIUM',
    name: 'Premium',
    summary: 'Everything in Vagus Member, plus human coaches.',
    features: ['Everything in Vagus Member', 'Book sessions with human coaches', 'A human coach can join your AI sessions', 'Priority support'],
    limits: {
      sessionsPerMonth: null,
      minutesPerMonth: null,
      humanCoachAccess: true,
      aiReportsEnabled: true,
      prioritySupport: true,
    },
  },
};

/** Where a client is sent to upgrade. */
export const UPGRADE_URL = '/pricing';

/** First instant (UTC) of the calendar month after the one containing `at`. */
export function nextMonthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}

export interface StoredUsage {
  monthlySessionsUsed: number;
  monthlyMinutesUsed: number;
  /** The instant the stored counters stop counting; null = never counted. */
  usageResetsAt: Date | null;
}

export interface MonthlyUsage {
  sessionsThisMonth: number;
  minutesThisMonth: number;
  /** null = unlimited */
  remainingMinutes: number | null;
  /** null = unlimited */
  remainingSessions: number | null;
  resetsAt: Date;
}

/**
 * The usage that counts at `now`: stored counters belong to the month that ends at
 * `usageResetsAt`; once that instant has passed they count as zero.
 */
export function monthlyUsage(tier: MembershipTier, stored: StoredUsage, now: Date): MonthlyUsage {
  const current = stored.usageResetsAt !== null && now.getTime() < stored.usageResetsAt.getTime();
  const sessions = current ? stored.monthlySessionsUsed : 0;
  const minutes = current ? stored.monthlyMinutesUsed : 0;
  const { sessionsPerMonth, minutesPerMonth } = TIERS[tier].limits;
  return {
    sessionsThisMonth: sessions,
    minutesThisMonth: minutes,
    remainingMinutes: minutesPerMonth === null ? null : Math.max(0, minutesPerMonth - minutes),
    remainingSessions: sessionsPerMonth === null ? null : Math.max(0, sessionsPerMonth - sessions),
    resetsAt: nextMonthStart(now),
  };
}

export type SessionAllowance =
  | { allowed: true; capMinutes: number | null; usage: MonthlyUsage }
  | { allowed: false; reason: 'SESSIONS_EXHAUSTED' | 'MINUTES_EXHAUSTED'; usage: MonthlyUsage };

/** May a client of `tier` start a new session now, and for how many minutes at most? */
export function sessionAllowance(tier: MembershipTier, stored: StoredUsage, now: Date): SessionAllowance {
  const usage = monthlyUsage(tier, stored, now);
  if (usage.remainingSessions !== null && usage.remainingSessions <= 0) {
    return { allowed: false, reason: 'SESSIONS_EXHAUSTED', usage };
  }
  if (usage.remainingMinutes !== null && usage.remainingMinutes <= 0) {
    return { allowed: false, reason: 'MINUTES_EXHAUSTED', usage };
  }
  return { allowed: true, capMinutes: usage.remainingMinutes, usage };
}

/** The portal a role lands in after login: coaches and admins share the coach portal. */
export function portalForRole(role: UserRole): 'coach' | 'client' {
  return role === 'CLIENT' ? 'client' : 'coach';
}
