import { createScheduledController, env, SELF } from 'cloudflare:test';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, deliverMail, get, post, signIn, testDb } from '../../test/helpers';
import { mailTo } from '../../test/mailpit';
import { deliverRun, member, newRun, send } from '../../test/skool-sync';
import { claimTokens, emailOutbox, membershipStatusHistory, skoolSyncRuns, users } from '../db/schema';
import worker from '../index';

const DAY = 24 * 3600 * 1000;
const user = (email: string) => testDb().select().from(users).where(eq(users.email, email)).get();
const tag = () => crypto.randomUUID().slice(0, 8);

describe('applying a sync', () => {
  it('creates placeholder accounts and applies roles and tiers by the Skool rules', async () => {
    const t = tag();
    const admin = await createUser({ role: 'ADMIN', email: `admin-${t}@example.com` });
    const premium = await createUser({ tier: 'PREMIUM', email: `prem-${t}@example.com` });
    const runId = await newRun();
    const res = await deliverRun(runId, {
      ultra: [
        member(`Coach-${t}@Example.com`),
        member(`grace-${t}@example.com`, { status: 'cancelled', membershipEndsAt: new Date(Date.now() + 10 * DAY).toISOString() }),
        member(`lapsed-${t}@example.com`, { status: 'cancelled', membershipEndsAt: new Date(Date.now() - DAY).toISOString() }),
        member(admin.email, { status: 'cancelled' }),
      ],
      vagus: [
        member(`paid-${t}@example.com`),
        member(`free-${t}@example.com`, { paid: false }),
        member(premium.email, { paid: false }),
        member(null),
        member(`Coach-${t}@example.com`, { paid: false }),
      ],
    });
    expect(res.status).toBe(200);
    expect((await body<{ status: string }>(res)).data.status).toBe('SUCCEEDED');

    expect(await user(`coach-${t}@example.com`)).toMatchObject({
      role: 'COACH',
      membershipTier: 'FREE',
      passwordHash: null,
      ultraSubscriptionStatus: 'active',
      vagusSubscriptionStatus: 'active',
      skoolUltraEmail: `coach-${t}@example.com`,
    });
    expect(await user(`grace-${t}@example.com`)).toMatchObject({ role: 'COACH', ultraSubscriptionStatus: 'cancelled' });
    expect(await user(`lapsed-${t}@example.com`)).toMatchObject({ role: 'CLIENT' });
    expect(await user(`paid-${t}@example.com`)).toMatchObject({ role: 'CLIENT', membershipTier: 'VAGUS_MEMBER' });
    expect(await user(`free-${t}@example.com`)).toMatchObject({ role: 'CLIENT', membershipTier: 'FREE' });
    expect(await user(admin.email)).toMatchObject({ role: 'ADMIN' });
    expect(await user(premium.email)).toMatchObject({ membershipTier: 'PREMIUM' });
    expect((await user(`paid-${t}@example.com`))?.lastSkoolSync).toBeInstanceOf(Date);

    const run = await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, runId)).get();
    expect(run).toMatchObject({ status: 'SUCCEEDED', ultraMembersFound: 4, vagusMembersFound: 5, newMembers: 5, skipped: 1, durationMs: 1234 });
    const history = await testDb().select().from(membershipStatusHistory).where(eq(membershipStatusHistory.syncRunId, runId)).all();
    expect(history.length).toBeGreaterThan(5);
  });

  it('downgrades a member who left, upgrades one who paid, and records each change', async () => {
    const t = tag();
    const leaver = await createUser({ tier: 'VAGUS_MEMBER', email: `leaver-${t}@example.com` });
    const payer = await createUser({ tier: 'FREE', email: `payer-${t}@example.com` });
    // Enough others in the lists that neither looks short next to earlier runs.
    const others = Array.from({ length: 20 }, (_, i) => member(`o${i}-${t}@example.com`));
    const first = await newRun();
    await deliverRun(first, { ultra: others, vagus: [...others, member(leaver.email), member(payer.email, { paid: false })] }, 10);
    const second = await newRun();
    const res = await deliverRun(second, { ultra: others, vagus: [...others, member(payer.email)] }, 10);
    expect((await body<{ status: string }>(res)).data.status).toBe('SUCCEEDED');
    expect(await user(leaver.email)).toMatchObject({ membershipTier: 'FREE', vagusSubscriptionStatus: 'expired' });
    expect(await user(payer.email)).toMatchObject({ membershipTier: 'VAGUS_MEMBER' });
    const run = await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, second)).get();
    expect(run).toMatchObject({ upgraded: 1, downgraded: 1 });
    const changes = await testDb().select().from(membershipStatusHistory).where(eq(membershipStatusHistory.userId, leaver.id)).all();
    expect(changes.find((h) => h.syncRunId === second && h.field === 'tier')).toMatchObject({ previousValue: 'VAGUS_MEMBER', newValue: 'FREE' });
  });

  it('withholds every downgrade and fails the run when a list is short or a scrape failed', async () => {
    const t = tag();
    const many = Array.from({ length: 10 }, (_, i) => member(`m${i}-${t}@example.com`));
    const first = await newRun();
    await deliverRun(first, { ultra: [member(`c-${t}@example.com`)], vagus: many }, 5);
    const shortRun = await newRun();
    const res = await deliverRun(shortRun, { ultra: [member(`c-${t}@example.com`)], vagus: many.slice(0, 3) });
    expect((await body<{ status: string }>(res)).data.status).toBe('FAILED');
    expect(await user(`m9-${t}@example.com`)).toMatchObject({ membershipTier: 'VAGUS_MEMBER', vagusSubscriptionStatus: 'active' });
    const run = await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, shortRun)).get();
    expect(run).toMatchObject({ status: 'FAILED', downgradesWithheld: true, downgraded: 0 });
    expect(run?.errorMessage).toMatch(/fewer than half/);

    const failedRun = await newRun();
    await deliverRun(failedRun, { ultra: null, vagus: many });
    expect(await user(`c-${t}@example.com`)).toMatchObject({ role: 'COACH' });
    expect((await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, failedRun)).get())?.errorMessage).toMatch(/ultra: scrape failed/);
  });

  it('changes nothing when a result is delivered twice', async () => {
    const t = tag();
    const runId = await newRun();
    const lists = { ultra: [member(`twice-c-${t}@example.com`)], vagus: [member(`twice-v-${t}@example.com`)] };
    await deliverRun(runId, lists);
    const before = await testDb().select().from(membershipStatusHistory).where(eq(membershipStatusHistory.syncRunId, runId)).all();
    const again = await deliverRun(runId, lists);
    expect((await body<{ status: string }>(again)).data.status).toBe('ALREADY_DONE');
    const after = await testDb().select().from(membershipStatusHistory).where(eq(membershipStatusHistory.syncRunId, runId)).all();
    expect(after).toHaveLength(before.length);
    expect(
      await testDb()
        .select()
        .from(users)
        .where(eq(users.email, `twice-c-${t}@example.com`))
        .all(),
    ).toHaveLength(1);
  });

  it('emails each new placeholder its claim link once, not again on later nights', async () => {
    const t = tag();
    const coachEmail = `claim-c-${t}@example.com`;
    const clientEmail = `claim-v-${t}@example.com`;
    const lists = { ultra: [member(coachEmail)], vagus: [member(clientEmail)] };
    await deliverRun(await newRun(), lists);
    await deliverMail();
    for (const to of [coachEmail, clientEmail]) {
      const [mail] = await mailTo(to);
      expect(mail?.Subject).toBe('Set your Hybrid Coach password');
      expect(mail?.Text).toContain('Your Skool membership gives you a Hybrid Coach account');
      expect(mail?.Text).toMatch(/\/claim\?token=/);
    }
    // The next night: the same members, already known. No second email.
    await deliverRun(await newRun(), lists);
    const rows = await testDb().select().from(emailOutbox).where(eq(emailOutbox.toEmail, clientEmail)).all();
    expect(rows).toHaveLength(1);
    expect(
      await testDb()
        .select()
        .from(claimTokens)
        .where(eq(claimTokens.userId, (await user(clientEmail))!.id))
        .all(),
    ).toHaveLength(1);
  });

  it('waits (503) for missing chunks before applying', async () => {
    const runId = await newRun();
    await send({ runId, kind: 'members', community: 'vagus', chunk: { index: 0, count: 2 }, members: [member('w1@example.com')] }, `${runId}:vagus:0`);
    const early = await send(
      {
        runId,
        kind: 'final',
        ok: true,
        error: null,
        durationMs: 5,
        communities: { ultra: { ok: true, membersFound: 0, error: null }, vagus: { ok: true, membersFound: 2, error: null } },
      },
      `${runId}:final`,
    );
    expect(early.status).toBe(503);
    expect(early.headers.get('Retry-After')).toBe('5');
  });
});

describe('POST /api/webhooks/skool-sync input', () => {
  it('refuses unsigned, forged and stale deliveries with 401, writing nothing', async () => {
    const runId = await newRun();
    const payload = { runId, kind: 'members', community: 'ultra', chunk: { index: 0, count: 1 }, members: [member('forged@example.com')] };
    const raw = JSON.stringify(payload);
    expect((await SELF.fetch('http://api.test/api/webhooks/skool-sync', { method: 'POST', body: raw })).status).toBe(401);
    expect((await send(payload, `${runId}:ultra:0`, { secret: 'another-secret-another-secret-000000000' })).status).toBe(401);
    expect((await send(payload, `${runId}:ultra:0`, { at: Date.now() - 6 * 60 * 1000 })).status).toBe(401);
    const tampered = await signedHeaders(env.AGENT_HOST_SECRET, raw, `${runId}:ultra:0`);
    const res = await SELF.fetch('http://api.test/api/webhooks/skool-sync', { method: 'POST', headers: tampered, body: raw.replace('forged', 'other') });
    expect(res.status).toBe(401);
    expect(await user('forged@example.com')).toBeUndefined();
  });

  it('answers a malformed message with 400 naming the fields, and an unknown run with 404', async () => {
    const runId = await newRun();
    const bad = await send({ runId, kind: 'members', community: 'moon', chunk: { index: -1, count: 1 }, members: [{ email: 3 }] }, 'k1');
    expect(bad.status).toBe(400);
    expect(Object.keys((await body(bad)).error.fields ?? {})).toEqual(expect.arrayContaining(['community', 'chunk.index']));
    const unknown = await send({ runId: crypto.randomUUID(), kind: 'members', community: 'ultra', chunk: { index: 0, count: 1 }, members: [] }, 'k2');
    expect(unknown.status).toBe(404);
  });
});

describe('starting a sync', () => {
  it('is for admins; records a failed run and answers 503 when the agent-host is down; 409 while one runs', async () => {
    await testDb().update(skoolSyncRuns).set({ status: 'FAILED' }).where(eq(skoolSyncRuns.status, 'RUNNING'));
    const adm = await createUser({ role: 'ADMIN' });
    const coach = await createUser({ role: 'COACH' });
    const token = await signIn(adm.email);
    expect((await post('/api/admin/skool-sync', {}, bearer(await signIn(coach.email)))).status).toBe(403);
    expect((await post('/api/admin/skool-sync', {})).status).toBe(401);

    const down = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(down.status).toBe(503);
    const runs = await body<{ items: { status: string; errorMessage: string | null; trigger: string }[] }>(
      await get('/api/admin/skool-sync/runs', bearer(token)),
    );
    expect(runs.data.items[0]).toMatchObject({ status: 'FAILED', trigger: 'admin' });
    expect(runs.data.items[0]?.errorMessage).toMatch(/could not start at the agent-host/);

    await newRun();
    const busy = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(busy.status).toBe(409);
    expect((await body(busy)).error.code).toBe('CONFLICT');
    expect((await get('/api/admin/skool-sync/runs', bearer(await signIn(coach.email)))).status).toBe(403);
  });

  it('starts from the cron trigger and records the run, without throwing when the agent-host is down', async () => {
    await testDb().update(skoolSyncRuns).set({ status: 'FAILED' }).where(eq(skoolSyncRuns.status, 'RUNNING'));
    await worker.scheduled(createScheduledController({ cron: '0 3 * * *', scheduledTime: Date.now() }), env);
    const [last] = await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.trigger, 'cron')).all();
    expect(last).toMatchObject({ trigger: 'cron', status: 'FAILED' });
  });
});
