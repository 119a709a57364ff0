/**
 * The emailed links that let a person in without a password: a claim link (set the first password of an
 * account the Skool sync made) and a password reset link. Each is a random token stored only as its
 * SHA-256, single use, and its email, queued in the same batch as the token row.
 */
import type { Batch, Db } from '../db/client';
import { claimTokens, passwordResetTokens } from '../db/schema';
import { outboxInsert } from '../mail/outbox';
import { claimAccountMail, type MailContent, passwordResetMail } from '../mail/templates';
import { randomToken, sha256Hex } from './crypto';

export const CLAIM_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const RESET_TTL_MS = 30 * 60 * 1000;

interface Account {
  id: string;
  email: string;
  displayName: string;
}

/** What differs between the two kinds of link. */
const KINDS = {
  claim: { table: claimTokens, path: '/claim', ttlMs: CLAIM_TTL_MS, template: 'claim-account' },
  reset: { table: passwordResetTokens, path: '/reset', ttlMs: RESET_TTL_MS, template: 'password-reset' },
} as const;

/** A fresh token's row, and its email (the link in it), for one batch. */
async function linkWrites(
  env: Env,
  db: Db,
  user: Account,
  kind: keyof typeof KINDS,
  now: Date,
  mail: (link: string, tokenHash: string) => { idempotencyKey: string; content: MailContent },
): Promise<Batch> {
  const { table, path, ttlMs, template } = KINDS[kind];
  const token = randomToken(32);
  const tokenHash = await sha256Hex(token);
  const expiresAt = new Date(now.getTime() + ttlMs);
  const { idempotencyKey, content } = mail(`${env.PUBLIC_APP_URL}${path}?token=${encodeURIComponent(token)}`, tokenHash);
  return [
    db.insert(table).values({ tokenHash, userId: user.id, expiresAt, createdAt: now }),
    ...(await outboxInsert(env, db, {
      to: { email: user.email, userId: user.id },
      template,
      kind: 'security',
      idempotencyKey,
      notBefore: now,
      expiresAt,
      content,
    })),
  ];
}

/** The claim token row and its email; `reason` says why in the email's words. */
export const claimLinkWrites = (env: Env, db: Db, user: Account, reason: 'sync' | 'request', now = new Date()) =>
  linkWrites(env, db, user, 'claim', now, (link, tokenHash) => ({
    // Sync: once per account ever, however many nights it is seen unclaimed. Request: once per link.
    idempotencyKey: reason === 'sync' ? `claim:sync:${user.id}` : `claim:${tokenHash}`,
    content: claimAccountMail({ name: user.displayName, link, validDays: CLAIM_TTL_MS / 86_400_000, reason }),
  }));

export const resetLinkWrites = (env: Env, db: Db, user: Account, now = new Date()) =>
  linkWrites(env, db, user, 'reset', now, (link, tokenHash) => ({
    idempotencyKey: `reset:${tokenHash}`,
    content: passwordResetMail({ name: user.displayName, link, validMinutes: RESET_TTL_MS / 60_000 }),
  }));
