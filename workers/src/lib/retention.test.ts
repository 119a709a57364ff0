import { createScheduledController, env } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createUser, testDb } from '../../test/helpers';
import { authGrants, claimTokens, coachingSessions, emailOutbox, loginSessions, messages } from '../db/schema';
import worker from '../index';
import { outboxInsert } from '../mail/outbox';
import { DEFAULT_RETENTION_MONTHS, retentionMonths, runRetention } from './retention';

const DAY = 86_400_000;

describe('retention', () => {
  it('deletes transcripts older than the retention and expired credentials, keeping the rest and the summaries', async () => {
    const now = new Date('2027-06-15T03:00:00Z');
    const old = new Date(now.getTime() - 400 * DAY);
    const recent = new Date(now.getTime() - 30 * DAY);
    const client = await createUser({ tier: 'PREMIUM' });
    const db = testDb();
    const [oldSession, newSession] = await db
      .insert(coachingSessions)
      .values([
        {
          roomName: `r-${crypto.randomUUID()}`,
          clientId: client.id,
          status: 'COMPLETED',
          tierAtStart: 'PREMIUM',
          endedAt: old,
          transcript: 'old words',
          aiSummary: 'kept',
        },
        { roomName: `r-${crypto.randomUUID()}`, clientId: client.id, status: 'COMPLETED', tierAtStart: 'PREMIUM', endedAt: recent, transcript: 'new words' },
      ])
      .returning();
    const line = (sessionId: string, at: Date, text: string) => ({
      sessionId,
      speakerIdentity: client.id,
      speakerRole: 'client' as const,
      text,
      heardByAi: true,
      spokenAt: at,
      idempotencyKey: crypto.randomUUID(),
    });
    await db.insert(messages).values([line(oldSession!.id, old, 'a year ago'), line(newSession!.id, recent, 'last month')]);
    const hash = () => crypto.randomUUID();
    await db.insert(authGrants).values([
      { grantHash: hash(), userId: client.id, expiresAt: new Date(now.getTime() - 1000) },
      { grantHash: hash(), userId: client.id, expiresAt: new Date(now.getTime() + 60_000) },
    ]);
    await db.insert(claimTokens).values([{ tokenHash: hash(), userId: client.id, expiresAt: new Date(now.getTime() - DAY) }]);
    await db.insert(loginSessions).values([
      { id: hash(), userId: client.id, expiresAt: new Date(now.getTime() - DAY) },
      { id: hash(), userId: client.id, expiresAt: new Date(now.getTime() + DAY) },
    ]);

    const counts = await runRetention(db, 12, now);
    expect(counts).toMatchObject({ transcriptLines: 1, assembledTranscripts: 1, expiredGrants: 1, expiredClaimTokens: 1, expiredLoginSessions: 1 });
    expect((await db.select().from(messages).all()).map((m) => m.text)).toEqual(['last month']);
    const sessions = await db.select().from(coachingSessions).where(eq(coachingSessions.clientId, client.id)).all();
    expect(sessions.map((s) => [s.transcript, s.aiSummary]).sort()).toEqual(
      [
        [null, 'kept'],
        ['new words', null],
      ].sort(),
    );
    expect(await db.select().from(authGrants).all()).toHaveLength(1);
    expect(await db.select().from(loginSessions).all()).toHaveLength(1);
    // Run again: nothing more to do.
    expect(await runRetention(db, 12, now)).toMatchObject({ transcriptLines: 0, expiredGrants: 0 });
  });

  it('deletes mail rows two weeks after they were sent, died or expired, keeping mail still to send', async () => {
    const now = new Date('2027-07-01T03:00:00Z');
    const db = testDb();
    await db.delete(emailOutbox);
    const queue = async (to: string, expiresAt: Date, createdAt: Date, state: 'queued' | 'sent' | 'dead' = 'queued') => {
      const content = { subject: 's', text: `link for ${to}`, html: '<p>link</p>' };
      await db.batch(await outboxInsert(env, db, { to: { email: to }, template: 'claim-account', kind: 'security', idempotencyKey: to, expiresAt, content }));
      await db.update(emailOutbox).set({ state, createdAt }).where(eq(emailOutbox.toEmail, to));
    };
    const daysAgo = (n: number) => new Date(now.getTime() - n * DAY);
    await queue('sent-long-ago@example.com', daysAgo(10), daysAgo(15), 'sent');
    await queue('dead-long-ago@example.com', daysAgo(10), daysAgo(15), 'dead');
    await queue('sent-recently@example.com', daysAgo(-6), daysAgo(1), 'sent');
    await queue('never-sent@example.com', daysAgo(15), daysAgo(22));
    await queue('waiting@example.com', daysAgo(-6), daysAgo(1));
    expect(await runRetention(db, 12, now)).toMatchObject({ oldMail: 3 });
    expect((await db.select().from(emailOutbox).all()).map((m) => m.toEmail).sort()).toEqual(['sent-recently@example.com', 'waiting@example.com']);
  });

  it('runs with the nightly cron, and reads RETENTION_MONTHS sensibly', async () => {
    const client = await createUser();
    const [s] = await testDb()
      .insert(coachingSessions)
      .values({
        roomName: `r-${crypto.randomUUID()}`,
        clientId: client.id,
        status: 'COMPLETED',
        tierAtStart: 'FREE',
        endedAt: new Date(Date.now() - 800 * DAY),
      })
      .returning();
    await testDb()
      .insert(messages)
      .values({
        sessionId: s!.id,
        speakerIdentity: client.id,
        speakerRole: 'client',
        text: 'ancient',
        heardByAi: true,
        spokenAt: new Date(Date.now() - 800 * DAY),
        idempotencyKey: crypto.randomUUID(),
      });
    await worker.scheduled(createScheduledController({ cron: '0 3 * * *', scheduledTime: Date.now() }), env);
    expect(await testDb().select().from(messages).where(eq(messages.sessionId, s!.id)).all()).toEqual([]);
    expect(retentionMonths('6')).toBe(6);
    for (const bad of [undefined, '', 'twelve', '0', '1.5', '1000']) expect(retentionMonths(bad)).toBe(DEFAULT_RETENTION_MONTHS);
  });
});
