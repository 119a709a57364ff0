/**
 * The email outbox: mail is queued as a row whose body (with any link in it) is sealed at rest
 * (lib/encryption.ts, purpose 'email-outbox', the row id as context), and opened only by the sender
 * at the moment it sends. Rows go once sent or once what they offer has expired (lib/retention.ts).
 */
import type { emailOutbox } from '../db/schema';
import { decryptText, encryptText } from './encryption';

type OutboxRow = typeof emailOutbox.$inferSelect;

export interface OutgoingMail {
  toEmail: string;
  template: OutboxRow['template'];
  subject: string;
  /** The whole body; sealed before it is stored. */
  bodyText: string;
  /** When what the mail offers (its link) stops working: not sent after this, and deleted. */
  expiresAt: Date;
}

/** The outbox row for `mail`, body sealed: insert it in the same batch as what the mail offers. */
export async function outboxRow(env: Env, mail: OutgoingMail): Promise<typeof emailOutbox.$inferInsert> {
  const id = crypto.randomUUID();
  const { bodyText, ...rest } = mail;
  return { id, ...rest, bodySealed: await encryptText(env, 'email-outbox', bodyText, id) };
}

/** A queued row opened for sending: what a mail provider needs. Throws DecryptionError if it does not open. */
export async function openOutboxRow(
  env: Env,
  row: Pick<OutboxRow, 'id' | 'toEmail' | 'template' | 'subject' | 'bodySealed'>,
): Promise<{ to: string; template: OutboxRow['template']; subject: string; bodyText: string }> {
  return {
    to: row.toEmail,
    template: row.template,
    subject: row.subject,
    bodyText: await decryptText(env, 'email-outbox', row.bodySealed, row.id),
  };
}
