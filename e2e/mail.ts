/**
 * The emails the Worker sent during the e2e run, as the stack's Mailpit received them (e2e/stack.ts starts
 * it in test mode: recipients starting with `bounce` are refused with 550; chaos can fail SMTP steps).
 * Test files share it: use addresses unique to the test.
 */
import { inject } from 'vitest';
import { type Chaos, type MailMessage, mailpit, type WaitOptions } from '../shared/test/mailpit';

export type { MailMessage };

const box = () => mailpit(inject('mailpitUrl'));

/**
 * The first email to exactly `to` (and with `subject`, if given), in full (Text, HTML, Attachments,
 * MessageID...), once it has arrived; fails after `timeoutMs` (10 s) saying what did arrive for `to`.
 */
export const waitForMail = (to: string, options?: WaitOptions): Promise<MailMessage> => box().waitForMail(to, options);

/** Every email to exactly `to` so far, oldest first (summaries). */
export const listMailTo = (to: string) => box().listTo(to);

/** Every email to exactly `to` (with `subject`, if given) so far, oldest first, in full. */
export const mailsTo = async (to: string, subject?: string): Promise<MailMessage[]> => {
  const mailbox = box();
  return Promise.all((await mailbox.listTo(to, subject)).map((m) => mailbox.messageById(m.ID)));
};

/** How many emails carry this Message-ID: 1 means it was sent exactly once. */
export const countByMessageId = (messageId: string) => box().countByMessageId(messageId);

/**
 * Makes SMTP steps fail on purpose, e.g. `setChaos({ Recipient: { ErrorCode: 451, Probability: 100 } })`.
 * It holds for every email of the run until clearChaos(): only in a test file no other file's mail
 * depends on at that time.
 */
export const setChaos = (chaos: Chaos) => box().setChaos(chaos);
export const clearChaos = () => box().clearChaos();

/**
 * The first link in `text` (an email's text part) whose path is `path` (e.g. '/claim'), as a URL with its
 * query; fails, listing the links it did find, when there is none.
 */
export function linkIn(text: string, path: string): URL {
  // A sentence may end right after a link: its full stop is not part of it.
  const links = [...text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)].map((m) => new URL(m[0].replace(/[.,;:!?]+$/, '')));
  const link = links.find((u) => u.pathname === path);
  if (!link) throw new Error(`no link to ${path} in the email (links: ${links.map((u) => u.pathname).join(', ') || 'none'})`);
  return link;
}
