import { env } from 'cloudflare:test';
import { mailpit } from '../../shared/test/mailpit';

export type { MailMessage } from '../../shared/test/mailpit';

/**
 * The test Mailpit that workers/test/mailpit.global-setup.ts starts (the Worker's SMTP_HOST/SMTP_PORT send
 * to it). Test files run in parallel against it: use addresses unique to the test, never delete all.
 */
const box = mailpit(env.TEST_MAILPIT_URL);

/** The first email to exactly `address` (optionally with `subject`), in full; waits up to `timeoutMs` (10 s). */
export const mailTo = box.waitForMail;
/** Every email to exactly `address` so far, oldest first (summaries; messageById for the rest). */
export const listMailTo = box.listTo;
export const { messageById, countByMessageId, setChaos, clearChaos } = box;
