/**
 * Staff two-step sign-in, the parts with I/O: TOTP secrets (RFC 6238, by `otpauth`) sealed at rest,
 * codes accepted once each, recovery codes kept only as hashes, the per-account limit on wrong codes,
 * and the challenge that stands between a right password and a grant. The rules are in shared/src/mfa.ts.
 */

import { MFA_LIMITS, normalizeRecoveryCode, normalizeTotpCode, RECOVERY_CODE_COUNT, TOTP } from '@hybrid-coach/shared/mfa';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { Secret, TOTP as Totp } from 'otpauth';
import type { AppEnv } from '../app-env';
import type { Db } from '../db/client';
import { mfaChallenges, mfaRecoveryCodes, staffMfa } from '../db/schema';
import { rateLimit } from '../rate-limiter';
import { randomToken, sha256Hex } from './crypto';
import { decryptText, encryptText } from './encryption';
import { AppError } from './errors';
import { bindBrowser, presentedBinding } from './login-binding';

/** MFA_REQUIRED_FOR_COACHES (wrangler.toml): "true" makes every coach enrol at their next sign-in. */
export const requiredForCoaches = (env: Env): boolean => env.MFA_REQUIRED_FOR_COACHES === 'true';

// ---- TOTP secrets and codes ------------------------------------------------------------------

const totpOf = (secretBase32: string, label = 'Hybrid Coach') =>
  new Totp({
    issuer: TOTP.issuer,
    label,
    algorithm: TOTP.algorithm,
    digits: TOTP.digits,
    period: TOTP.periodSeconds,
    secret: Secret.fromBase32(secretBase32),
  });

/** The `otpauth://totp/...` URI an authenticator app reads from the QR code. */
const otpauthUri = (secretBase32: string, email: string): string => totpOf(secretBase32, email).toString();

/** Sealed for this user's row: the user id is bound in, so a secret copied to another row does not open. */
const sealSecret = (env: Env, userId: string, secretBase32: string) => encryptText(env, 'mfa-secret', secretBase32, userId);
const openSecret = (env: Env, userId: string, sealed: string) => decryptText(env, 'mfa-secret', sealed, userId);

/** The time step a code is good for, if it is one of this secret's within the window; else null. */
export function totpStep(secretBase32: string, typed: string, now = Date.now()): number | null {
  const token = normalizeTotpCode(typed);
  if (!/^\d{6}$/.test(token)) return null;
  const totp = totpOf(secretBase32);
  const delta = totp.validate({ token, timestamp: now, window: TOTP.window });
  return delta === null ? null : totp.counter({ timestamp: now }) + delta;
}

/** Whether the user has MFA on (a confirmed secret). */
export async function mfaEnabled(db: Db, userId: string): Promise<boolean> {
  const row = await db.select({ enabledAt: staffMfa.enabledAt }).from(staffMfa).where(eq(staffMfa.userId, userId)).get();
  return Boolean(row?.enabledAt);
}

/**
 * Checks a TOTP code against the secret in use and records its step, so the same code (or an older
 * one) is never accepted again: `ok`, `wrong` (also when MFA is off), or `replayed`.
 */
export async function checkTotp(env: Env, db: Db, userId: string, code: string): Promise<'ok' | 'wrong' | 'replayed'> {
  const row = await db.select({ secretSealed: staffMfa.secretSealed }).from(staffMfa).where(eq(staffMfa.userId, userId)).get();
  const step = row?.secretSealed ? totpStep(await openSecret(env, userId, row.secretSealed), code) : null;
  if (step === null) return 'wrong';
  // One conditional UPDATE: of two requests with the same code, exactly one moves the step on.
  const moved = await db
    .update(staffMfa)
    .set({ lastUsedStep: step })
    .where(and(eq(staffMfa.userId, userId), sql`(${staffMfa.lastUsedStep} IS NULL OR ${staffMfa.lastUsedStep} < ${step})`))
    .returning({ userId: staffMfa.userId })
    .get();
  return moved ? 'ok' : 'replayed';
}

/** What proves the person at the keyboard holds the second factor: a current code, or one recovery code. */
export type Proof = { code: string; recoveryCode?: undefined } | { recoveryCode: string; code?: undefined };

/**
 * Checks a proof; a recovery code is spent (each works once), and `recoveryCodesLeft` then says how
 * many remain.
 */
export async function checkProof(
  env: Env,
  db: Db,
  userId: string,
  proof: Proof,
): Promise<{ outcome: 'ok' | 'wrong' | 'replayed'; recoveryCodesLeft?: number }> {
  if (proof.code !== undefined) return { outcome: await checkTotp(env, db, userId, proof.code) };
  if (!(await mfaEnabled(db, userId))) return { outcome: 'wrong' };
  const left = await spendRecoveryCode(db, userId, proof.recoveryCode);
  return left === null ? { outcome: 'wrong' } : { outcome: 'ok', recoveryCodesLeft: left };
}

// ---- Enrolment ---------------------------------------------------------------------------------

/**
 * Starts setting up an authenticator app: a new secret, kept pending (sealed) beside the one in use,
 * if any, until a first code confirms it. Answers the secret (shown this once) and its otpauth URI.
 */
export async function startEnrolment(env: Env, db: Db, user: { id: string; email: string }) {
  const secret = new Secret({ size: TOTP.secretBytes }).base32;
  const pendingSecretSealed = await sealSecret(env, user.id, secret);
  await db
    .insert(staffMfa)
    .values({ userId: user.id, pendingSecretSealed })
    .onConflictDoUpdate({ target: staffMfa.userId, set: { pendingSecretSealed, updatedAt: new Date() } });
  return { secret, otpauthUri: otpauthUri(secret, user.email) };
}

/**
 * Confirms the pending secret with a first code from it: it becomes the secret in use (MFA on, or
 * moved to a new app) and a fresh set of recovery codes replaces the old, in one batch. Answers
 * `wrong`, `none` (nothing pending, or another request confirmed it first), or the recovery codes
 * to show once.
 */
export async function confirmEnrolment(
  env: Env,
  db: Db,
  userId: string,
  code: string,
): Promise<{ outcome: 'wrong' } | { outcome: 'none' } | { outcome: 'ok'; recoveryCodes: string[]; replaced: boolean }> {
  const row = await db.select().from(staffMfa).where(eq(staffMfa.userId, userId)).get();
  const pending = row?.pendingSecretSealed;
  if (!row || !pending) return { outcome: 'none' };
  const step = totpStep(await openSecret(env, userId, pending), code);
  if (step === null) return { outcome: 'wrong' };
  const now = new Date();
  const recovery = await replaceRecoveryCodes(db, userId, pending);
  const [swapped] = await db.batch([
    // Only while this very secret is the pending one: of two confirmations, one wins.
    db
      .update(staffMfa)
      .set({ secretSealed: pending, pendingSecretSealed: null, enabledAt: row.enabledAt ?? now, lastUsedStep: step, updatedAt: now })
      .where(and(eq(staffMfa.userId, userId), eq(staffMfa.pendingSecretSealed, pending)))
      .returning({ userId: staffMfa.userId }),
    ...recovery.writes,
  ]);
  if (swapped.length === 0) return { outcome: 'none' };
  return { outcome: 'ok', recoveryCodes: recovery.codes, replaced: Boolean(row.enabledAt) };
}

/** Turns MFA off: the secret and every recovery code go. */
export async function removeMfa(db: Db, userId: string): Promise<void> {
  await db.batch([db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId)), db.delete(staffMfa).where(eq(staffMfa.userId, userId))]);
}

// ---- Recovery codes ----------------------------------------------------------------------------

const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A recovery code as shown: 16 base32 characters (80 random bits) in groups of four. */
function newRecoveryCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // 32 letters into 256 values: each byte modulo 32 is unbiased.
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % 32]).join('');
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}

/** The stored form of a recovery code: SHA-256 of the user id and the code (80 random bits need no slow hash). */
const recoveryCodeHash = (userId: string, code: string) => sha256Hex(`${userId}:${normalizeRecoveryCode(code)}`);

/**
 * A fresh set of recovery codes: the codes to show once, and the two statements (for a batch) that
 * replace the user's old set, only while `secretSealed` is the secret in use, so a batch whose swap
 * to that secret did not happen changes no recovery code either.
 */
async function replaceRecoveryCodes(db: Db, userId: string, secretSealed: string) {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const hashes = await Promise.all(codes.map((code) => recoveryCodeHash(userId, code)));
  const stillInUse = sql`EXISTS (SELECT 1 FROM staff_mfa WHERE user_id = ${userId} AND secret_sealed = ${secretSealed})`;
  const rows = sql.join(
    hashes.map((hash) => sql`(${crypto.randomUUID()}, ${hash})`),
    sql`, `,
  );
  return {
    codes,
    writes: [
      db.delete(mfaRecoveryCodes).where(and(eq(mfaRecoveryCodes.userId, userId), stillInUse)),
      // drizzle inserts a SELECT into every column in the schema's order: id, user_id, code_hash, used_at, created_at.
      db.insert(mfaRecoveryCodes).select(sql`SELECT column1, ${userId}, column2, NULL, ${Date.now()} FROM (VALUES ${rows}) WHERE ${stillInUse}`),
    ] as const,
  };
}

/** A new set of recovery codes for a user with MFA on, replacing all the old ones; null when MFA is off. */
export async function regenerateRecoveryCodes(db: Db, userId: string): Promise<string[] | null> {
  const row = await db.select({ secretSealed: staffMfa.secretSealed }).from(staffMfa).where(eq(staffMfa.userId, userId)).get();
  if (!row?.secretSealed) return null;
  const recovery = await replaceRecoveryCodes(db, userId, row.secretSealed);
  await db.batch([...recovery.writes]);
  return recovery.codes;
}

/** Spends one recovery code if it is one of the user's unused ones; answers how many are left, or null. */
async function spendRecoveryCode(db: Db, userId: string, code: string): Promise<number | null> {
  const normalized = normalizeRecoveryCode(code);
  if (!/^[a-z2-7]{16}$/.test(normalized)) return null;
  const spent = await db
    .update(mfaRecoveryCodes)
    .set({ usedAt: new Date() })
    .where(and(eq(mfaRecoveryCodes.userId, userId), eq(mfaRecoveryCodes.codeHash, await recoveryCodeHash(userId, normalized)), isNull(mfaRecoveryCodes.usedAt)))
    .returning({ id: mfaRecoveryCodes.id })
    .get();
  return spent ? recoveryCodesLeft(db, userId) : null;
}

export async function recoveryCodesLeft(db: Db, userId: string): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(mfaRecoveryCodes)
    .where(and(eq(mfaRecoveryCodes.userId, userId), isNull(mfaRecoveryCodes.usedAt)))
    .get();
  return row?.n ?? 0;
}

// ---- The limit on wrong codes ------------------------------------------------------------------

/** A code attempt the account limit let through: say how it went, so only wrong codes keep counting. */
export interface CodeAttempt {
  succeeded(): Promise<void>;
}

/**
 * Counts one code attempt against the account's limit (MFA_LIMITS: wrong codes per account, from
 * anywhere, at sign-in and in settings) before the code is checked; a right code is taken back.
 * Past the limit: 429 with Retry-After.
 */
export async function startCodeAttempt(env: Env, userId: string): Promise<CodeAttempt> {
  const key = `mfa:account:${userId}`;
  const result = await rateLimit(env, key, MFA_LIMITS.failuresPerAccount, MFA_LIMITS.windowMs);
  if (!result.allowed) {
    throw new AppError('RATE_LIMITED', 'Too many wrong codes. Try again later.', {
      retryAfterSeconds: result.retryAfterSeconds,
      details: { retryAfterSeconds: result.retryAfterSeconds },
    });
  }
  const at = result.at;
  return {
    succeeded: async () => {
      if (at !== undefined) await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).release(at);
    },
  };
}

/** The refusal of a wrong (or reused) code; at sign-in, with the tries the challenge has left. */
export function wrongCode(outcome: 'wrong' | 'replayed', attemptsLeft?: number): AppError {
  const extra = attemptsLeft === undefined ? {} : { details: { attemptsLeft } };
  if (attemptsLeft === 0) {
    return new AppError('UNAUTHORIZED', 'That code is not right, and this sign-in has had too many wrong codes. Sign in again.', extra);
  }
  if (outcome === 'replayed') {
    return new AppError('UNAUTHORIZED', 'That code has been used already. Wait for the next code in your authenticator app.', extra);
  }
  return new AppError('UNAUTHORIZED', 'That code is not right. Check your authenticator app and try again.', extra);
}

// ---- The challenge between password and grant --------------------------------------------------

export type ChallengePurpose = (typeof mfaChallenges.$inferSelect)['purpose'];

/**
 * A new challenge for this user, bound to the browser asking (the same `__Host-hc_login` cookie the
 * grant will be bound to): its value for the answer, when it expires, and the row to write.
 */
export async function prepareChallenge(c: Context<AppEnv>, db: Db, userId: string, purpose: ChallengePurpose) {
  const value = randomToken(32);
  const binding = bindBrowser(c);
  const ttl = purpose === 'enrol' ? MFA_LIMITS.enrolChallengeTtlMs : MFA_LIMITS.verifyChallengeTtlMs;
  const expiresAt = new Date(Date.now() + ttl);
  const write = db.insert(mfaChallenges).values({
    challengeHash: await sha256Hex(value),
    bindingHash: await sha256Hex(binding),
    userId,
    purpose,
    expiresAt,
  });
  return { value, expiresAt, write };
}

const challengeGone = () => new AppError('UNAUTHORIZED', 'This sign-in has expired or was already used. Sign in again.');

/**
 * The live challenge `value` names, for `purpose`, from the browser it was made for; else 401 (the
 * same answer whether it is unknown, used, expired, for the other purpose, or from another browser).
 */
export async function openChallenge(c: Context<AppEnv>, db: Db, value: string, purpose: ChallengePurpose) {
  const binding = presentedBinding(c);
  if (!binding) throw challengeGone();
  const row = await db
    .select()
    .from(mfaChallenges)
    .where(
      and(
        eq(mfaChallenges.challengeHash, await sha256Hex(value)),
        eq(mfaChallenges.bindingHash, await sha256Hex(binding)),
        eq(mfaChallenges.purpose, purpose),
        isNull(mfaChallenges.usedAt),
        gt(mfaChallenges.expiresAt, new Date()),
      ),
    )
    .get();
  if (!row) throw challengeGone();
  return row;
}

/**
 * Takes one code attempt from the challenge; answers the attempts left after this one, or 401 once
 * it has had its MFA_LIMITS.attemptsPerChallenge (the password must be given again).
 */
export async function spendChallengeAttempt(db: Db, challengeId: string): Promise<number> {
  const row = await db
    .update(mfaChallenges)
    .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
    .where(and(eq(mfaChallenges.id, challengeId), isNull(mfaChallenges.usedAt), lt(mfaChallenges.attempts, MFA_LIMITS.attemptsPerChallenge)))
    .returning({ attempts: mfaChallenges.attempts })
    .get();
  if (!row) throw new AppError('UNAUTHORIZED', 'This sign-in has had too many wrong codes. Sign in again.');
  return MFA_LIMITS.attemptsPerChallenge - row.attempts;
}

/** Marks the challenge used (once: of two requests, one wins); 401 for the other. */
export async function useChallenge(db: Db, challengeId: string): Promise<void> {
  const used = await db
    .update(mfaChallenges)
    .set({ usedAt: new Date() })
    .where(and(eq(mfaChallenges.id, challengeId), isNull(mfaChallenges.usedAt)))
    .returning({ id: mfaChallenges.id })
    .get();
  if (!used) throw challengeGone();
}
