/**
 * Applying a Skool sync result to D1 through the real webhook, `npx tsx bench/skool-apply.ts`.
 *
 * Against the real Worker over HTTP (e2e/stack.ts: wrangler's local runtime on a fresh seeded D1).
 * Each run is recorded straight into the stack's D1 (POST /api/admin/skool-sync would ask an
 * agent-host to scrape), then delivered as the agent-host delivers it: signed chunks of 500 members,
 * one at a time, to /api/webhooks/skool-sync (Idempotency-Key `${runId}:${community}:${index}`), then
 * the final message, whose answer applies the run and reports its D1 round trips. In order:
 *   warm-up    20 members on their own domain, untimed (their Skool status is cleared afterwards, so
 *              later runs leave them alone)
 *   baseline   100 members (10 Ultra, 90 Vagus), all new: the first members of the 10,000 below
 *   10,000     1,000 Ultra + 9,000 Vagus: 9,900 new, the baseline's 100 unchanged
 *   10,000 again  the same members: nothing changes
 * Prints the times, round trips, the Worker's CPU during the apply and ratios per member against the
 * baseline; writes bench/results/skool-apply.json. Numbers are reported, never asserted.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { type FinalMessage, MAX_MEMBERS_PER_CHUNK, type Member, type MembersMessage } from '../agent-host/src/skool/contract';
import { call, cpuSince, dataOf, login, machine, machineLine, printTable, runBench, workerdCpu, writeResults } from './common';
import { members } from './skool-members';

/** Members per chunk, as the agent-host sends them. */
const CHUNK = MAX_MEMBERS_PER_CHUNK;
const WARMUP_DOMAIN = 'warmup.invalid';

interface Lists {
  ultra: Member[];
  vagus: Member[];
}

interface RunMeasurement {
  run: string;
  runId: string;
  members: number;
  chunks: number;
  /** Every chunk call, one after the other. */
  stagingMs: number;
  slowestChunkMs: number;
  /** The final message's call: the apply. */
  applyMs: number;
  /** From the first chunk sent to the final answer. */
  totalMs: number;
  roundTrips: number;
  status: string;
  /** CPU of the workerd running the Worker (and its local D1) during staging / the apply; null without /proc. */
  stagingWorkerCpuMs: number | null;
  applyWorkerCpuMs: number | null;
  counts?: { newMembers: number; upgraded: number; downgraded: number; cancelled: number; skipped: number; downgradesWithheld: boolean };
  vsBaseline?: { totalMsPerMember: number; applyMsPerMember: number; roundTripsPerMember: number };
}

await runBench(async (stack) => {
  const started = performance.now();
  console.log('Skool sync apply: chunks + final message through POST /api/webhooks/skool-sync, against the local Worker and D1');
  console.log(`${machineLine()}\n`);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  /** Records a RUNNING run (what startSkoolSync does before it calls the agent-host), with `before` run first. */
  const recordRun = async (before = ''): Promise<string> => {
    const runId = randomUUID();
    await stack.executeSql(
      `${before}INSERT INTO skool_sync_runs (id, trigger, status, started_at, new_members, upgraded, downgraded, cancelled, skipped, downgrades_withheld) ` +
        `VALUES ('${runId}', 'admin', 'RUNNING', ${Date.now()}, 0, 0, 0, 0, 0, 0);`,
    );
    return runId;
  };

  const send = async (key: string, payload: MembersMessage | FinalMessage) => {
    const body = JSON.stringify(payload);
    return call(agent, stack.apiOrigin, 'POST', '/api/webhooks/skool-sync', {
      headers: await signedHeaders(stack.agentHostSecret, body, key),
      body,
    });
  };

  /** Delivers one run as the agent-host's outbox does (in order, one message at a time) and measures it. */
  const deliver = async (run: string, runId: string, lists: Lists): Promise<RunMeasurement> => {
    const chunkTimes: number[] = [];
    const cpu0 = workerdCpu(stack.apiOrigin);
    const t0 = performance.now();
    for (const community of ['ultra', 'vagus'] as const) {
      const list = lists[community];
      const count = Math.max(1, Math.ceil(list.length / CHUNK));
      for (let index = 0; index < count; index++) {
        const part = list.slice(index * CHUNK, (index + 1) * CHUNK);
        const answer = await send(`${runId}:${community}:${index}`, { runId, kind: 'members', community, chunk: { index, count }, members: part });
        const staged = dataOf<{ staged: number; skipped: number; duplicate: boolean }>(`${run}: ${community} chunk ${index}`, answer);
        if (staged.duplicate || staged.staged !== part.length) throw new Error(`${run}: ${community} chunk ${index} staged ${JSON.stringify(staged)}`);
        chunkTimes.push(answer.ms);
      }
    }
    const cpu1 = workerdCpu(stack.apiOrigin);
    const final: FinalMessage = {
      runId,
      kind: 'final',
      ok: true,
      error: null,
      durationMs: Math.round(performance.now() - t0),
      communities: {
        ultra: { ok: true, membersFound: lists.ultra.length, error: null },
        vagus: { ok: true, membersFound: lists.vagus.length, error: null },
      },
    };
    const answer = await send(`${runId}:final`, final);
    const totalMs = performance.now() - t0;
    const cpu2 = workerdCpu(stack.apiOrigin);
    const outcome = dataOf<{ status: string; roundTrips: number }>(`${run}: final`, answer);
    if (outcome.status !== 'SUCCEEDED') throw new Error(`${run}: the apply answered ${JSON.stringify(outcome)}`);
    return {
      run,
      runId,
      members: lists.ultra.length + lists.vagus.length,
      chunks: chunkTimes.length,
      stagingMs: chunkTimes.reduce((a, b) => a + b, 0),
      slowestChunkMs: Math.max(...chunkTimes),
      applyMs: answer.ms,
      totalMs,
      roundTrips: outcome.roundTrips,
      status: outcome.status,
      stagingWorkerCpuMs: cpuSince(cpu0, cpu1)?.workerMs ?? null,
      applyWorkerCpuMs: cpuSince(cpu1, cpu2)?.workerMs ?? null,
    };
  };

  const warmup: Lists = { ultra: members('ultra', 10, WARMUP_DOMAIN), vagus: members('vagus', 10, WARMUP_DOMAIN) };
  const full: Lists = { ultra: members('ultra', 1_000), vagus: members('vagus', 9_000) };
  const baseline: Lists = { ultra: full.ultra.slice(0, 10), vagus: full.vagus.slice(0, 90) };

  await deliver('warm-up', await recordRun(), warmup);
  // Accounts Skool never knew are left alone by a sync: so the warm-up's members count for nothing below.
  const forgetWarmup = `UPDATE users SET ultra_subscription_status = NULL, vagus_subscription_status = NULL WHERE email LIKE '%@${WARMUP_DOMAIN}'; `;
  const runs: RunMeasurement[] = [];
  runs.push(await deliver('baseline: 100 new', await recordRun(forgetWarmup), baseline));
  runs.push(await deliver('10,000 (9,900 new)', await recordRun(), full));
  runs.push(await deliver('10,000 again, unchanged', await recordRun(), full));

  // The counts the runs recorded, as an admin sees them.
  const adminToken = await login(agent, stack, 'admin@example.com');
  const recorded = dataOf<{ items: (NonNullable<RunMeasurement['counts']> & { id: string })[] }>(
    'GET /api/admin/skool-sync/runs',
    await call(agent, stack.apiOrigin, 'GET', '/api/admin/skool-sync/runs?limit=10', { headers: { Authorization: `Bearer ${adminToken}` } }),
  ).items;
  agent.destroy();
  const base = runs[0];
  for (const r of runs) {
    const c = recorded.find((x) => x.id === r.runId);
    if (c) {
      const { newMembers, upgraded, downgraded, cancelled, skipped, downgradesWithheld } = c;
      r.counts = { newMembers, upgraded, downgraded, cancelled, skipped, downgradesWithheld };
    }
    if (base) {
      r.vsBaseline = {
        totalMsPerMember: r.totalMs / r.members / (base.totalMs / base.members),
        applyMsPerMember: r.applyMs / r.members / (base.applyMs / base.members),
        roundTripsPerMember: r.roundTrips / r.members / (base.roundTrips / base.members),
      };
    }
  }

  const x = (v: number | undefined) => (v === undefined ? '' : `${v.toFixed(2)}×`);
  printTable(
    [
      'run',
      'members',
      'chunks',
      'staging ms',
      'apply ms',
      'total ms',
      'total ms/1k',
      'round trips',
      'trips/1k',
      'apply CPU ms',
      'ms/member vs base',
      'apply/member vs base',
      'trips/member vs base',
      'new/up/down/cancelled',
    ],
    runs.map((r) => [
      r.run,
      r.members.toLocaleString('en-US'),
      String(r.chunks),
      r.stagingMs.toFixed(0),
      r.applyMs.toFixed(0),
      r.totalMs.toFixed(0),
      ((r.totalMs / r.members) * 1000).toFixed(0),
      String(r.roundTrips),
      ((r.roundTrips / r.members) * 1000).toFixed(1),
      r.applyWorkerCpuMs === null ? 'n/a' : r.applyWorkerCpuMs.toFixed(0),
      x(r.vsBaseline?.totalMsPerMember),
      x(r.vsBaseline?.applyMsPerMember),
      x(r.vsBaseline?.roundTripsPerMember),
      r.counts ? `${r.counts.newMembers}/${r.counts.upgraded}/${r.counts.downgraded}/${r.counts.cancelled}` : '?',
    ]),
    new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]),
  );
  console.log(
    `\nChunks of ${CHUNK}, sent one after another; staging = their calls' sum, apply = the final message's call.` +
      `\napply CPU: the workerd process running the Worker with its local D1 during the apply (10 ms ticks from /proc;` +
      ` n/a if wrangler restarted it meanwhile).` +
      `\nround trips: as the final answer reports them (D1 reads + batches of up to 100 statements); staging's are not reported.`,
  );
  // Batched means far fewer round trips than members; if not, that is a Worker bug to report, not a slow run.
  for (const r of runs) {
    if (r.members >= 1_000 && r.roundTrips * 10 > r.members) {
      console.log(`\nNOT BATCHED: ${r.run} took ${r.roundTrips} round trips for ${r.members} members (more than one per 10 members)`);
    }
  }

  const file = writeResults('skool-apply', {
    measuredAt: new Date().toISOString(),
    machine: machine(),
    target: { runtime: 'wrangler unstable_startWorker (local workerd and D1, as wrangler dev)', apiOrigin: stack.apiOrigin },
    membersPerChunk: CHUNK,
    warmup: { members: warmup.ultra.length + warmup.vagus.length },
    baseline: runs[0]?.run,
    runs,
  });
  console.log(`\nWrote ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
});
