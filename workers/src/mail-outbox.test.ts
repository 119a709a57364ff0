import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogs, testDb } from '../test/helpers';
import { mailTo } from '../test/mailpit';
import { emailOutbox } from './db/schema';
import { outboxInsert } from './mail/outbox';
import { passwordResetMail } from './mail/templates';
import type { MailOutbox } from './mail-outbox';

// Its own instance (not the app's 'outbox'), so the alarm is this test's alone.
const stub = () => env.MAIL_OUTBOX.get(env.MAIL_OUTBOX.idFromName(`test-${crypto.randomUUID()}`)) as DurableObjectStub<MailOutbox>;
const alarmOf = (s: DurableObjectStub<MailOutbox>) => runInDurableObject(s, (_o, state) => state.storage.getAlarm());

async function queue(to: string, notBefore: Date) {
  const db = testDb();
  await db.batch(
    await outboxInsert(env, db, {
      to: { email: to },
      template: 'password-reset',
      kind: 'security',
      idempotencyKey: `outbox-test:${to}`,
      notBefore,
      expiresAt: new Date(notBefore.getTime() + 30 * 60_000),
      content: passwordResetMail({ name: 'Sam', link: 'https://hybrid.coach/reset?token=x', validMinutes: 30 }),
    }),
  );
}

let stubs: DurableObjectStub<MailOutbox>[] = [];
afterEach(async () => {
  // Alarms outlive a test in the pool: leave none behind.
  for (const s of stubs) await runInDurableObject(s, (_o, state) => state.storage.deleteAlarm());
  stubs = [];
});

describe('the MailOutbox Durable Object', () => {
  it('a kick sets the alarm; an earlier kick moves it sooner, a later one does not', async () => {
    const s = stub();
    stubs.push(s);
    const later = Date.now() + 3_600_000;
    await s.kick(later);
    expect(await alarmOf(s)).toBe(later);
    await s.kick(later + 60_000);
    expect(await alarmOf(s)).toBe(later);
    await s.kick(later - 60_000);
    expect(await alarmOf(s)).toBe(later - 60_000);
  });

  it('its alarm delivers what is due and sets itself for the next queued message', async () => {
    const s = stub();
    stubs.push(s);
    const now = `due-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const soon = new Date(Date.now() + 10 * 60_000);
    await queue(now, new Date(Date.now() - 1000));
    await queue(`later-${crypto.randomUUID().slice(0, 8)}@example.com`, soon);
    // Set an hour out so that it is this test that runs it, now.
    await s.kick(Date.now() + 3_600_000);
    expect(await runDurableObjectAlarm(s)).toBe(true);
    await mailTo(now);
    // Set for the next due row: ours at `soon`, or sooner when another test has mail queued.
    const next = await alarmOf(s);
    expect(next).not.toBeNull();
    expect(next!).toBeLessThanOrEqual(soon.getTime());
    await testDb().delete(emailOutbox).where(eq(emailOutbox.nextAttemptAt, soon));
  });

  it('with mail not configured: logs it, leaves the rows queued, and looks again later', async () => {
    const s = stub();
    stubs.push(s);
    const to = `unconfigured-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await queue(to, new Date(Date.now() + 7 * 86_400_000));
    const lines = await captureLogs(async () => {
      await runInDurableObject(s, async (o: MailOutbox) => {
        // The instance's env is the Worker's: break it for this call only.
        const env = (o as unknown as { env: Env }).env;
        const saved = env.SMTP_HOST;
        env.SMTP_HOST = '';
        try {
          await o.alarm();
        } finally {
          env.SMTP_HOST = saved;
        }
      });
    });
    expect(lines.some((l) => l.includes('mail not configured') && l.includes('SMTP_HOST is not set'))).toBe(true);
    expect(await testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, to)).get()).toMatchObject({ state: 'queued', attempts: 0 });
    expect(await alarmOf(s)).toBeGreaterThan(Date.now() + 60_000);
  });
});
