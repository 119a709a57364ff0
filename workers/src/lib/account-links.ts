/**
 * The emailed links that let a person in without a password: a claim link (set the first password of an
 * account the Skool sync made) and a password reset link. Each is a random token stored only as its
 * SHA-256, single use, and its email, queued in the same batch as the token row.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import { claimTokens, passwordResetTokens } from '../db/schema';
import { outboxInsert } from '../mail/outbox';
import { claimAccountMail, passwordResetMail } from '../mail/templates';
import { randomToken, sha256Hex } from './crypto';

export const CLAIM_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const RESET_TTL_MS = 30 * 60 * 1000;

/** At least one statement: what `db.batch` takes. */
type Writes = [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]];

interface Account {
  id: string;
  email: string;
  displayName: string;
}

/** The claim token row and its email; `reason` says why in the email's words. */
export async function claimLinkWrites(env: Env, db: Db, user: Account, reason: 'sync' | 'request', now = new Date()): Promise<Writes> {
  const token = randomToken(32);
  const tokenHash = await sha256Hex(token);
  const expiresAt = new Date(now.getTime() + CLAIM_TTL_MS);
  const link = `${env.PUBLIC_APP_URL}/claim?token=${encodeURIComponent(token)}`;
  return [
    db.insert(claimTokens).values({ tokenHash, userId: user.id, expiresAt, createdAt: now }),
    ...(await outboxInsert(env, db, {
      to: { email: user.email, userId: user.id },
      template: 'claim-account',
      kind: 'security',
      // Sync: once per account ever, however many nights it is seen unclaimed. Request: once per link.
      idempotencyKey: reason === 'sync' ? `claim:sync:${user.id}` : `claim:${tokenHash}`,
      notBefore: now,
      expiresAt,
      content: claimAccountMail({ name: user.displayName, link, validDays: CLAIM_TTL_MS / 86_400_000, reason }),
    })),
  ];
}

export async function resetLinkWrites(env: Env, db: Db, user: Account, now = new Date()): Promise<Writes> {
  const token = randomToken(32);
  const tokenHash = await sha256Hex(token);
  const expiresAt = new Date(now.getTime() + RESET_TTL_MS);
  const link = `${env.PUBLIC_APP_URL}/reset?token=${encodeURIComponent(token)}`;
  return [
    db.insert(passwordResetTokens).values({ tokenHash, userId: user.id, expiresAt, createdAt: now }),
    ...(await outboxInsert(env, db, {
      to: { email: user.email, userId: user.id },
      template: 'password-reset',
      kind: 'security',
      idempotencyKey: `reset:${tokenHash}`,
      notBefore: now,
      expiresAt,
      content: passwordResetMail({ name: user.displayName, link, validMinutes: RESET_TTL_MS / 60_000 }),
    })),
  ];
}
