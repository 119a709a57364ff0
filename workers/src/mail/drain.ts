/**
 * Delivering the outbox, at most once per message. A row is leased (`sending`, `locked_until`) before any
 * byte goes out and becomes `sent` only after the server's 250 to the final dot. A failure that may pass
 * (4xx, a dropped connection, a timeout before the final dot) puts it back with exponential backoff, up to
 * MAX_ATTEMPTS; a permanent one (5xx) makes it dead. A row whose outcome nobody knows (no answer to the
 * final dot, or the drain died mid-send and its lease ran out) is dead too, never sent again: a message
 * lost that way can be asked for again, a message sent twice cannot be taken back.
 *
 * Logs carry the row id, template, attempts and our short error; never the address, body or subject.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { appointments, emailOutbox, users } from '../db/schema';
import { type MailConfig, MailConfigError, mailConfig } from './config';
import { buildMime } from './mime';
import { openOutboxRow } from './outbox';
import { SmtpError, type SmtpSession, withSmtp } from './smtp';

export const MAX_ATTEMPTS = 8;
/** Rows taken per pass: each pass stays short, and the alarm runs again at once while more are due. */
export const BATCH_SIZE = 20;
/** How long a `sending` lease lasts: longer than any single send can take (timeouts are 20 s a step). */
export const LEASE_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 60 * 60_000;

type Row = typeof emailOutbox.$inferSelect;

export interface DrainResult {
  sent: number;
  retried: number;
  dead: number;
  /** When the next queued row is due; null when none is left. */
  next: Date | null;
  /** More rows were due than one pass takes: run again now. */
  more: boolean;
}

export interface DrainOptions {
  now?: Date;
  /** Overrides the settings from env (tests point it at a closed port). */
  config?: MailConfig;
  timeoutMs?: number;
}

/** Backoff for the n-th failed attempt: base·2^(n−1), at most an hour, ±20 % so retries spread out. */
export function backoffMs(attempts: number, baseMs: number, random = Math.random): number {
  const raw = Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
  return Math.round(raw * (0.8 + 0.4 * random()));
}

const logFields = (row: Row) => ({
  outboxId: row.id,
  template: row.template,
  kind: row.kind,
  attempts: row.attempts,
  ...(row.userId ? { userId: row.userId } : {}),
});

async function settle(db: Db, row: Row, set: Partial<typeof emailOutbox.$inferInsert>): Promise<void> {
  await db
    .update(emailOutbox)
    .set(set)
    .where(and(eq(emailOutbox.id, row.id), eq(emailOutbox.state, 'sending')));
}

/** Final states keep no content. */
const FINAL = { bodySealed: '', lockedUntil: null } as const;

async function markDead(db: Db, row: Row, now: Date, lastError: string): Promise<void> {
  await settle(db, row, { ...FINAL, state: 'dead', deadAt: now, lastError });
  log('error', 'mail dead', { ...logFields(row), lastError });
}

/** Rows whose send may not go ahead any more: reminders turned off, an appointment no longer on. */
async function stillWanted(db: Db, rows: Row[]): Promise<Set<string>> {
  const wanted = new Set(rows.map((r) => r.id));
  const reminderUsers = rows.filter((r) => r.kind === 'reminder' && r.userId).map((r) => r.userId as string);
  if (reminderUsers.length > 0) {
    const off = await db
      .select({ id: users.id })
      .from(users)
      .where(and(inArray(users.id, reminderUsers), eq(users.emailReminders, false)))
      .all();
    const offIds = new Set(off.map((u) => u.id));
    for (const r of rows) if (r.kind === 'reminder' && r.userId && offIds.has(r.userId)) wanted.delete(r.id);
  }
  const appointmentIds = rows
    .filter((r) => r.ref?.startsWith('appointment:') && r.template === 'appointment-reminder')
    .map((r) => (r.ref as string).slice('appointment:'.length));
  if (appointmentIds.length > 0) {
    const live = await db
      .select({ id: appointments.id })
      .from(appointments)
      .where(and(inArray(appointments.id, appointmentIds), eq(appointments.status, 'SCHEDULED')))
      .all();
    const liveIds = new Set(live.map((a) => `appointment:${a.id}`));
    for (const r of rows) if (r.template === 'appointment-reminder' && r.ref && !liveIds.has(r.ref)) wanted.delete(r.id);
  }
  return wanted;
}

/** One pass: reap stale leases, expire what is too late, send what is due. */
export async function drainOutbox(env: Env, db: Db, options: DrainOptions = {}): Promise<DrainResult> {
  const now = options.now ?? new Date();
  const result: DrainResult = { sent: 0, retried: 0, dead: 0, next: null, more: false };

  // 1. A lease that ran out: the drain holding it died mid-send. Whether the server took it is unknown.
  const stale = await db
    .update(emailOutbox)
    .set({ ...FINAL, state: 'dead', deadAt: now, lastError: 'outcome unknown: the sender stopped while sending' })
    .where(and(eq(emailOutbox.state, 'sending'), lte(emailOutbox.lockedUntil, now)))
    .returning()
    .all();
  for (const row of stale) log('error', 'mail dead', { ...logFields(row), lastError: row.lastError });
  result.dead += stale.length;

  // 2. Too late to be of use (an expired link, a reminder after the appointment began).
  await db
    .update(emailOutbox)
    .set({ ...FINAL, state: 'expired' })
    .where(and(eq(emailOutbox.state, 'queued'), lte(emailOutbox.expiresAt, now)));

  let config: MailConfig;
  try {
    config = options.config ?? mailConfig(env);
  } catch (err) {
    if (!(err instanceof MailConfigError)) throw err;
    // Nothing is claimed and nothing goes dead for a setting: the rows wait until it is fixed.
    log('error', 'mail not configured', { message: err.message });
    throw err;
  }

  // 3. Claim what is due, in one statement: two drains at once never take the same row.
  const claimed = await db
    .update(emailOutbox)
    .set({ state: 'sending', lockedUntil: new Date(now.getTime() + LEASE_MS), attempts: sql`${emailOutbox.attempts} + 1` })
    .where(
      inArray(
        emailOutbox.id,
        db
          .select({ id: emailOutbox.id })
          .from(emailOutbox)
          .where(and(eq(emailOutbox.state, 'queued'), lte(emailOutbox.nextAttemptAt, now)))
          .orderBy(emailOutbox.nextAttemptAt)
          .limit(BATCH_SIZE),
      ),
    )
    .returning()
    .all();
  result.more = claimed.length === BATCH_SIZE;

  if (claimed.length > 0) {
    const wanted = await stillWanted(db, claimed);
    for (const row of claimed.filter((r) => !wanted.has(r.id))) {
      await settle(db, row, { ...FINAL, state: 'cancelled', attempts: row.attempts - 1 });
      log('info', 'mail cancelled', {
        ...logFields(row),
        reason: row.kind === 'reminder' ? 'reminders off or appointment not scheduled' : 'appointment not scheduled',
      });
    }
    await sendRows(
      db,
      claimed.filter((r) => wanted.has(r.id)),
      config,
      now,
      result,
      env,
      options.timeoutMs,
    );
  }

  const next = await db
    .select({ at: sql<number>`min(${emailOutbox.nextAttemptAt})` })
    .from(emailOutbox)
    .where(eq(emailOutbox.state, 'queued'))
    .get();
  result.next = next?.at ? new Date(next.at) : null;
  return result;
}

async function retryOrDead(db: Db, row: Row, now: Date, config: MailConfig, error: string, retryable: boolean, result: DrainResult): Promise<void> {
  if (retryable && row.attempts < MAX_ATTEMPTS) {
    const nextAttemptAt = new Date(now.getTime() + backoffMs(row.attempts, config.retryBaseMs));
    await settle(db, row, { state: 'queued', lockedUntil: null, nextAttemptAt, lastError: error });
    log('warn', 'mail retry', { ...logFields(row), lastError: error, nextAttemptAt: nextAttemptAt.toISOString() });
    result.retried++;
  } else {
    await markDead(db, row, now, retryable ? `${error} (after ${row.attempts} attempts)` : error);
    result.dead++;
  }
}

async function sendOne(env: Env, session: SmtpSession, row: Row, config: MailConfig, now: Date): Promise<void> {
  const content = await openOutboxRow(env, row);
  const message = buildMime({
    from: config.from,
    to: row.toEmail,
    subject: content.subject,
    text: content.text,
    html: content.html,
    ...(content.attachments ? { attachments: content.attachments } : {}),
    messageId: `${row.id}@${config.domain}`,
    date: now,
  });
  await session.send({ from: config.from.address, to: row.toEmail }, message);
}

async function sendRows(db: Db, rows: Row[], config: MailConfig, now: Date, result: DrainResult, env: Env, timeoutMs?: number): Promise<void> {
  let pending = rows;
  while (pending.length > 0) {
    const attempted = new Set<string>();
    try {
      await withSmtp(
        config,
        async (session) => {
          for (const row of pending) {
            attempted.add(row.id);
            try {
              await sendOne(env, session, row, config, now);
            } catch (err) {
              if (!(err instanceof SmtpError)) {
                // Our side (the body did not open, a bad header): it will not get better by trying again.
                await markDead(db, row, now, `not sendable: ${err instanceof Error ? err.name : 'error'}`);
                log('error', 'mail not sendable', { outboxId: row.id, ...describeError(err) });
                result.dead++;
                continue;
              }
              if (err.outcomeUnknown) {
                await markDead(db, row, now, `outcome unknown: ${err.summary}`);
                result.dead++;
                throw err; // the connection is in an unknown state: the rest go on a new one
              }
              await retryOrDead(db, row, now, config, err.summary, err.retryable, result);
              if (err.options.code === undefined) throw err; // the connection broke
              await session.reset();
              continue;
            }
            await settle(db, row, { ...FINAL, state: 'sent', sentAt: now, lastError: null });
            log('info', 'mail sent', logFields(row));
            result.sent++;
          }
        },
        timeoutMs ? { timeoutMs } : {},
      );
      pending = [];
    } catch (err) {
      if (attempted.size === 0) {
        // The connection itself failed (connect, greeting, TLS, AUTH): not the messages' fault, so each is
        // tried again later, whatever the reply, and dead only after MAX_ATTEMPTS.
        const summary = err instanceof SmtpError ? err.summary : 'the connection failed';
        log('warn', 'mail server unavailable', { error: summary, rows: pending.length });
        for (const row of pending) await retryOrDead(db, row, now, config, summary, true, result);
        return;
      }
      // The message that broke the connection is settled above; the rest go on a new connection.
      pending = pending.filter((r) => !attempted.has(r.id));
    }
  }
}
