/**
 * The real stack, started from Node: a livekit-server, a Mailpit (the SMTP server the Worker's email goes
 * to) and the Worker served over HTTP by wrangler (`unstable_startWorker`, the same local runtime as
 * `wrangler dev`), wired to each other. The Worker
 * gets a fresh local D1 under .wrangler/<label>-<random>, migrated and seeded here, so nothing touches
 * the dev database. Used by the e2e globalSetup and by the benches in bench/.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import initialize from '@phi-ag/argon2/node';
import { freePort } from '../agent-host/src/lib/free-port';
import { DEMO_PASSWORD, seedSql } from '../d1/seed-dev.mjs';
import { ensureLivekitServer, startLivekitServer } from '../scripts/livekit.mjs';
import { type Mailpit, startMailpit } from '../scripts/mailpit.mjs';
import { isPortFree } from '../scripts/ports.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const API_KEY = 'devkey';
const API_SECRET = 'secret';
/** Mirrors PASSWORD_PARAMS in d1/seed-dev.mjs (and workers/src/lib/password.ts). */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1, hashLength: 32, type: 2, version: 19 } as const;

export interface StackOptions {
  /** Prefix of messages and of the state directory (.wrangler/<label>-<random>), e.g. 'e2e'. */
  label: string;
  /**
   * Prefix of the environment variables that tune this stack, e.g. 'HC_E2E': <prefix>_WORKER_PORT and
   * <prefix>_LIVEKIT_PORT pin a port; <prefix>_KEEP_STATE=1 leaves the D1 directory in place after
   * stop() (to inspect it); <prefix>_VERBOSE=1 prints the Worker's own logs (wrangler log level 'log').
   */
  envPrefix: string;
  /** Worker ports tried in order, unless <envPrefix>_WORKER_PORT pins one. */
  workerPorts: number[];
  /** livekit-server ports tried in order (each also takes port+1 tcp and port+2 udp), unless <envPrefix>_LIVEKIT_PORT pins one. */
  livekitPorts: number[];
  /** Where the Worker finds the agent-host (its AGENT_HOST_URL); the wrangler.toml default otherwise. */
  agentHostUrl?: string;
  /**
   * Where the portals are served (the Worker's PUBLIC_APP_URL / CLIENT_APP_URL / COACH_APP_URL): the
   * API allows only these origins (CORS) and sends each role to its portal after login.
   */
  portalUrls?: { public?: string; client?: string; coach?: string };
}

export interface Stack {
  /** The Worker's origin, e.g. http://127.0.0.1:8797 */
  apiOrigin: string;
  /** ws:// of the livekit-server (also the Worker's LIVEKIT_URL). */
  livekitUrl: string;
  /** http:// of the same server, for RoomServiceClient. */
  livekitHttpUrl: string;
  livekitApiKey: string;
  livekitApiSecret: string;
  /** http:// of the Mailpit the Worker sends its email to (test mode): e2e/mail.ts reads it. */
  mailpitUrl: string;
  /** Password of every seeded account (d1/seed-dev.mjs). */
  demoPassword: string;
  /** The Worker's AGENT_HOST_SECRET for this stack: what the agent-host would sign its requests with. */
  agentHostSecret: string;
  /** The Worker's local state (D1, Durable Objects): `wrangler d1 execute DB --local --persist-to` it. */
  persistDir: string;
  /**
   * Folders holding every line the stack's processes logged, at every level, whatever the terminal
   * shows: the Worker's (wrangler's log file) and livekit-server's (`livekit.log`). The e2e test
   * no-secrets-in-logs greps them; gone with the state directory at stop().
   */
  logDirs: string[];
  /** Runs SQL on the Worker's local D1 (through `wrangler d1 execute`, a process of its own). */
  executeSql(sql: string): Promise<void>;
  /** Runs a query on the Worker's local D1 and answers its rows. */
  querySql<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Stops everything that was started; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts livekit-server, Mailpit and the Worker on a fresh, migrated and seeded local D1; resolves once the Worker answers. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { label, envPrefix } = options;
  const keepState = process.env[`${envPrefix}_KEEP_STATE`] === '1';
  const verbose = process.env[`${envPrefix}_VERBOSE`] === '1';
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // Last started, first stopped; one failing stop must not keep the others running.
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          console.error(`${label}: teardown step failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })());

  try {
    const workerPort = await pickPort(label, `${envPrefix}_WORKER_PORT`, options.workerPorts, (p) => [{ tcp: p }]);
    const livekitPort = await pickPort(label, `${envPrefix}_LIVEKIT_PORT`, options.livekitPorts, (p) => [{ tcp: p }, { tcp: p + 1 }, { udp: p + 2 }]);
    const apiOrigin = `http://127.0.0.1:${workerPort}`;

    const persistDir = join(ROOT, '.wrangler', `${label}-${randomBytes(6).toString('hex')}`);
    mkdirSync(persistDir, { recursive: true });
    if (!keepState) cleanups.push(() => rmSync(persistDir, { recursive: true, force: true }));
    const logDir = join(persistDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const d1: D1Command = (command, args, what) => wrangler(label, ['d1', ...command.split(' '), 'DB', '--local', '--persist-to', persistDir, ...args], what);

    // The database and livekit-server do not depend on each other: prepare both at once.
    const livekitStarting = ensureLivekitServer().then(() =>
      startLivekitServer({
        port: livekitPort,
        rtcTcpPort: livekitPort + 1,
        udpPort: livekitPort + 2,
        webhookUrls: [`${apiOrigin}/api/webhooks/livekit`],
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        logFile: join(logDir, 'livekit.log'),
      }),
    );
    const [database, started, mail] = await Promise.allSettled([prepareDatabase(persistDir, d1), livekitStarting, startTestMailpit()]);
    if (started.status === 'fulfilled') cleanups.push(() => started.value.stop());
    if (mail.status === 'fulfilled') cleanups.push(() => mail.value.stop());
    if (database.status === 'rejected') throw database.reason;
    if (started.status === 'rejected') throw started.reason;
    if (mail.status === 'rejected') throw mail.reason;
    const livekit = started.value;
    const mailpit = mail.value;

    // Offline: wrangler must not fetch the Request.cf template or send metrics.
    process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
    process.env.WRANGLER_SEND_METRICS ??= 'false';
    // Not the developer's .dev.vars: every secret the Worker gets is in `bindings` below.
    const envFile = join(persistDir, 'no-dev-vars.env');
    writeFileSync(envFile, `# ${label}: secrets come from e2e/stack.ts, not .dev.vars\n`);
    const secrets = randomSecrets();
    // A test stack never reloads: wrangler watches wrangler.toml even with `watch: false`, and a reload
    // restarts the Worker under a request in flight, which its dev proxy answers "Your worker restarted
    // mid-request". One CI run got that on a POST between two test files; what reloaded it there is not
    // known (wrangler.toml was untouched), the watcher is the one reload source left with `watch: false`.
    process.env.WRANGLER_CI_DISABLE_CONFIG_WATCHING = 'true';
    const { unstable_startWorker } = await importWranglerLoggingTo(join(logDir, 'worker'));
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
        // Email goes to this stack's Mailpit (any SMTP login accepted, so the random SMTP_USERNAME and
        // SMTP_PASSWORD above do); retries come quickly so a test sees a retried message arrive.
        SMTP_HOST: { type: 'plain_text', value: '127.0.0.1' },
        SMTP_PORT: { type: 'plain_text', value: String(mailpit.smtpPort) },
        SMTP_TLS: { type: 'plain_text', value: 'off' },
        MAIL_FROM: { type: 'plain_text', value: 'Hybrid Coach <no-reply@hybrid.coach>' },
        MAIL_RETRY_BASE_MS: { type: 'plain_text', value: '500' },
        // Every e2e file signs in from 127.0.0.1, often as the same seed accounts: far more than the
        // real limits allow a person in 15 minutes (workers tests check those limits).
        LOGIN_LIMIT_PER_IP: { type: 'plain_text', value: '5000' },
        LOGIN_LIMIT_PER_ACCOUNT: { type: 'plain_text', value: '5000' },
        ...(options.agentHostUrl ? { AGENT_HOST_URL: { type: 'plain_text' as const, value: options.agentHostUrl } } : {}),
        ...portalBindings(options.portalUrls),
      },
      dev: {
        // GET /__scheduled?cron=... runs the cron handler, as Cloudflare's trigger would.
        testScheduled: true,
        remote: false,
        persist: persistDir,
        server: { hostname: '127.0.0.1', port: workerPort },
        inspector: false,
        watch: false,
        liveReload: false,
        logLevel: verbose ? 'log' : 'warn',
      },
    });
    cleanups.push(() => worker.dispose());
    await worker.ready;
    const url = await worker.url;
    if (url.port !== String(workerPort)) {
      throw new Error(`wrangler served the Worker at ${url.href}, not on port ${workerPort} (livekit-server posts webhooks there)`);
    }
    await waitHealthy(label, `${apiOrigin}/api/health`);

    return {
      apiOrigin,
      livekitUrl: livekit.url,
      livekitHttpUrl: livekit.httpUrl,
      livekitApiKey: API_KEY,
      livekitApiSecret: API_SECRET,
      mailpitUrl: mailpit.httpUrl,
      demoPassword: DEMO_PASSWORD,
      agentHostSecret: secrets.AGENT_HOST_SECRET?.value ?? '',
      persistDir,
      // A second stack in one process shares the first one's wrangler log (wrangler reads the path once).
      logDirs: [logDir, wranglerLogDir ?? logDir],
      executeSql: async (sql) => {
        await d1('execute', ['--command', sql], 'run SQL on the D1');
      },
      querySql: <T>(sql: string) => queryLocalD1<T>(persistDir, sql, label),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where this process's wrangler writes its log file: fixed when wrangler is first imported. */
let wranglerLogDir: string | undefined;

/**
 * wrangler, imported with WRANGLER_LOG_PATH set to `dir`: wrangler appends every log line of the
 * Worker (all levels, whatever `logLevel` prints) to a file there, and reads that variable once, when
 * it is first imported. Set only for this import: the `wrangler d1` commands run here keep logging
 * where they did (their output holds query results, which are the test's, not the Worker's).
 */
async function importWranglerLoggingTo(dir: string): Promise<typeof import('wrangler')> {
  const before = process.env.WRANGLER_LOG_PATH;
  process.env.WRANGLER_LOG_PATH = dir;
  try {
    const wrangler = await import('wrangler');
    wranglerLogDir ??= dir;
    return wrangler;
  } finally {
    if (before === undefined) delete process.env.WRANGLER_LOG_PATH;
    else process.env.WRANGLER_LOG_PATH = before;
  }
}

/** Mailpit in test mode on two free ports (SMTP, HTTP). */
async function startTestMailpit(): Promise<Mailpit> {
  const smtpPort = await freePort();
  let httpPort = await freePort();
  while (httpPort === smtpPort) httpPort = await freePort();
  return startMailpit({ smtpPort, httpPort, test: true });
}

/** The Worker's portal URL variables for the portals given (the wrangler.toml defaults for the others). */
function portalBindings(urls: StackOptions['portalUrls'] = {}): Record<string, { type: 'plain_text'; value: string }> {
  const names = { public: 'PUBLIC_APP_URL', client: 'CLIENT_APP_URL', coach: 'COACH_APP_URL' } as const;
  const out: Record<string, { type: 'plain_text'; value: string }> = {};
  for (const [portal, name] of Object.entries(names) as [keyof typeof names, string][]) {
    const url = urls[portal];
    if (url) out[name] = { type: 'plain_text', value: url };
  }
  return out;
}

/**
 * Runs a query on a stack's local D1 (by its state directory) and answers the rows. The running Worker
 * has the same SQLite file open: when it holds the lock at that moment, wrangler fails with
 * SQLITE_BUSY having changed nothing (the statements run as one batch), so the query is tried again.
 */
export async function queryLocalD1<T = Record<string, unknown>>(persistDir: string, sql: string, label = 'e2e'): Promise<T[]> {
  const args = ['d1', 'execute', 'DB', '--local', '--persist-to', persistDir, '--json', '--command', sql];
  let out = '';
  for (let attempt = 1; ; attempt++) {
    try {
      out = await wrangler(label, args, 'query the D1');
      break;
    } catch (err) {
      if (attempt >= 8 || !/SQLITE_BUSY|database is locked/.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as { results: T[] }[];
  return parsed.flatMap((r) => r.results);
}

/** A fresh random value (48 characters) for every secret named in .dev.vars.example. */
function randomSecrets(): Record<string, { type: 'secret_text'; value: string }> {
  const names = [...readFileSync(join(ROOT, '.dev.vars.example'), 'utf8').matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]);
  return Object.fromEntries(
    names.filter((n) => n !== undefined).map((n) => [n, { type: 'secret_text' as const, value: randomBytes(36).toString('base64url') }]),
  );
}

/** `wrangler d1 <command> DB --local --persist-to <the stack's directory> ...args`. */
type D1Command = (command: 'migrations apply' | 'execute', args: string[], what: string) => Promise<string>;

/** Applies d1/migrations and the dev seed to the local D1 under `persistDir` (never the dev database). */
async function prepareDatabase(persistDir: string, d1: D1Command): Promise<void> {
  await d1('migrations apply', [], 'apply the D1 migrations');
  // d1/seed-dev.mjs runs wrangler without --persist-to (it always seeds the dev database), so its SQL
  // runs here against the test database instead, with the demo password hashed the way it does.
  const argon2 = await initialize();
  const passwordHash = () => argon2.hash(DEMO_PASSWORD, { ...ARGON2, salt: new Uint8Array(randomBytes(16)) }).encoded;
  const file = join(persistDir, 'seed.sql');
  writeFileSync(file, seedSql({ passwordHash }));
  try {
    await d1('execute', ['--file', file], 'seed the D1');
  } finally {
    rmSync(file, { force: true });
  }
}

/** Runs the project's wrangler with this Node (no npx in between); rejects with its output if it fails. */
async function wrangler(label: string, args: string[], what: string): Promise<string> {
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
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', done);
  });
  if (code !== 0) throw new Error(`${label}: could not ${what} (wrangler exit ${code}):\n${output}`);
  return stdout;
}

type Probe = { tcp: number } | { udp: number };

/** The first candidate whose ports are all free, or the one pinned by the environment variable `envName`. */
async function pickPort(label: string, envName: string, candidates: number[], ports: (p: number) => Probe[]): Promise<number> {
  const pinned = process.env[envName];
  const list = pinned ? [Number(pinned)] : candidates;
  for (const candidate of list) {
    const free = await Promise.all(ports(candidate).map(isPortFree));
    if (free.every(Boolean)) return candidate;
  }
  throw new Error(
    `${label}: no free port among ${list.join(', ')} (each needs ${ports(0)
      .map((p) => ('tcp' in p ? `tcp +${p.tcp}` : `udp +${p.udp}`))
      .join(', ')}); ` + `set ${envName} to a free one`,
  );
}

async function waitHealthy(label: string, url: string, timeoutMs = 30_000): Promise<void> {
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
  throw new Error(`${label}: the Worker did not answer ${url} within ${timeoutMs} ms (last: ${last})`);
}
