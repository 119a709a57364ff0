import { createScheduledController, env } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { deliverRun, member, newRun, send } from '../../test/skool-sync';
import { auditLog, membershipStatusHistory, skoolSyncMembers, skoolSyncRuns, users } from '../db/schema';
import worker from '../index';
import { APPLY_LEASE_MS, STALL_MS, START_GRACE_MS } from '../lib/skool-sync';

interface Run {
  id: string;
  status: string;
  trigger: string;
  startedBy: { id: string; displayName: string | null } | null;
  progress: { ultra: number | null; vagus: number | null; at: string | null };
  heldBack: { community: string; previous: number; found: number }[] | null;
  override: { by: { id: string } | null; reason: string | null } | null;
  newMembers: number;
  downgraded: number;
  errorMessage: string | null;
}
interface PersonChanges {
  user: { id: string; email: string };
  changes: { field: string; community: string | null; from: string | null; to: string }[];
}

const tag = () => crypto.randomUUID().slice(0, 8);
const user = (email: string) => testDb().select().from(users).where(eq(users.email, email)).get();
const runRow = (id: string) => testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.id, id)).get();
const progress = (runId: string, scraped: { ultra: number | null; vagus: number | null }, seq: number) =>
  send({ runId, kind: 'progress', scraped }, `${runId}:progress:${seq}`);
const auditFor = (runId: string) => testDb().select().from(auditLog).where(eq(auditLog.targetId, runId)).all();

async function adminToken() {
  const admin = await createUser({ role: 'ADMIN' });
  return { admin, token: await signIn(admin.email) };
}

/** Answers the Worker's calls to the agent-host (start, holds) as `holds` says; anything else goes on. */
function agentHost(holds: boolean) {
  const real = globalThis.fetch;
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(`${env.AGENT_HOST_URL}/skool-sync/holds`)) {
      const { runId } = JSON.parse(String(init?.body)) as { runId: string };
      return Response.json({ success: true, data: { runId, held: holds } });
    }
    if (url.startsWith(`${env.AGENT_HOST_URL}/skool-sync/start`)) {
      const { runId } = JSON.parse(String(init?.body)) as { runId: string };
      return Response.json({ success: true, data: { runId, accepted: true } }, { status: 202 });
    }
    return real(input, init);
  });
}

/** A run left RUNNING and silent (no progress report) for longer than STALL_MS. */
async function silentRun() {
  const id = await newRun();
  await testDb()
    .update(skoolSyncRuns)
    .set({ progressAt: new Date(Date.now() - STALL_MS - 60_000) })
    .where(eq(skoolSyncRuns.id, id));
  return id;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('progress while a run scrapes', () => {
  it('shows members scraped so far per community, never lowered by a late report, ignored once the run is over', async () => {
    const { token } = await adminToken();
    const runId = await newRun();
    expect((await progress(runId, { ultra: 30, vagus: null }, 1)).status).toBe(200);
    let run = (await body<Run>(await get(`/api/admin/skool-sync/runs/${runId}`, bearer(token)))).data;
    expect(run.progress).toMatchObject({ ultra: 30, vagus: null });
    await progress(runId, { ultra: 40, vagus: 60 }, 3);
    await progress(runId, { ultra: 35, vagus: 30 }, 2);
    run = (await body<Run>(await get(`/api/admin/skool-sync/runs/${runId}`, bearer(token)))).data;
    expect(run.progress).toMatchObject({ ultra: 40, vagus: 60 });

    await deliverRun(runId, { ultra: [member(`p-c-${tag()}@example.com`)], vagus: [member(`p-v-${tag()}@example.com`)] });
    const late = await progress(runId, { ultra: 99, vagus: 99 }, 4);
    expect((await body<{ recorded: boolean }>(late)).data.recorded).toBe(false);
    expect(await runRow(runId)).toMatchObject({ ultraScraped: 40, vagusScraped: 60 });
  });

  it('refuses a malformed report with 400 and an unknown run with 404, writing nothing', async () => {
    const runId = await newRun();
    const bad = await send({ runId, kind: 'progress', scraped: { ultra: -1 } }, `${runId}:progress:1`);
    expect(bad.status).toBe(400);
    expect(Object.keys((await body(bad)).error.fields ?? {})).toEqual(expect.arrayContaining(['scraped.ultra', 'scraped.vagus']));
    expect(await runRow(runId)).toMatchObject({ ultraScraped: null, vagusScraped: null });
    const unknown = crypto.randomUUID();
    expect((await progress(unknown, { ultra: 1, vagus: 1 }, 1)).status).toBe(404);
  });
});

describe('a stuck run does not block the next', () => {
  it(`fails a run silent for more than ${STALL_MS / 60_000} minutes, and the next start goes ahead`, async () => {
    const { token } = await adminToken();
    const stuck = await silentRun();
    agentHost(true);
    const res = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(res.status).toBe(202);
    expect(await runRow(stuck)).toMatchObject({ status: 'FAILED' });
    expect((await runRow(stuck))?.errorMessage).toMatch(/stuck: no progress/);
    const started = (await body<{ runId: string }>(res)).data.runId;
    expect(await runRow(started)).toMatchObject({ status: 'RUNNING' });
  });

  it('lets the nightly cron go ahead past a stuck run too', async () => {
    const stuck = await silentRun();
    agentHost(true);
    await worker.scheduled(createScheduledController({ cron: '0 3 * * *', scheduledTime: Date.now() }), env);
    expect((await runRow(stuck))?.errorMessage).toMatch(/stuck: no progress/);
    const running = await testDb().select().from(skoolSyncRuns).where(eq(skoolSyncRuns.status, 'RUNNING')).all();
    expect(running).toEqual([expect.objectContaining({ trigger: 'cron', startedBy: null })]);
  });

  it('keeps a live run (409, with the one error shape) while the agent-host holds it and it reports progress', async () => {
    const { token } = await adminToken();
    const live = await newRun();
    await progress(live, { ultra: 10, vagus: null }, 1);
    agentHost(true);
    const res = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(res.status).toBe(409);
    expect(await body(res)).toMatchObject({ success: false, error: { code: 'CONFLICT' } });
    expect(await runRow(live)).toMatchObject({ status: 'RUNNING' });
  });

  it('keeps a run started moments ago, which the agent-host may not hold yet (its start request in flight): 409', async () => {
    const { token } = await adminToken();
    const starting = await newRun();
    const calls = agentHost(false);
    const res = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(res.status).toBe(409);
    expect(await runRow(starting)).toMatchObject({ status: 'RUNNING' });
    expect(calls.mock.calls.some(([u]) => String(u instanceof Request ? u.url : u).endsWith('/skool-sync/holds'))).toBe(false);
  });

  it(`shows a run silent for more than ${STALL_MS / 60_000} minutes as failed when the runs are read, not running`, async () => {
    const { token } = await adminToken();
    const stuck = await silentRun();
    const list = (await body<{ items: Run[] }>(await get('/api/admin/skool-sync/runs?limit=5', bearer(token)))).data;
    expect(list.items.find((r) => r.id === stuck)).toMatchObject({ status: 'FAILED', errorMessage: expect.stringMatching(/stuck: no progress/) });

    const live = await newRun();
    const one = (await body<Run>(await get(`/api/admin/skool-sync/runs/${live}`, bearer(token)))).data;
    expect(one).toMatchObject({ status: 'RUNNING' });
    await testDb()
      .update(skoolSyncRuns)
      .set({ startedAt: new Date(Date.now() - STALL_MS - 60_000) })
      .where(eq(skoolSyncRuns.id, live));
    expect((await body<Run>(await get(`/api/admin/skool-sync/runs/${live}`, bearer(token)))).data).toMatchObject({ status: 'FAILED' });
  });

  it('fails a run a restarted agent-host no longer holds, and starts the next', async () => {
    const { admin, token } = await adminToken();
    const lost = await newRun();
    await testDb()
      .update(skoolSyncRuns)
      .set({ startedAt: new Date(Date.now() - START_GRACE_MS - 1000) })
      .where(eq(skoolSyncRuns.id, lost));
    await progress(lost, { ultra: 10, vagus: null }, 1);
    const calls = agentHost(false);
    const res = await post('/api/admin/skool-sync', {}, bearer(token));
    expect(res.status).toBe(202);
    expect(calls.mock.calls.some(([u]) => String(u instanceof Request ? u.url : u).endsWith('/skool-sync/holds'))).toBe(true);
    expect((await runRow(lost))?.errorMessage).toMatch(/no longer holds this run/);
    const started = (await body<{ runId: string }>(res)).data.runId;
    // Started by whom, and audited.
    const run = (await body<Run>(await get(`/api/admin/skool-sync/runs/${started}`, bearer(token)))).data;
    expect(run).toMatchObject({ status: 'RUNNING', trigger: 'admin', startedBy: { id: admin.id } });
    expect(await auditFor(started)).toEqual([expect.objectContaining({ action: 'skool-sync.start', actorId: admin.id })]);
  });
});

describe('the runs list and one run’s changes', () => {
  it('pages the runs newest first with a cursor, and refuses a cursor it did not give', async () => {
    const { token } = await adminToken();
    for (let i = 0; i < 3; i++) await newRun();
    const first = (await body<{ items: Run[]; nextCursor: string | null }>(await get('/api/admin/skool-sync/runs?limit=2', bearer(token)))).data;
    expect(first.items).toHaveLength(2);
    const second = (await body<{ items: Run[] }>(await get(`/api/admin/skool-sync/runs?limit=2&cursor=${first.nextCursor}`, bearer(token)))).data;
    expect(second.items[0]?.id).not.toBe(first.items[1]?.id);
    expect(new Set([...first.items, ...second.items].map((r) => r.id)).size).toBe(first.items.length + second.items.length);
    for (const bad of ['cursor=nonsense', 'limit=0', 'limit=101']) {
      const res = await get(`/api/admin/skool-sync/runs?${bad}`, bearer(token));
      expect(res.status, bad).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
    expect((await get(`/api/admin/skool-sync/runs/${crypto.randomUUID()}`, bearer(token))).status).toBe(404);
    expect((await get(`/api/admin/skool-sync/runs/${crypto.randomUUID()}/changes`, bearer(token))).status).toBe(404);
  });

  it('lists one run’s changes person by person', async () => {
    const { token } = await adminToken();
    const t = tag();
    const runId = await newRun();
    await deliverRun(runId, { ultra: [member(`ch-coach-${t}@example.com`)], vagus: [member(`ch-client-${t}@example.com`)] });
    const page = (await body<{ items: PersonChanges[] }>(await get(`/api/admin/skool-sync/runs/${runId}/changes?limit=80`, bearer(token)))).data;
    const coach = page.items.find((p) => p.user.email === `ch-coach-${t}@example.com`);
    expect(coach?.changes).toEqual(
      expect.arrayContaining([
        { field: 'role', community: null, from: null, to: 'COACH' },
        { field: 'status', community: 'ultra', from: null, to: 'active' },
      ]),
    );
    const client = page.items.find((p) => p.user.email === `ch-client-${t}@example.com`);
    expect(client?.changes).toEqual(expect.arrayContaining([{ field: 'tier', community: null, from: null, to: 'VAGUS_MEMBER' }]));
    expect((await get(`/api/admin/skool-sync/runs/${runId}/changes?limit=81`, bearer(token))).status).toBe(400);
  });
});

describe('overriding a run the safety rule held back', () => {
  /** A good run of 10 Vagus members, then one that finds 3: held back. */
  async function heldRun(t: string) {
    const many = Array.from({ length: 10 }, (_, i) => member(`h${i}-${t}@example.com`));
    const coach = member(`hc-${t}@example.com`);
    await deliverRun(await newRun(), { ultra: [coach], vagus: many }, 5);
    const runId = await newRun();
    await deliverRun(runId, { ultra: [coach], vagus: many.slice(0, 3) });
    return runId;
  }
  const confirm = [{ community: 'vagus', previous: 10, found: 3 }];

  it('holds the run back with its numbers, refuses bad input and stale numbers, then applies it with a reason', async () => {
    const { admin, token } = await adminToken();
    const t = tag();
    const runId = await heldRun(t);
    const held = (await body<Run>(await get(`/api/admin/skool-sync/runs/${runId}`, bearer(token)))).data;
    expect(held).toMatchObject({ status: 'FAILED', heldBack: confirm, override: null });
    expect(await user(`h9-${t}@example.com`)).toMatchObject({ membershipTier: 'VAGUS_MEMBER' });

    const path = `/api/admin/skool-sync/runs/${runId}/override`;
    const refusals: [unknown, number, string][] = [
      [{ confirm }, 400, 'reason'],
      [{ reason: 'x', confirm }, 400, 'reason'],
      [{ reason: 'The list is right' }, 400, 'confirm'],
      [{ reason: 'The list is right', confirm: [{ community: 'moon', previous: 10, found: 3 }] }, 400, 'confirm.0.community'],
      [{ reason: 'The list is right', confirm, extra: 1 }, 400, 'body'],
      // Numbers from another run (or a stale screen): refused.
      [{ reason: 'The list is right', confirm: [{ community: 'vagus', previous: 12, found: 3 }] }, 409, 'confirm'],
    ];
    for (const [payload, status, field] of refusals) {
      const res = await post(path, payload, bearer(token));
      expect(res.status, JSON.stringify(payload)).toBe(status);
      const err = (await body(res)).error;
      if (status === 400) expect(Object.keys(err.fields ?? {}).some((k) => k.startsWith(field))).toBe(true);
      else expect(err.message).toContain('vagus 10 → 3');
    }
    expect(await runRow(runId)).toMatchObject({ status: 'FAILED', overriddenAt: null });
    expect(await user(`h9-${t}@example.com`)).toMatchObject({ membershipTier: 'VAGUS_MEMBER' });
    expect(await auditFor(runId)).toHaveLength(0);

    const res = await post(path, { reason: 'Seven members left after the price change', confirm }, bearer(token));
    expect(res.status).toBe(200);
    const after = (await body<Run>(res)).data;
    expect(after).toMatchObject({ status: 'SUCCEEDED', override: { by: { id: admin.id }, reason: 'Seven members left after the price change' } });
    expect(after.downgraded).toBe(7);
    expect(await user(`h9-${t}@example.com`)).toMatchObject({ membershipTier: 'FREE', vagusSubscriptionStatus: 'expired' });
    const h9 = await user(`h9-${t}@example.com`);
    const rows = await testDb()
      .select()
      .from(membershipStatusHistory)
      .where(and(eq(membershipStatusHistory.syncRunId, runId), eq(membershipStatusHistory.userId, h9!.id)))
      .all();
    expect(rows.find((r) => r.field === 'tier')).toMatchObject({ previousValue: 'VAGUS_MEMBER', newValue: 'FREE', actorId: admin.id });
    expect(await auditFor(runId)).toEqual([expect.objectContaining({ action: 'skool-sync.override', actorId: admin.id })]);
    expect(await testDb().select().from(skoolSyncMembers).where(eq(skoolSyncMembers.runId, runId)).all()).toHaveLength(0);

    const again = await post(path, { reason: 'Once more', confirm }, bearer(token));
    expect(again.status).toBe(409);
    expect((await post(`/api/admin/skool-sync/runs/${crypto.randomUUID()}/override`, { reason: 'Nope', confirm }, bearer(token))).status).toBe(404);
  });

  it('takes over the lease of an override whose Worker died mid-apply, once it has expired', async () => {
    const { token } = await adminToken();
    const t = tag();
    const runId = await heldRun(t);
    const path = `/api/admin/skool-sync/runs/${runId}/override`;
    const leasedAt = async (at: Date) => testDb().update(skoolSyncRuns).set({ applyingAt: at }).where(eq(skoolSyncRuns.id, runId));

    await leasedAt(new Date());
    const busy = await post(path, { reason: 'The list is right', confirm }, bearer(token));
    expect(busy.status).toBe(409);
    expect((await body(busy)).error.message).toMatch(/being applied/);

    await leasedAt(new Date(Date.now() - APPLY_LEASE_MS - 60_000));
    const res = await post(path, { reason: 'The list is right', confirm }, bearer(token));
    expect(res.status).toBe(200);
    expect(await runRow(runId)).toMatchObject({ status: 'SUCCEEDED', applyingAt: null });
    expect(await user(`h9-${t}@example.com`)).toMatchObject({ membershipTier: 'FREE' });
  });

  it('refuses to override once a later run has started', async () => {
    const { token } = await adminToken();
    const t = tag();
    const runId = await heldRun(t);
    await newRun();
    const res = await post(`/api/admin/skool-sync/runs/${runId}/override`, { reason: 'Too late', confirm }, bearer(token));
    expect(res.status).toBe(409);
    expect((await body(res)).error.message).toMatch(/later run/);
    expect(await user(`h9-${t}@example.com`)).toMatchObject({ membershipTier: 'VAGUS_MEMBER' });
  });
});

describe('a role staff set sticks', () => {
  it('is kept by later syncs, whichever way the sync would have gone', async () => {
    const { token } = await adminToken();
    const t = tag();
    const others = Array.from({ length: 5 }, (_, i) => member(`rs${i}-${t}@example.com`));
    const coachByStaff = `staff-coach-${t}@example.com`;
    const clientByStaff = `staff-client-${t}@example.com`;
    await deliverRun(await newRun(), { ultra: [...others, member(clientByStaff)], vagus: [...others, member(coachByStaff)] });
    expect(await user(coachByStaff)).toMatchObject({ role: 'CLIENT' });
    expect(await user(clientByStaff)).toMatchObject({ role: 'COACH' });

    for (const [email, role] of [
      [coachByStaff, 'COACH'],
      [clientByStaff, 'CLIENT'],
    ] as const) {
      const res = await post(`/api/admin/people/${(await user(email))!.id}/role`, { role, reason: 'Staff decision' }, bearer(token));
      expect(res.status).toBe(200);
    }
    await deliverRun(await newRun(), { ultra: [...others, member(clientByStaff)], vagus: [...others, member(coachByStaff)] });
    expect(await user(coachByStaff)).toMatchObject({ role: 'COACH' });
    expect(await user(clientByStaff)).toMatchObject({ role: 'CLIENT', ultraSubscriptionStatus: 'active' });
  });
});
