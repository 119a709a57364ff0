import { env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { captureLogs, testDb } from '../../test/helpers';
import { countByMessageId, mailTo } from '../../test/mailpit';
import { emailOutbox } from '../db/schema';
import { mailConfig } from './config';
import { backoffMs, drainOutbox, LEASE_MS, MAX_ATTEMPTS } from './drain';
import { outboxInsert } from './outbox';
import { claimAccountMail } from './templates';

// The rows here are due at T, years ahead, and every drain runs at `now: T…`: the MailOutbox Durable
// Object (woken by other tests' requests, on the real clock) never takes them first.
const T = new Date('2031-01-06T09:00:00Z');
const at = (ms: number) => new Date(T.getTime() + ms);
const DAY = 86_400_000;

const address = (prefix = 'drain') => `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`;
const link = () => `https://hybrid.coach/claim?token=${crypto.randomUUID()}`;

async function queue(to: string, opts: { link?: string; expiresAt?: Date } = {}) {
  const db = testDb();
  await db.batch(
    await outboxInsert(env, db, {
      to: { email: to },
      template: 'claim-account',
      kind: 'security',
      idempotencyKey: `test:${to}`,
      notBefore: T,
      expiresAt: opts.expiresAt ?? at(7 * DAY),
      content: claimAccountMail({ name: 'Riley Adams', link: opts.link ?? link(), validDays: 7, reason: 'request' }),
    }),
  );
  const row = await db.select().from(emailOutbox).where(eq(emailOutbox.toEmail, to)).get();
  if (!row) throw new Error('not queued');
  return row;
}
const rowOf = (id: string) => testDb().select().from(emailOutbox).where(eq(emailOutbox.id, id)).get();
/** The rows' own drain: only this test's rows are due at these instants. */
const drain = (now: Date, config = mailConfig(env)) => drainOutbox(env, testDb(), { now, config, timeoutMs: 5_000 });
const closedPort = { ...mailConfig(env), port: 9 };

describe('the outbox drain, against a real SMTP server (Mailpit)', () => {
  it('delivers a message once, with a text and an HTML part, its Message-ID and a footer', async () => {
    const to = address();
    const sent = link();
    const row = await queue(to, { link: sent });
    const result = await drain(T);
    expect(result.sent).toBeGreaterThanOrEqual(1);
    const [mail] = await mailTo(to);
    expect(mail?.Subject).toBe('Set your Hybrid Coach password');
    expect(mail?.From).toMatchObject({ Name: 'Hybrid Coach', Address: 'no-reply@hybrid.coach' });
    expect(mail?.Text).toContain(`\n${sent}\n`);
    expect(mail?.HTML).toContain(`href="${sent}"`);
    expect(mail?.Text).toContain('You get this email because');
    expect(mail?.MessageID).toBe(`${row.id}@hybrid.coach`);
    // AUTH happened with the configured account.
    expect(mail?.Username).toBe('test-smtp-user');
    // Delivered rows keep no content, and a second drain sends nothing more.
    expect(await rowOf(row.id)).toMatchObject({ state: 'sent', bodySealed: '', attempts: 1, sentAt: T });
    await drain(at(60_000));
    expect(await countByMessageId(`${row.id}@hybrid.coach`)).toBe(1);
  });

  it('keeps mail while the server is down, then delivers each message exactly once when it is back', async () => {
    const rows = [await queue(address('down')), await queue(address('down'))];
    const down = await drain(T, closedPort);
    expect(down).toMatchObject({ sent: 0, retried: 2 });
    for (const r of rows) {
      const after = await rowOf(r.id);
      expect(after).toMatchObject({ state: 'queued', attempts: 1 });
      expect(after?.lastError).toMatch(/^connect/);
      expect(after!.nextAttemptAt.getTime()).toBeGreaterThan(T.getTime());
    }
    // Still down at the next attempt: backoff grows.
    const retryAt = (await rowOf(rows[0]!.id))!.nextAttemptAt;
    await drain(at(10 * 60_000), closedPort);
    const second = await rowOf(rows[0]!.id);
    expect(second?.attempts).toBe(2);
    expect(second!.nextAttemptAt.getTime() - at(10 * 60_000).getTime()).toBeGreaterThan(retryAt.getTime() - T.getTime());
    // Back up: the next drain past the backoff delivers both, once.
    await drain(at(60 * 60_000));
    for (const r of rows) {
      expect(await rowOf(r.id)).toMatchObject({ state: 'sent', attempts: 3 });
      await mailTo(r.toEmail);
      expect(await countByMessageId(`${r.id}@hybrid.coach`)).toBe(1);
    }
    await drain(at(2 * 60 * 60_000));
    for (const r of rows) expect(await countByMessageId(`${r.id}@hybrid.coach`)).toBe(1);
  });

  it('marks a permanently rejected message dead after one attempt, and still sends the others', async () => {
    const bounced = await queue(address('bounce'));
    const fine = await queue(address('fine'));
    const lines = await captureLogs(async () => {
      await drain(T);
    });
    const dead = await rowOf(bounced.id);
    expect(dead).toMatchObject({ state: 'dead', attempts: 1, bodySealed: '', deadAt: T });
    expect(dead?.lastError).toMatch(/^rcpt 550/);
    expect(await rowOf(fine.id)).toMatchObject({ state: 'sent' });
    await mailTo(fine.toEmail);
    // The log names the row, never the address.
    const deadLine = lines.find((l) => l.includes('"mail dead"') && l.includes(bounced.id));
    expect(deadLine).toBeDefined();
    for (const l of lines) expect(l).not.toContain(bounced.toEmail);
  });

  it('gives up after MAX_ATTEMPTS tries that may pass, and logs it', async () => {
    const row = await queue(address('gives-up'));
    let now = T;
    for (let i = 0; i < MAX_ATTEMPTS - 1; i++) {
      await drain(now, closedPort);
      now = new Date((await rowOf(row.id))!.nextAttemptAt.getTime());
    }
    expect(await rowOf(row.id)).toMatchObject({ state: 'queued', attempts: MAX_ATTEMPTS - 1 });
    await drain(now, closedPort);
    const dead = await rowOf(row.id);
    expect(dead).toMatchObject({ state: 'dead', attempts: MAX_ATTEMPTS });
    expect(dead?.lastError).toContain(`after ${MAX_ATTEMPTS} attempts`);
  });

  it('never resends a message whose send was interrupted (its lease ran out): it is dead', async () => {
    const row = await queue(address('stale'));
    await testDb()
      .update(emailOutbox)
      .set({ state: 'sending', attempts: 1, lockedUntil: at(LEASE_MS) })
      .where(eq(emailOutbox.id, row.id));
    await drain(at(LEASE_MS - 1000));
    expect(await rowOf(row.id)).toMatchObject({ state: 'sending' });
    await drain(at(LEASE_MS + 1000));
    expect(await rowOf(row.id)).toMatchObject({ state: 'dead', bodySealed: '' });
    expect(await countByMessageId(`${row.id}@hybrid.coach`)).toBe(0);
  });

  it('does not send mail whose offer has expired', async () => {
    const row = await queue(address('late'), { expiresAt: at(60_000) });
    await drain(at(60_000));
    expect(await rowOf(row.id)).toMatchObject({ state: 'expired', bodySealed: '' });
    expect(await countByMessageId(`${row.id}@hybrid.coach`)).toBe(0);
  });

  it('sends each message once when two drains run at the same moment', async () => {
    const rows = await Promise.all([1, 2, 3, 4].map(() => queue(address('race'))));
    await Promise.all([drain(at(5)), drain(at(5))]);
    for (const r of rows) {
      await mailTo(r.toEmail);
      expect(await countByMessageId(`${r.id}@hybrid.coach`)).toBe(1);
    }
  });

  it('keeps the same message from being queued twice (its idempotency key)', async () => {
    const to = address('twice');
    await queue(to);
    await queue(to);
    expect(await testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, to)).all()).toHaveLength(1);
  });

  it('backs off exponentially, capped at an hour, with jitter', () => {
    expect(backoffMs(1, 30_000, () => 0.5)).toBe(30_000);
    expect(backoffMs(3, 30_000, () => 0.5)).toBe(120_000);
    expect(backoffMs(12, 30_000, () => 0.5)).toBe(3_600_000);
    expect(backoffMs(1, 30_000, () => 0)).toBe(24_000);
    expect(backoffMs(1, 30_000, () => 1)).toBe(36_000);
  });
});
