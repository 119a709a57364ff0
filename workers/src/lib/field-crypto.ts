/**
 * Field-level encryption for the free text the product never searches: a client's intake answers
 * (profiles.coaching_goals, profiles.symptoms) and coaches' private notes (client_notes.text).
 *
 * A value is stored in its own column as `enc:` + a value sealed by lib/encryption.ts
 * (`enc:v1.<keyId>.<iv>.<ciphertext>`): AES-256-GCM under a key derived from DATA_ENCRYPTION_KEY, the
 * key id in the value, and the row (and field) bound in as associated data, so a value copied into
 * another row or field does not open there. Same column, no new ones: a value and its key id cannot
 * drift apart, and the sweep finds values under an old key with one LIKE on the prefix.
 *
 * Values written before this release have no `enc:` prefix: they are read as they are, sealed on
 * their next write, and sealed by the nightly sweep (`sealFieldsSweep`) which also seals again, under
 * the current key, values sealed with DATA_ENCRYPTION_KEY_PREVIOUS during a rotation (docs/operations.md).
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, isNotNull, isNull, notInArray, notLike, or } from 'drizzle-orm';
import type { AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Db } from '../db/client';
import { clientNotes, type Profile, profiles } from '../db/schema';
import { currentKeyId, DecryptionError, decryptText, type EncryptionPurpose, encryptText } from './encryption';

/** The encrypted fields, each with the purpose its key is derived for. */
export type FieldName = 'profiles.coaching_goals' | 'profiles.symptoms' | 'client_notes.text';

const PURPOSE: Record<FieldName, EncryptionPurpose> = {
  'profiles.coaching_goals': 'intake-answer',
  'profiles.symptoms': 'intake-answer',
  'client_notes.text': 'coach-note',
};

export const FIELD_PREFIX = 'enc:';

/** A stored field that does not open; the message names the field and row, never the value. */
export class FieldDecryptionError extends DecryptionError {
  override name = 'FieldDecryptionError';
}

/** Whether a stored value is sealed (else it is plain text written before field encryption). */
export const isSealedField = (stored: string) => stored.startsWith(FIELD_PREFIX);

/**
 * Seals `plaintext` for `field` of the row `rowId` (a profile's user id, a note's id) under the current
 * DATA_ENCRYPTION_KEY; throws, naming the secret, when there is none (nothing is then written).
 */
export async function encryptField(env: Env, field: FieldName, rowId: string, plaintext: string): Promise<string>;
export async function encryptField(env: Env, field: FieldName, rowId: string, plaintext: string | null): Promise<string | null>;
export async function encryptField(env: Env, field: FieldName, rowId: string, plaintext: string | null): Promise<string | null> {
  if (plaintext === null) return null;
  return FIELD_PREFIX + (await encryptText(env, PURPOSE[field], plaintext, `${field}:${rowId}`));
}

/** Opens what `encryptField` sealed for the same field and row; plain (pre-encryption) values come back as they are. */
export async function decryptField(env: Env, field: FieldName, rowId: string, stored: string): Promise<string>;
export async function decryptField(env: Env, field: FieldName, rowId: string, stored: string | null): Promise<string | null>;
export async function decryptField(env: Env, field: FieldName, rowId: string, stored: string | null): Promise<string | null> {
  if (stored === null || !isSealedField(stored)) return stored;
  try {
    return await decryptText(env, PURPOSE[field], stored.slice(FIELD_PREFIX.length), `${field}:${rowId}`);
  } catch (err) {
    if (!(err instanceof DecryptionError)) throw err;
    throw new FieldDecryptionError(`${field} of row ${rowId} does not open: ${err.message}`);
  }
}

/** A profile row with its intake answers opened (for the routes, the coach's view and the AI's context). */
export async function openProfile(env: Env, row: Profile): Promise<Profile>;
export async function openProfile(env: Env, row: Profile | undefined): Promise<Profile | undefined>;
export async function openProfile(env: Env, row: Profile | undefined): Promise<Profile | undefined> {
  if (!row) return row;
  const [coachingGoals, symptoms] = await Promise.all([
    decryptField(env, 'profiles.coaching_goals', row.userId, row.coachingGoals),
    decryptField(env, 'profiles.symptoms', row.userId, row.symptoms),
  ]);
  return { ...row, coachingGoals, symptoms };
}

/** Rows the sweep seals per table and batch, and batches per run (the cron's CPU time is bounded). */
const SWEEP_BATCH = 100;
const SWEEP_MAX_BATCHES = 20;

export interface SweepResult {
  /** The key id everything is sealed under once the sweep is done (not secret: it names, not reveals). */
  keyId: string;
  profiles: number;
  notes: number;
  /**
   * Rows whose value does not open (altered, or sealed with a key that is neither current nor previous):
   * left as they are, named by id only. Never remove the previous key while this is not empty.
   */
  unreadable: string[];
  /** False when the run stopped at its limit with values left: the next run carries on. */
  done: boolean;
}

/** A sealed value under the current key, or null when the value does not open (its row is then skipped). */
async function sealAgain(env: Env, field: FieldName, rowId: string, stored: string | null, unreadable: string[]): Promise<string | null | undefined> {
  try {
    return await encryptField(env, field, rowId, await decryptField(env, field, rowId, stored));
  } catch (err) {
    if (!(err instanceof FieldDecryptionError)) throw err;
    unreadable.push(`${field}:${rowId}`);
    return undefined;
  }
}

/**
 * Seals, under the current key, every encrypted field that is plain (from before field encryption) or
 * sealed with another key (DATA_ENCRYPTION_KEY_PREVIOUS during a rotation). Each row is updated only if
 * it still holds what was read, so a write in between wins. Run by the nightly cron; idempotent.
 */
export async function sealFieldsSweep(env: Env, db: Db): Promise<SweepResult> {
  const keyId = await currentKeyId(env, 'intake-answer');
  const current = `${FIELD_PREFIX}v1.${keyId}.%`;
  const stale = (column: AnySQLiteColumn) => and(isNotNull(column), notLike(column, current));
  const result: SweepResult = { keyId, profiles: 0, notes: 0, unreadable: [], done: false };
  // Rows that did not open are not asked for again in this run.
  const skippedProfiles: string[] = [];
  const skippedNotes: string[] = [];
  for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
    const [profileRows, noteRows] = await Promise.all([
      db
        .select()
        .from(profiles)
        .where(and(or(stale(profiles.coachingGoals), stale(profiles.symptoms)), notInArray(profiles.id, skippedProfiles)))
        .limit(SWEEP_BATCH)
        .all(),
      db
        .select({ id: clientNotes.id, text: clientNotes.text })
        .from(clientNotes)
        .where(and(stale(clientNotes.text), notInArray(clientNotes.id, skippedNotes)))
        .limit(SWEEP_BATCH)
        .all(),
    ]);
    if (profileRows.length === 0 && noteRows.length === 0) return { ...result, done: true };
    // Sealed first, then built: a drizzle query is thenable, so an async map returning one would run it.
    const sealedProfiles = await Promise.all(
      profileRows.map(async (row) => ({
        row,
        coachingGoals: await sealAgain(env, 'profiles.coaching_goals', row.userId, row.coachingGoals, result.unreadable),
        symptoms: await sealAgain(env, 'profiles.symptoms', row.userId, row.symptoms, result.unreadable),
      })),
    );
    const sealedNotes = await Promise.all(
      noteRows.map(async (row) => ({ row, text: await sealAgain(env, 'client_notes.text', row.id, row.text, result.unreadable) })),
    );
    const writes = [
      ...sealedProfiles.flatMap(({ row, coachingGoals, symptoms }) => {
        if (coachingGoals === undefined || symptoms === undefined) {
          skippedProfiles.push(row.id);
          return [];
        }
        result.profiles += 1;
        return [
          db
            .update(profiles)
            .set({ coachingGoals, symptoms })
            .where(and(eq(profiles.id, row.id), sameAs(profiles.coachingGoals, row.coachingGoals), sameAs(profiles.symptoms, row.symptoms))),
        ];
      }),
      ...sealedNotes.flatMap(({ row, text }) => {
        if (!text) {
          skippedNotes.push(row.id);
          return [];
        }
        result.notes += 1;
        return [
          db
            .update(clientNotes)
            .set({ text })
            .where(and(eq(clientNotes.id, row.id), eq(clientNotes.text, row.text))),
        ];
      }),
    ];
    const [first, ...rest] = writes;
    if (first) await db.batch([first, ...rest]);
  }
  return result;
}

/** The column still holds what the sweep read (a write in between wins). */
const sameAs = (column: AnySQLiteColumn, value: string | null) => (value === null ? isNull(column) : eq(column, value));

/** The cron's step: the sweep, logged with counts only (never a value). */
export async function runFieldSweep(env: Env, db: Db): Promise<void> {
  try {
    const swept = await sealFieldsSweep(env, db);
    log(swept.unreadable.length > 0 ? 'error' : 'info', 'field encryption sweep', { ...swept });
  } catch (err) {
    log('error', 'field encryption sweep failed', describeError(err));
  }
}
