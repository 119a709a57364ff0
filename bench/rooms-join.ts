/**
 * Room token minting under concurrent load, `npx tsx bench/rooms-join.ts`.
 *
 * Against the real Worker over HTTP (e2e/stack.ts: wrangler's local runtime, as `wrangler dev`, on a
 * fresh seeded D1, with a real livekit-server): premium@example.com signs in once and starts one
 * session; then N × `POST /api/rooms/:sessionId/join` (the client rejoining: auth lookup, session
 * lookup, name lookup, a LiveKit token signed) at each concurrency, and as the baseline in the same
 * run the same load on `GET /api/health` (the same middleware, no D1, no signing). Keep-alive
 * connections, one per in-flight request. Prints p50, p99, throughput, workerd CPU per request and
 * the join/health ratios; writes bench/results/rooms-join.json. Numbers are reported, never asserted.
 *
 *   HC_BENCH_N (default 2000) requests per case, HC_BENCH_CONCURRENCY (default "16,64").
 */
import { Agent } from 'node:http';
import { type Answer, call, cpuSince, dataOf, login, machine, machineLine, ownCpuMs, printTable, quantile, runBench, workerdCpu, writeResults } from './common';

const N = Number(process.env.HC_BENCH_N ?? 2000);
const CONCURRENCY = (process.env.HC_BENCH_CONCURRENCY ?? '16,64').split(',').map(Number);
/** Untimed requests per case first, at the same concurrency: JIT tiers, connections, first-use costs. */
const WARMUP = Math.min(300, N);
const EMAIL = 'premium@example.com';

type Endpoint = 'health' | 'join';

interface Measurement {
  endpoint: Endpoint;
  concurrency: number;
  requests: number;
  wallMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  requestsPerSecond: number;
  /** CPU per request of the workerd running the Worker (with its local D1 and DOs); null without /proc. */
  workerCpuMsPerRequest: number | null;
  /** CPU per request of wrangler's proxy in front of it (not there in production). */
  proxyCpuMsPerRequest: number | null;
  /** This process's CPU (the load generator, on the same cores) per request. */
  clientCpuMsPerRequest: number;
  vsHealth?: { p50: number; p99: number; requestsPerSecond: number; workerCpu: number | null };
}

/** Sends `n` requests, `concurrency` at a time (the agent keeps that many connections alive); every answer must be 200. */
async function load(origin: string, send: () => Promise<Answer>, n: number, concurrency: number) {
  const latencies: number[] = new Array<number>(n);
  let next = 0;
  let failure: Answer | undefined;
  const cpu0 = process.cpuUsage();
  const w0 = workerdCpu(origin);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n && !failure; i = next++) {
        const answer = await send();
        latencies[i] = answer.ms;
        if (answer.status !== 200) failure ??= answer;
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const workerd = cpuSince(w0, workerdCpu(origin));
  const clientCpuMs = ownCpuMs(cpu0);
  if (failure) throw new Error(`a request failed under load: ${failure.status} ${failure.body.slice(0, 500)}`);
  return { latencies, wallMs, workerd, clientCpuMs };
}

await runBench(async (stack) => {
  const started = performance.now();
  console.log('Room tokens under load: POST /api/rooms/:id/join vs GET /api/health, over HTTP against the local Worker');
  console.log(`${machineLine()}\n`);

  const setupAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const token = await login(setupAgent, stack, EMAIL);
  const auth = { Authorization: `Bearer ${token}` };
  const ticket = dataOf<{ sessionId: string; token: string }>(
    'POST /api/rooms',
    await call(setupAgent, stack.apiOrigin, 'POST', '/api/rooms', { headers: auth, body: '' }),
    201,
  );
  const joinPath = `/api/rooms/${ticket.sessionId}/join`;
  // What is timed must be what a client gets: a join ticket with a LiveKit token, as the client.
  const first = dataOf<{ token: string; role: string }>('join', await call(setupAgent, stack.apiOrigin, 'POST', joinPath, { headers: auth, body: '' }));
  if (first.role !== 'client' || first.token.split('.').length !== 3) throw new Error(`unexpected join ticket: ${JSON.stringify(first)}`);
  setupAgent.destroy();

  const measurements: Measurement[] = [];
  for (const concurrency of CONCURRENCY) {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const send: Record<Endpoint, () => Promise<Answer>> = {
      health: () => call(agent, stack.apiOrigin, 'GET', '/api/health'),
      join: () => call(agent, stack.apiOrigin, 'POST', joinPath, { headers: auth, body: '' }),
    };
    for (const endpoint of ['health', 'join'] as const) await load(stack.apiOrigin, send[endpoint], WARMUP, concurrency);
    for (const endpoint of ['health', 'join'] as const) {
      const r = await load(stack.apiOrigin, send[endpoint], N, concurrency);
      measurements.push({
        endpoint,
        concurrency,
        requests: N,
        wallMs: r.wallMs,
        p50Ms: quantile(r.latencies, 0.5),
        p90Ms: quantile(r.latencies, 0.9),
        p99Ms: quantile(r.latencies, 0.99),
        maxMs: quantile(r.latencies, 1),
        requestsPerSecond: (N / r.wallMs) * 1000,
        workerCpuMsPerRequest: r.workerd ? r.workerd.workerMs / N : null,
        proxyCpuMsPerRequest: r.workerd ? r.workerd.proxyMs / N : null,
        clientCpuMsPerRequest: r.clientCpuMs / N,
      });
    }
    agent.destroy();
  }

  for (const m of measurements) {
    const base = measurements.find((b) => b.endpoint === 'health' && b.concurrency === m.concurrency);
    if (!base) continue;
    m.vsHealth = {
      p50: m.p50Ms / base.p50Ms,
      p99: m.p99Ms / base.p99Ms,
      requestsPerSecond: m.requestsPerSecond / base.requestsPerSecond,
      workerCpu: m.workerCpuMsPerRequest !== null && base.workerCpuMsPerRequest ? m.workerCpuMsPerRequest / base.workerCpuMsPerRequest : null,
    };
  }

  const ratio = (x: number | null | undefined) => (x === null || x === undefined ? '' : `${x.toFixed(2)}×`);
  printTable(
    ['conc', 'endpoint', 'requests', 'p50 ms', 'p99 ms', 'req/s', 'Worker CPU ms/req', 'p50 vs health', 'p99 vs health', 'req/s vs health', 'CPU vs health'],
    measurements.map((m) => [
      String(m.concurrency),
      m.endpoint === 'join' ? 'POST /api/rooms/:id/join' : 'GET /api/health',
      String(m.requests),
      m.p50Ms.toFixed(2),
      m.p99Ms.toFixed(2),
      m.requestsPerSecond.toFixed(0),
      m.workerCpuMsPerRequest === null ? 'n/a' : m.workerCpuMsPerRequest.toFixed(2),
      ratio(m.vsHealth?.p50),
      ratio(m.vsHealth?.p99),
      ratio(m.vsHealth?.requestsPerSecond),
      ratio(m.vsHealth?.workerCpu),
    ]),
    new Set([0, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  );
  const perCase = (f: (m: Measurement) => number | null) => measurements.map((m) => `${m.endpoint}@${m.concurrency} ${f(m)?.toFixed(2) ?? 'n/a'}`).join(', ');
  console.log(
    `\nLatency: from sending the request to its last byte, at the client; ${WARMUP} untimed requests per case first.` +
      `\nWorker CPU: the workerd process running the Worker with its local D1 and DOs (10 ms ticks from /proc;` +
      ` n/a if wrangler restarted it during the case).` +
      `\nOn the same cores, CPU ms/req of wrangler's proxy in front: ${perCase((m) => m.proxyCpuMsPerRequest)};` +
      `\nof the load generator: ${perCase((m) => m.clientCpuMsPerRequest)}.`,
  );

  const file = writeResults('rooms-join', {
    measuredAt: new Date().toISOString(),
    machine: machine(),
    target: { runtime: 'wrangler unstable_startWorker (local workerd, as wrangler dev)', apiOrigin: stack.apiOrigin },
    account: EMAIL,
    sessionId: ticket.sessionId,
    requestsPerCase: N,
    warmupPerCase: WARMUP,
    baseline: 'GET /api/health',
    measurements,
  });
  console.log(`\nWrote ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
});
