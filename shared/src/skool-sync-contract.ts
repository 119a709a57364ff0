/**
 * The wire shapes between the Worker and the agent-host's Skool sync: one zod schema per message,
 * parsed by whichever side receives it (the Worker's webhook and its start call, the agent-host's
 * start endpoint).
 */
import { z } from 'zod';
import { replyOf } from './agent-contract';
import type { Community } from './skool-sync';

export type { Community };

export const COMMUNITIES = ['ultra', 'vagus'] as const satisfies readonly Community[];

/** An ISO calendar date (`YYYY-MM-DD`) or date-time with offset. */
const IsoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

/** One member as the members page shows it. Dates are ISO calendar dates (`YYYY-MM-DD`). */
export const Member = z.object({
  /** As shown, trimmed, case kept (the Worker lower-cases); null when the card shows none. */
  email: z.string().max(320).nullable(),
  name: z.string().max(300),
  paid: z.boolean(),
  status: z.enum(['active', 'cancelled']),
  joinedAt: IsoDate.nullable(),
  /** The end of a cancelled member's paid period as shown, past or future; null for active members. */
  membershipEndsAt: IsoDate.nullable(),
  profileUrl: z.string().max(2048).nullable(),
  photoUrl: z.string().max(2048).nullable(),
  bio: z.string().max(5000).nullable(),
});
export type Member = z.infer<typeof Member>;

/** Worker → agent-host: `POST /skool-sync/start`, signed, Idempotency-Key = runId. */
export const StartRequest = z.object({
  runId: z.string().regex(/^[\w.:-]{1,128}$/, 'runId must be 1-128 characters of [A-Za-z0-9_.:-]'),
  trigger: z.enum(['cron', 'admin'], 'trigger must be "cron" or "admin"'),
  /** Where results go: the Worker's `/api/webhooks/skool-sync`. */
  resultUrl: z.url({ protocol: /^https?$/, error: 'resultUrl must be an http(s) URL' }).regex(/^https?:\/\//, 'resultUrl must be an http(s) URL'),
});
export type StartRequest = z.infer<typeof StartRequest>;
/** agent-host → Worker, 202: `accepted: false` when the run id was started before (nothing new starts). */
export const StartReply = replyOf(z.object({ runId: z.string(), accepted: z.boolean() }));

export const MAX_MEMBERS_PER_CHUNK = 500;

/** agent-host → Worker: one chunk of a community's members. Idempotency-Key `${runId}:${community}:${index}`. */
export const MembersMessage = z.object({
  runId: z.uuid(),
  kind: z.literal('members'),
  community: z.enum(COMMUNITIES),
  chunk: z.object({ index: z.number().int().min(0), count: z.number().int().min(1) }),
  members: z.array(Member).max(1000),
});
export type MembersMessage = z.infer<typeof MembersMessage>;

export const CommunityOutcome = z.object({ ok: z.boolean(), membersFound: z.number().int().min(0), error: z.string().max(2000).nullable() });
export type CommunityOutcome = z.infer<typeof CommunityOutcome>;

/** agent-host → Worker: sent after every chunk of the run. Idempotency-Key `${runId}:final`. */
export const FinalMessage = z.object({
  runId: z.uuid(),
  kind: z.literal('final'),
  ok: z.boolean(),
  error: z.string().max(2000).nullable(),
  durationMs: z.number().int().min(0),
  communities: z.object({ ultra: CommunityOutcome, vagus: CommunityOutcome }),
});
export type FinalMessage = z.infer<typeof FinalMessage>;

/**
 * agent-host → Worker: members scraped so far per community (null: not reached yet), sent as the scrape
 * goes and at least every PROGRESS_HEARTBEAT_MS. Best-effort (not through the outbox): a lost report is
 * replaced by the next. Idempotency-Key `${runId}:progress:${seq}`.
 */
export const ProgressMessage = z.object({
  runId: z.uuid(),
  kind: z.literal('progress'),
  scraped: z.object({ ultra: z.number().int().min(0).max(1_000_000).nullable(), vagus: z.number().int().min(0).max(1_000_000).nullable() }),
});
export type ProgressMessage = z.infer<typeof ProgressMessage>;
export const ProgressReply = replyOf(z.object({ recorded: z.boolean() }));

/** The agent-host reports progress at least this often while a run lasts, new members or not. */
export const PROGRESS_HEARTBEAT_MS = 60_000;

/** `POST /api/webhooks/skool-sync`: any of the three messages. */
export const SyncMessage = z.discriminatedUnion('kind', [MembersMessage, FinalMessage, ProgressMessage]);
export type SyncMessage = z.infer<typeof SyncMessage>;
export const MembersReply = replyOf(z.object({ staged: z.number(), skipped: z.number(), duplicate: z.boolean() }));
export const FinalReply = replyOf(z.object({ status: z.enum(['SUCCEEDED', 'FAILED', 'ALREADY_DONE']), roundTrips: z.number() }));

/**
 * Worker → agent-host: `POST /skool-sync/holds`, signed, Idempotency-Key = runId. Does the agent-host still
 * hold this run: scraping it, or with messages of it waiting in its outbox? A restarted agent-host holds
 * none of the runs it was scraping, and the Worker fails them.
 */
export const HoldsRequest = z.object({ runId: StartRequest.shape.runId });
export type HoldsRequest = z.infer<typeof HoldsRequest>;
export const HoldsReply = replyOf(z.object({ runId: z.string(), held: z.boolean() }));
