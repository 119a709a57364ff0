/**
 * Queuing mail: one `email_outbox` row per message and recipient, inserted in the same D1 batch as what
 * the mail is about (a claim token, an appointment), so a message exists exactly when its reason does.
 * The content (links included) is sealed at rest (lib/encryption.ts, purpose 'email-outbox', the row id
 * as context) and opened only by the drain (mail/drain.ts) when it sends. `kickOutbox` wakes the
 * MailOutbox Durable Object, which delivers.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { and, eq, inArray, not, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Db } from '../db/client';
import { emailOutbox, type MAIL_KINDS, type MAIL_TEMPLATES } from '../db/schema';
import { decryptText, encryptText } from '../lib/encryption';
import type { MailContent } from './templates';

export interface QueuedMail {
  to: { email: string; userId?: string };
  template: (typeof MAIL_TEMPLATES)[number];
  kind: (typeof MAIL_KINDS)[number];
  /** What the message is, once per recipient (e.g. `reset:<tokenId>`): the same key again queues nothing. */
  idempotencyKey: string;
  /** What it is about, e.g. `appointment:<id>`, so its unsent reminders can be cancelled together. */
  ref?: string;
  /** Not sent before this (a reminder's time); default now. */
  notBefore?: Date;
  /** Not sent after this: when what it offers stops working. */
  expiresAt: Date;
  content: MailContent;
}

interface SealedBody {
  v: 1;
  text: string;
  html: string;
  attachments?: MailContent['attachments'];
}

/**
 * The insert for `mail`, content sealed: spread it into the same `db.batch` as what the mail is about.
 * A one-element array, because a query builder is thenable: an async function returning it bare would
 * run it on its own, outside the batch.
 */
export async function outboxInsert(env: Env, db: Db, mail: QueuedMail): Promise<[BatchItem<'sqlite'>]> {
  const id = crypto.randomUUID();
  const { subject, text, html, attachments } = mail.content;
  const body: SealedBody = { v: 1, text, html, ...(attachments ? { attachments } : {}) };
  const insert = db
    .insert(emailOutbox)
    .values({
      id,
      idempotencyKey: mail.idempotencyKey,
      toEmail: mail.to.email,
      userId: mail.to.userId ?? null,
      template: mail.template,
      kind: mail.kind,
      ref: mail.ref ?? null,
      subject,
      bodySealed: await encryptText(env, 'email-outbox', JSON.stringify(body), id),
      nextAttemptAt: mail.notBefore ?? new Date(),
      expiresAt: mail.expiresAt,
    })
    .onConflictDoNothing({ target: emailOutbox.idempotencyKey });
  return [insert];
}

/** A row's content, opened for sending. Throws DecryptionError if it does not open. */
export async function openOutboxRow(env: Env, row: { id: string; subject: string; bodySealed: string }): Promise<MailContent> {
  const body = JSON.parse(await decryptText(env, 'email-outbox', row.bodySealed, row.id)) as SealedBody;
  return { subject: row.subject, text: body.text, html: body.html, ...(body.attachments ? { attachments: body.attachments } : {}) };
}

export function mailOutbox(env: Env): DurableObjectStub<import('../mail-outbox').MailOutbox> {
  return env.MAIL_OUTBOX.get(env.MAIL_OUTBOX.idFromName('outbox'));
}

/**
 * Wakes the sender (now, or at `at` for a reminder) after the response, without holding it up. A lost
 * kick costs little: the next kick, and the nightly cron, drain everything that is due.
 */
export function kickOutbox(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, at?: Date): void {
  ctx.waitUntil(
    mailOutbox(env)
      .kick(at?.getTime())
      .catch((err: unknown) => log('error', 'mail outbox kick failed', describeError(err))),
  );
}

/**
 * For the end of a batch that queued mail alongside a conditional change: cancels the rows with these
 * keys (if still queued) unless `happened` holds, so a message stands exactly when its reason does. Keys
 * must be unique to this attempt, or the guard of an attempt that changed nothing would cancel another's.
 */
export function mailUnless(db: Db, keys: string[], happened: SQL) {
  return db
    .update(emailOutbox)
    .set({ state: 'cancelled', bodySealed: '' })
    .where(and(inArray(emailOutbox.idempotencyKey, keys), eq(emailOutbox.state, 'queued'), not(happened)));
}
