/**
 * Vitest globalSetup for the end-to-end suite (runs once, in Node): a real livekit-server and the real
 * Worker served over HTTP by wrangler, wired to each other, on ports apart from `npm run dev` (7880/8787)
 * and the workerd tests (7980). The Worker gets a fresh local D1 under .wrangler/e2e-<random>, migrated
 * and seeded here, so the suite never touches the dev database. Everything is stopped when the run ends.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initialize from '@phi-ag/argon2/node';
import type { TestProject } from 'vitest/node';
import { unstable_startWorker } from 'wrangler';
import { DEMO_PASSWORD, seedSql } from '../d1/seed-dev.mjs';
import { ensureLivekitServer, startLivekitServer } from '../scripts/livekit.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Tried in order; HC_E2E_WORKER_PORT / HC_E2E_LIVEKIT_PORT pin one. LiveKit also takes port+1 (tcp) and port+2 (udp). */
const WORKER_PORTS = [8797, 8807, 8817];
const LIVEKIT_PORTS = [7960, 7970, 7940];
const API_KEY = 'devkey';
const API_SECRET = 'secret';
/** Mirrors PASSWORD_PARAMS in d1/seed-dev.mjs (and workers/src/lib/password.ts). */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1, hashLength: 32, type: 2, version: 19 } as const;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Worker's origin, e.g. http://127.0.0.1:8797 */
    apiOrigin: string;
    /** ws:// of the test livekit-server (also the Worker's LIVEKIT_URL). */
    livekitUrl: string;
    /** http:// of the same server, for RoomServiceClient. */
    livekitHttpUrl: string;
    livekitApiKey: string;
    livekitApiSecret: string;
    demoPassword: string;
    /** The Worker's AGENT_HOST_SECRET for this run: the stand-in agent signs its acknowledgements with it. */
    agentHostSecret: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  const cleanups: (() => Promise<void> | void)[] = [];
  const teardown = async () => {
    // Last started, first stopped; one failing stop must not keep the others running.
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error(`e2e: teardown step failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };

  try {
    const workerPort = await pickPort('HC_E2E_WORKER_PORT', WORKER_PORTS, (p) => [{ tcp: p }]);
    const livekitPort = await pickPort('HC_E2E_LIVEKIT_PORT', LIVEKIT_PORTS, (p) => [{ tcp: p }, { tcp: p + 1 }, { udp: p + 2 }]);
    const apiOrigin = `http://127.0.0.1:${workerPort}`;

    const persistDir = join(ROOT, '.wrangler', `e2e-${randomBytes(6).toString('hex')}`);
    mkdirSync(persistDir, { recursive: true });
    if (process.env.HC_E2E_KEEP_STATE !== '1') cleanups.push(() => rmSync(persistDir, { recursive: true, force: true }));

    // The database and livekit-server do not depend on each other: prepare both at once.
    const livekitStarting = ensureLivekitServer().then(() =>
      startLivekitServer({
        port: livekitPort,
        rtcTcpPort: livekitPort + 1,
        udpPort: livekitPort + 2,
        webhookUrls: [`${apiOrigin}/api/webhooks/livekit`],
        apiKey: API_KEY,
        apiSecret: API_SECRET,
      }),
    );
    const [database, started] = await Promise.allSettled([prepareDatabase(persistDir), livekitStarting]);
    if (started.status === 'fulfilled') cleanups.push(() => started.value.stop());
    if (database.status === 'rejected') throw database.reason;
    if (started.status === 'rejected') throw started.reason;
    const livekit = started.value;

    // Offline: wrangler must not fetch the Request.cf template or send metrics.
    process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
    process.env.WRANGLER_SEND_METRICS ??= 'false';
    // Not the developer's .dev.vars: every secret the Worker gets is in `bindings` below.
    const envFile = join(persistDir, 'no-dev-vars.env');
    writeFileSync(envFile, '# e2e: secrets come from e2e/global-setup.ts, not .dev.vars\n');
    const secrets = randomSecrets();
    const worker = await unstable_startWorker({
      config: join(ROOT, 'wrangler.toml'),
      envFiles: [envFile],
      sendMetrics: false,
      bindings: {
        // Each secret .dev.vars.example names, random for this run (JWT_SECRET: tokens from dev mean nothing here)...
        ...secrets,
        // ...except LiveKit's, which must match the test server's keys.
        LIVEKIT_URL: { type: 'plain_text', value: livekit.url },
        LIVEKIT_API_KEY: { type: 'plain_text', value: API_KEY },
        LIVEKIT_API_SECRET: { type: 'secret_text', value: API_SECRET },
        API_URL: { type: 'plain_text', value: apiOrigin },
      },
      dev: {
        remote: false,
        persist: persistDir,
        server: { hostname: '127.0.0.1', port: workerPort },
        inspector: false,
        watch: false,
        liveReload: false,
        logLevel: process.env.HC_E2E_VERBOSE === '1' ? 'log' : 'warn',
      },
    });
    cleanups.push(() => worker.dispose());
    await worker.ready;
    const url = await worker.url;
    if (url.port !== String(workerPort)) {
      throw new Error(`wrangler served the Worker at ${url.href}, not on port ${workerPort} (livekit-server posts webhooks there)`);
    }
    await waitHealthy(`${apiOrigin}/api/health`);

    project.provide('apiOrigin', apiOrigin);
    project.provide('livekitUrl', livekit.url);
    project.provide('livekitHttpUrl', livekit.httpUrl);
    project.provide('livekitApiKey', API_KEY);
    project.provide('livekitApiSecret', API_SECRET);
    project.provide('demoPassword', DEMO_PASSWORD);
    project.provide('agentHostSecret', secrets.AGENT_HOST_SECRET?.value ?? '');
    console.log(
      `e2e: Worker ${apiOrigin} (D1 in ${persistDir}), livekit-server ${livekit.url}; ready in ${Date.now() - startedAt} ms`,
    );
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

/** A fresh random value (48 characters) for every secret named in .dev.vars.example. */
function randomSecrets(): Record<string, { type: 'secret_text'; value: string }> {
  const names = [...readFileSync(join(ROOT, '.dev.vars.example'), 'utf8').matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]);
  return Object.fromEntries(
    names.filter((n) => n !== undefined).map((n) => [n, { type: 'secret_text' as const, value: randomBytes(36).toString('base64url') }]),
  );
}

/** Applies d1/migrations and the dev seed to the local D1 under `persistDir` (never the dev database). */
async function prepareDatabase(persistDir: string): Promise<void> {
  await wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir], 'apply the D1 migrations');
  // d1/seed-dev.mjs runs wrangler without --persist-to (it always seeds the dev database), so its SQL
  // runs here against the test database instead, with the demo password hashed the way it does.
  const argon2 = await initialize();
  const passwordHash = () =>
    argon2.hash(DEMO_PASSWORD, { ...ARGON2, salt: new Uint8Array(randomBytes(16)) }).encoded;
  const file = join(persistDir, 'seed.sql');
  writeFileSync(file, seedSql({ passwordHash }));
  try {
    await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistDir, '--file', file], 'seed the D1');
  } finally {
    rmSync(file, { force: true });
  }
}

/** Runs the project's wrangler with this Node (no npx in between); rejects with its output if it fails. */
async function wrangler(args: string[], what: string): Promise<void> {
  const manifestPath = require.resolve('wrangler/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: Record<string, string> };
  const bin = join(dirname(manifestPath), manifest.bin.wrangler ?? 'bin/wrangler.js');
  // Async, not spawnSync: livekit-server starts meanwhile and its start-up polls need the event loop.
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) throw new Error(`e2e: could not ${what} (wrangler exit ${code}):\n${output}`);
}

type Probe = { tcp: number } | { udp: number };

/** The first candidate whose ports are all free, or the one pinned by `envName`. */
async function pickPort(envName: string, candidates: number[], ports: (p: number) => Probe[]): Promise<number> {
  const pinned = process.env[envName];
  const list = pinned ? [Number(pinned)] : candidates;
  for (const candidate of list) {
    const free = await Promise.all(ports(candidate).map(isFree));
    if (free.every(Boolean)) return candidate;
  }
  throw new Error(
    `e2e: no free port among ${list.join(', ')} (each needs ${ports(0).map((p) => ('tcp' in p ? `tcp +${p.tcp}` : `udp +${p.udp}`)).join(', ')}); ` +
      `set ${envName} to a free one`,
  );
}

/** Free on loopback and on all interfaces (livekit-server binds RTC ports on every interface). */
async function isFree(probe: Probe): Promise<boolean> {
  const hosts = ['127.0.0.1', '0.0.0.0'];
  for (const host of hosts) {
    const ok =
      'tcp' in probe
        ? await new Promise<boolean>((done) => {
            const server = createServer();
            server.once('error', () => done(false));
            server.listen({ port: probe.tcp, host, exclusive: true }, () => server.close(() => done(true)));
          })
        : await new Promise<boolean>((done) => {
            const socket = createSocket('udp4');
            socket.once('error', () => {
              socket.close();
              done(false);
            });
            socket.bind({ port: probe.udp, address: host, exclusive: true }, () => socket.close(() => done(true)));
          });
    if (!ok) return false;
  }
  return true;
}

async function waitHealthy(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`e2e: the Worker did not answer ${url} within ${timeoutMs} ms (last: ${last})`);
}
