/**
 * Shared by the benches that run against the real stack (e2e/stack.ts): ports, a keep-alive HTTP
 * client, workerd's CPU time, percentiles, the printed table and the results file.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOTP } from 'otpauth';
import { type Stack, startStack } from '../e2e/stack';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Apart from dev (8787/7880), the workerd tests (7980) and e2e (8797.../7960...); HC_BENCH_*_PORT pins one. */
const WORKER_PORTS = [8827, 8837, 8847];
const LIVEKIT_PORTS = [7900, 7910, 7920];

/** The e2e stack, labelled for a bench: its state lives in .wrangler/bench-<random> and is removed on stop (HC_BENCH_KEEP_STATE=1 keeps it). */
export function startBenchStack(): Promise<Stack> {
  return startStack({ label: 'bench', envPrefix: 'HC_BENCH', workerPorts: WORKER_PORTS, livekitPorts: LIVEKIT_PORTS });
}

export interface Answer {
  status: number;
  body: string;
  /** From sending the request to the last byte of the answer. */
  ms: number;
  /** The answer's Set-Cookie headers. */
  setCookies: string[];
}

/** One HTTP request on `agent` (keep-alive), the body read whole. Never throws on an error status. */
export function call(
  agent: Agent,
  origin: string,
  method: 'GET' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const url = new URL(path, origin);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path: url.pathname + url.search,
        headers: {
          ...options.headers,
          ...(options.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(options.body)) } : {}),
        },
        timeout: 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - t0,
            setCookies: res.headers['set-cookie'] ?? [],
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 120 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The `data` of a `{ success: true, data }` answer, or an error naming the call and the whole answer. */
export function dataOf<T>(what: string, answer: Answer, expected = 200): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`${what}: ${answer.status}, not JSON: ${answer.body.slice(0, 500)}`);
  }
  const envelope = parsed as { success?: boolean; data?: T };
  if (answer.status !== expected || envelope.success !== true) {
    throw new Error(`${what}: expected ${expected}, got ${answer.status} ${answer.body.slice(0, 1000)}`);
  }
  return envelope.data as T;
}

/** Signs in the way the portals do (password → MFA setup for an admin → grant → session token). Costs one attempt against the per-IP login limit. */
export async function login(agent: Agent, stack: Stack, email: string): Promise<string> {
  const json = { 'Content-Type': 'application/json' };
  const answer = await call(agent, stack.apiOrigin, 'POST', '/api/auth/login', {
    headers: json,
    body: JSON.stringify({ email, password: stack.demoPassword }),
  });
  const step = dataOf<{ grant: string } | { mfaEnrollmentRequired: true; challenge: string } | { mfaRequired: true; challenge: string }>(
    `login ${email}`,
    answer,
  );
  // The grant is bound to the browser that signed in: send its binding cookie back, as a browser would.
  const binding = answer.setCookies.find((c) => c.startsWith('__Host-hc_login='))?.split(';')[0] ?? '';
  const bound = { ...json, Cookie: binding };
  let grant: string;
  if ('grant' in step) grant = step.grant;
  else if ('mfaEnrollmentRequired' in step) {
    // An admin's first sign-in on this stack sets up two-step sign-in, with the secret it is shown.
    const { secret } = dataOf<{ secret: string }>(
      'mfa setup',
      await call(agent, stack.apiOrigin, 'POST', '/api/auth/mfa/enrol', { headers: bound, body: JSON.stringify({ challenge: step.challenge }) }),
    );
    const code = new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 }).generate();
    ({ grant } = dataOf<{ grant: string }>(
      'mfa setup confirm',
      await call(agent, stack.apiOrigin, 'POST', '/api/auth/mfa/enrol/confirm', { headers: bound, body: JSON.stringify({ challenge: step.challenge, code }) }),
    ));
  } else {
    throw new Error(`login ${email}: two-step sign-in is on already (a bench signs each staff account in once per stack)`);
  }
  const { token } = dataOf<{ token: string }>(
    'exchange',
    await call(agent, stack.apiOrigin, 'POST', '/api/auth/exchange', { headers: bound, body: JSON.stringify({ grant }) }),
  );
  return token;
}

/** CPU milliseconds used so far by each workerd process wrangler started for the stack, by pid. */
export type WorkerdSample = Map<number, { proxy: boolean; ms: number }>;

export interface WorkerdCpu {
  /** wrangler's proxy in front of the Worker (it listens on the stack's port; production has none). */
  proxyMs: number;
  /** The Worker itself, with its local D1 and Durable Objects (they run in the same process). */
  workerMs: number;
}

/**
 * CPU so far of this process's workerd children, from Linux /proc (10 ms ticks); null where there is
 * no /proc. The one serving `apiOrigin`'s port is wrangler's proxy; the others run the Worker.
 */
export function workerdCpu(apiOrigin: string): WorkerdSample | null {
  const entry = `entry=127.0.0.1:${new URL(apiOrigin).port} `;
  const ticksPerSecond = 100; // USER_HZ
  const sample: WorkerdSample = new Map();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[1] = ppid, fields[11] = utime, fields[12] = stime (stat(5), counted after the comm)
      if (comm !== 'workerd' || Number(fields[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      sample.set(Number(pid), { proxy: cmdline.includes(entry), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond });
    } catch {
      // Gone meanwhile.
    }
  }
  return sample.size > 0 ? sample : null;
}

/**
 * CPU used between two samples, or null if either is unknown or the processes are not the same ones
 * (wrangler restarted workerd in between: its counters started again).
 */
export function cpuSince(before: WorkerdSample | null, after: WorkerdSample | null): WorkerdCpu | null {
  if (!before || !after || before.size !== after.size) return null;
  const cpu = { proxyMs: 0, workerMs: 0 };
  for (const [pid, b] of before) {
    const a = after.get(pid);
    if (!a) return null;
    if (a.proxy) cpu.proxyMs += a.ms - b.ms;
    else cpu.workerMs += a.ms - b.ms;
  }
  return cpu;
}

/** CPU milliseconds of this Node process (the load generator) since `since`. */
export function ownCpuMs(since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** The q-quantile (0..1) of `xs` by nearest rank. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

export { printTable } from './table.mjs';

export const machine = () => ({
  cpu: cpus()[0]?.model ?? null,
  cores: cpus().length,
  platform: `${process.platform}-${process.arch}`,
  node: process.version,
  wrangler: (JSON.parse(readFileSync(join(ROOT, 'node_modules/wrangler/package.json'), 'utf8')) as { version: string }).version,
});

export const machineLine = () => {
  const m = machine();
  return `(${m.cpu ?? 'unknown CPU'}, ${m.cores} cores, Node ${m.node}, wrangler ${m.wrangler})`;
};

/** Writes bench/results/<name>.json (gitignored); answers the path relative to the repo. */
export function writeResults(name: string, data: unknown): string {
  const file = join(ROOT, 'bench', 'results', `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file.slice(ROOT.length);
}

/** Runs `main`, then stops the stack; prints the error and exits 1 if anything failed. */
export async function runBench(main: (stack: Stack) => Promise<void>): Promise<void> {
  let stack: Stack | undefined;
  const stopOnSignal = () => {
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    stack = await startBenchStack();
    await main(stack);
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  } finally {
    await stack?.stop();
  }
}
