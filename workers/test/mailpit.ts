import { env } from 'cloudflare:test';
import { mailpit } from '../../shared/test/mailpit';

export type { MailMessage } from '../../shared/test/mailpit';

/**
 * The test Mailpit that workers/test/mailpit.global-setup.ts starts (the Worker's SMTP_HOST/SMTP_PORT send
 * to it). Test files run in parallel against it: use addresses unique to the test, never delete all.
 */
const box = mailpit(env.TEST_MAILPIT_URL);

/** The emails to exactly `address`, oldest first, in full, once at least `count` (default 1) have come; waits up to `timeoutMs` (10 s). */
export const mailTo = (address: string, { count = 1, timeoutMs }: { count?: number; timeoutMs?: number } = {}) =>
  box.waitForCount(address, count, timeoutMs ? { timeoutMs } : {});
/** The first email to exactly `address` (optionally with `subject`), in full, waiting for it. */
export const firstMailTo = box.waitForMail;
/** Every email to exactly `address` so far, oldest first (summaries; messageById for the rest). */
export const messagesTo = box.listTo;
export const { messageById, countByMessageId, setChaos, clearChaos } = box;
