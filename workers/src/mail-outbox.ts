/**
 * The MailOutbox Durable Object: the one sender of the email outbox. Its alarm runs the drain
 * (mail/drain.ts) and sets itself for the next due message (a retry's backoff, a reminder's time), so
 * mail goes out by itself in `wrangler dev`, the e2e stack and production alike. Requests that queue
 * mail `kick` it; the nightly cron kicks it too, as a backstop for a lost kick.
 *
 * Why an alarm rather than a Queue or the cron: it runs locally with no extra product, it sends within
 * a second of a kick (a crisis email must go within a minute; the cron is at best once a minute and
 * does not fire under `wrangler dev`), and it sleeps until the next reminder. One instance serialises
 * the drains; the D1 rows' states, not the trigger, make each message go at most once.
 */

import { DurableObject } from 'cloudflare:workers';
import { describeError, log } from '@hybrid-coach/shared/log';
import { db } from './db/client';
import { MailConfigError } from './mail/config';
import { drainOutbox } from './mail/drain';

/** With mail not configured, look again this often (the rows wait, untouched). */
const CONFIG_RETRY_MS = 5 * 60_000;
/** After an unexpected failure (D1 down), the next try. */
const ERROR_RETRY_MS = 30_000;

export class MailOutbox extends DurableObject<Env> {
  /** Drain at `at` (ms; default now) unless a drain is already due sooner. */
  async kick(at: number = Date.now()): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    let next: number | null;
    try {
      const result = await drainOutbox(this.env, db(this.env));
      next = result.more ? Date.now() : (result.next?.getTime() ?? null);
      if (result.sent + result.retried + result.dead > 0) log('info', 'mail drained', { sent: result.sent, retried: result.retried, dead: result.dead });
    } catch (err) {
      next = Date.now() + (err instanceof MailConfigError ? CONFIG_RETRY_MS : ERROR_RETRY_MS);
      if (!(err instanceof MailConfigError)) log('error', 'mail drain failed', describeError(err));
    }
    if (next !== null) await this.kick(Math.max(next, Date.now()));
  }
}
