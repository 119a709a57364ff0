/**
 * The wire shapes between the Worker and the agent-host's Skool sync: one definition for both sides
 * (the Worker's zod schemas in routes/webhooks.ts are checked against it).
 */
import type { Community } from './skool-sync';

export type { Community };

export const COMMUNITIES = ['ultra', 'vagus'] as const satisfies readonly Community[];

/** One member as the members page shows it. Dates are ISO calendar dates (`YYYY-MM-DD`). */
export interface Member {
  /** As shown, trimmed, case kept (the Worker lower-cases); null when the card shows none. */
  email: string | null;
  name: string;
  paid: boolean;
  status: 'active' | 'cancelled';
  joinedAt: string | null;
  /** The end of a cancelled member's paid period as shown, past or future; null for active members. */
  membershipEndsAt: string | null;
  profileUrl: string | null;
  photoUrl: string | null;
  bio: string | null;
}

/** Worker → agent-host: `POST /skool-sync/start`, signed, Idempotency-Key = runId. */
export interface StartRequest {
  runId: string;
  trigger: 'cron' | 'admin';
  /** Where results go: the Worker's `/api/webhooks/skool-sync`. */
  resultUrl: string;
}

/** agent-host → Worker: one chunk of a community's members. Idempotency-Key `${runId}:${community}:${index}`. */
export interface MembersMessage {
  runId: string;
  kind: 'members';
  community: Community;
  chunk: { index: number; count: number };
  members: Member[];
}

export interface CommunityOutcome {
  ok: boolean;
  membersFound: number;
  error: string | null;
}

/** agent-host → Worker: sent after every chunk of the run. Idempotency-Key `${runId}:final`. */
export interface FinalMessage {
  runId: string;
  kind: 'final';
  ok: boolean;
  error: string | null;
  durationMs: number;
  communities: Record<Community, CommunityOutcome>;
}

export const MAX_MEMBERS_PER_CHUNK = 500;
