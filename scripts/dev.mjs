#!/usr/bin/env node
/**
 * Local development, one command:
 *
 *   npm run dev            everything: the API Worker, Mailpit, livekit-server, the agent-host, the portals
 *   npm run dev:api        the API Worker and Mailpit only (--api-only)
 *
 * Writes .dev.vars with fresh secrets if it is missing, applies the D1 migrations and the dev seed
 * to the local database, then runs the services below until Ctrl-C. Local only: nothing here
 * touches a remote database.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedDev } from '../d1/seed-dev.mjs';
import { runAsScript } from './cli.mjs';
import { ensureLivekitServer } from './livekit.mjs';
import { ensureMailpit } from './mailpit.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API_ORIGIN = 'http://127.0.0.1:8787';
const AGENT_HOST_PORT = 8788;
const SKOOL_REPLICA_PORT = 8790;
/** The dev livekit-server: wrangler.toml's LIVEKIT_URL; RTC on 7881 (tcp) and 7882 (udp); keys devkey/secret. */
const LIVEKIT_PORT = 7880;
/** Mailpit, the dev SMTP server (wrangler.toml's SMTP_HOST/SMTP_PORT): our inbox page on 8025, its own HTTP on 8026. */
const MAIL_SMTP_PORT = 1025;
const MAIL_INBOX_PORT = 8025;
const MAIL_HTTP_PORT = 8026;
const require = createRequire(import.meta.url);

/**
 * A long-running process of the dev stack.
 * @typedef {object} Service
 * @property {string} name        prefix for messages about it
 * @property {string} command
 * @property {string[]} args
 * @property {boolean} api        part of the API (started by --api-only too)
 * @property {Record<string, string>} [env]
 * @property {string} [readyUrl]  polled until it answers 2xx, then `urls` are printed
 * @property {string[]} [urls]    where to find it, printed once ready
 * @property {() => Promise<unknown>} [prepare]  runs to completion before any service starts
 */

/**
 * How to run a package's own bin with this Node. Long-running services start this way, not via
 * npx: npx puts npm and a shell between us and the program, and a signal sent to npx alone (not
 * to the whole process group) leaves the program running as an orphan.
 * @param {string} pkg
 * @param {string[]} args
 * @returns {{ command: string, args: string[] }}
 */
function localBin(pkg, args) {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  /** @type {{ bin?: string | Record<string, string> }} */
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[pkg];
  if (!bin) throw new Error(`${pkg} has no "${pkg}" bin; is it installed (npm ci)?`);
  return { command: process.execPath, args: [join(dirname(manifestPath), bin), ...args] };
}

/**
 * Everything `npm run dev` starts. The agent-host and the Vite portals join here.
 * @type {readonly Service[]}
 */
export const SERVICES = [
  {
    name: 'api',
    ...localBin('wrangler', ['dev', '--ip', '127.0.0.1', '--port', new URL(API_ORIGIN).port]),
    api: true,
    // Offline-friendly: skip fetching the Request.cf template from workers.cloudflare.com.
    env: { CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false' },
    readyUrl: `${API_ORIGIN}/api/health`,
    urls: [`API       ${API_ORIGIN}/api`, `OpenAPI   ${API_ORIGIN}/api/openapi.json`],
  },
  {
    name: 'livekit',
    // A Node wrapper that writes the config and stops the server on SIGINT/SIGTERM (scripts/livekit.mjs).
    command: process.execPath,
    args: [join(ROOT, 'scripts/livekit.mjs'), 'start', '--port', String(LIVEKIT_PORT), '--webhook', `${API_ORIGIN}/api/webhooks/livekit`],
    api: false,
    // Built once with go install (~2.5 min the first time): done before anything starts, not during.
    prepare: ensureLivekitServer,
    readyUrl: `http://127.0.0.1:${LIVEKIT_PORT}/`,
    urls: [`LiveKit   ws://127.0.0.1:${LIVEKIT_PORT} (API key devkey; webhooks to ${API_ORIGIN}/api/webhooks/livekit)`],
  },
  {
    name: 'mail',
    // Every email the Worker sends lands here (scripts/mailpit.mjs); api: the Worker's outbox sends to it.
    command: process.execPath,
    args: [
      join(ROOT, 'scripts/mailpit.mjs'),
      ...['start', '--smtp', String(MAIL_SMTP_PORT), '--http', String(MAIL_HTTP_PORT), '--inbox', String(MAIL_INBOX_PORT)],
    ],
    api: true,
    prepare: ensureMailpit,
    readyUrl: `http://127.0.0.1:${MAIL_INBOX_PORT}/readyz`,
    urls: [`Mail      http://127.0.0.1:${MAIL_INBOX_PORT} (every email the platform sends; SMTP 127.0.0.1:${MAIL_SMTP_PORT})`],
  },
  // skool.com cannot be reached offline: unless SKOOL_EMAIL is set (the real site), a local replica stands in.
  ...(process.env.SKOOL_EMAIL
    ? []
    : [
        {
          name: 'skool',
          ...localBin('tsx', [join(ROOT, 'agent-host/dev/skool-replica/main.ts'), '--port', String(SKOOL_REPLICA_PORT)]),
          api: false,
          readyUrl: `http://127.0.0.1:${SKOOL_REPLICA_PORT}/login`,
          urls: [`Skool     http://127.0.0.1:${SKOOL_REPLICA_PORT} (local replica; set SKOOL_EMAIL and friends for the real site)`],
        },
      ]),
  {
    name: 'agent-host',
    ...localBin('tsx', [join(ROOT, 'agent-host/src/skool/main.ts')]),
    api: false,
    /** Read when it starts, after .dev.vars has its AGENT_HOST_SECRET. */
    get env() {
      const replica = `http://127.0.0.1:${SKOOL_REPLICA_PORT}`;
      return {
        AGENT_HOST_SECRET: devVar('AGENT_HOST_SECRET'),
        AGENT_HOST_PORT: String(AGENT_HOST_PORT),
        SKOOL_BASE_URL: process.env.SKOOL_BASE_URL ?? replica,
        SKOOL_EMAIL: process.env.SKOOL_EMAIL ?? 'owner@replica.skool.test',
        SKOOL_PASSWORD: process.env.SKOOL_PASSWORD ?? 'replica-password-1',
        SKOOL_ULTRA_URL: process.env.SKOOL_ULTRA_URL ?? `${replica}/ultra/-/members`,
        SKOOL_VAGUS_URL: process.env.SKOOL_VAGUS_URL ?? `${replica}/vagus/-/members`,
      };
    },
    readyUrl: `http://127.0.0.1:${AGENT_HOST_PORT}/health`,
    urls: [`Agent     http://127.0.0.1:${AGENT_HOST_PORT} (Skool sync; start one: POST ${API_ORIGIN}/api/admin/skool-sync as admin)`],
  },
  {
    name: 'agent',
    // The AI coach (agent-host/src/agent). Without DEEPGRAM_API_KEY and OPENAI_API_KEY it runs offline
    // against local stand-ins of both services, and says so.
    ...localBin('tsx', [join(ROOT, 'agent-host/src/agent/main.ts')]),
    api: false,
    get env() {
      const keys = Boolean(process.env.DEEPGRAM_API_KEY && process.env.OPENAI_API_KEY);
      return {
        LIVEKIT_URL: `ws://127.0.0.1:${LIVEKIT_PORT}`,
        LIVEKIT_API_KEY: 'devkey',
        LIVEKIT_API_SECRET: devVar('LIVEKIT_API_SECRET'),
        API_URL: API_ORIGIN,
        AGENT_HOST_SECRET: devVar('AGENT_HOST_SECRET'),
        AI_PROVIDERS: process.env.AI_PROVIDERS ?? (keys ? 'real' : 'standin'),
      };
    },
    urls: [
      process.env.DEEPGRAM_API_KEY && process.env.OPENAI_API_KEY
        ? 'AI coach  registered with livekit-server (Deepgram and OpenAI)'
        : 'AI coach  OFFLINE: local stand-ins for Deepgram and OpenAI (set DEEPGRAM_API_KEY and OPENAI_API_KEY for the real ones)',
    ],
  },
  // The portals (vite.config.ts: one dev server per portal). They need the route types the Worker emits.
  ...[
    ['public', 5170, 'the public site'],
    ['coach', 5171, 'the coach portal'],
    ['client', 5172, 'the client portal'],
  ].map(([portal, port, label], i) => ({
    name: `pages-${portal}`,
    ...localBin('vite', ['--config', join(ROOT, 'vite.config.ts')]),
    api: false,
    env: { PORTAL: String(portal) },
    ...(i === 0 ? { prepare: () => step('emitting the route types for the portals', 'npx', ['tsc', '-p', 'pages/tsconfig.api-types.json']) } : {}),
    readyUrl: `http://localhost:${port}/`,
    urls: [`${String(portal).padEnd(9)} http://localhost:${port} (${label})`],
  })),
];

/** A value from .dev.vars (written by ensureDevVars before any service starts). */
function devVar(name) {
  const m = new RegExp(`^\\s*${name}\\s*=\\s*"?([^"\\n]*)"?\\s*$`, 'm').exec(readFileSync(join(ROOT, '.dev.vars'), 'utf8'));
  if (!m?.[1]) throw new Error(`${name} is missing from .dev.vars (delete the file and npm run dev writes a new one)`);
  return m[1].trim();
}

/** Secrets `npm run dev` generates when .dev.vars is missing (see .dev.vars.example). */
const GENERATED_SECRETS = {
  JWT_SECRET: () => Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString('base64url'),
};

/** Fixed values `npm run dev` adds to .dev.vars, new or existing, when their line is missing. */
const DEV_VALUES = [
  {
    name: 'LIVEKIT_API_SECRET',
    value: 'secret',
    comment: "The dev livekit-server's secret for key devkey (scripts/livekit.mjs starts it with these keys).",
  },
  {
    name: 'AGENT_HOST_SECRET',
    value: Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString('base64url'),
    comment: 'Shared by the Worker and the agent-host to sign requests both ways (random, local only).',
  },
  {
    name: 'DATA_ENCRYPTION_KEY',
    value: Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString('base64url'),
    comment: 'Encrypts data at rest that the app reads back, e.g. queued emails (random, local only; a new one makes old values unreadable).',
  },
  { name: 'SMTP_USERNAME', value: 'dev-smtp-user', comment: 'The dev Mailpit (scripts/mailpit.mjs) accepts any SMTP login.' },
  { name: 'SMTP_PASSWORD', value: 'dev-smtp-password', comment: 'The dev Mailpit (scripts/mailpit.mjs) accepts any SMTP login.' },
];

/**
 * Writes .dev.vars with random secrets if it does not exist, and adds missing DEV_VALUES to it; fails fast
 * if JWT_SECRET is unusable.
 * @param {string} [root]
 */
export function ensureDevVars(root = ROOT) {
  const file = join(root, '.dev.vars');
  if (!existsSync(file)) {
    const lines = Object.entries(GENERATED_SECRETS).map(([name, make]) => `${name}=${make()}`);
    writeFileSync(file, `# Written by npm run dev (scripts/dev.mjs) with random values. Local only: never commit.\n${lines.join('\n')}\n`, { mode: 0o600 });
    console.log(`dev: wrote .dev.vars with a fresh random ${Object.keys(GENERATED_SECRETS).join(', ')}`);
  }
  const text = readFileSync(file, 'utf8');
  const match = /^\s*JWT_SECRET\s*=\s*"?([^"\n]*)"?\s*$/m.exec(text);
  const secret = match?.[1]?.trim() ?? '';
  if (secret.length < 32) {
    throw new Error('JWT_SECRET in .dev.vars is missing or shorter than 32 characters (delete .dev.vars and npm run dev writes a new one)');
  }
  const missing = DEV_VALUES.filter(({ name }) => !new RegExp(`^\\s*${name}\\s*=`, 'm').test(text));
  if (missing.length > 0) {
    const lines = missing.map(({ name, value, comment }) => `# ${comment}\n${name}=${value}\n`);
    appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${lines.join('')}`);
    console.log(`dev: added ${missing.map(({ name }) => name).join(', ')} to .dev.vars`);
  }
}

/**
 * Runs a set-up step to completion, output shown; throws if it fails.
 * @param {string} what
 * @param {string} command
 * @param {string[]} args
 * @param {Record<string, string>} [env]
 */
function step(what, command, args, env = {}) {
  console.log(`dev: ${what}`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status ?? result.signal})`);
}

/**
 * Polls `url` until it answers 2xx; false if `child` exits first or `timeoutMs` passes.
 * @param {string} url
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} [timeoutMs]
 */
async function waitReady(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/**
 * Starts the services with inherited stdio and supervises them: SIGINT/SIGTERM are forwarded to
 * every child; when one exits, the others are stopped. Resolves with the exit code to use (the
 * first child's to exit; 128 + signal number if a signal ended it).
 * @param {readonly Service[]} services
 * @returns {Promise<number>}
 */
export function runServices(services) {
  return new Promise((resolve) => {
    /** @type {Map<Service, import('node:child_process').ChildProcess>} */
    const running = new Map();
    /** @type {number | undefined} */
    let exitCode;

    const stopAll = (/** @type {NodeJS.Signals} */ signal) => {
      for (const child of running.values()) child.kill(signal);
    };
    const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
      // Children in this terminal's process group get Ctrl-C themselves; forwarding covers a
      // signal sent to this process alone (kill <pid>, a supervisor, a CI runner).
      exitCode ??= 128 + (constants.signals[signal] ?? 0);
      stopAll(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    for (const service of services) {
      const child = spawn(service.command, service.args, {
        cwd: ROOT,
        stdio: 'inherit',
        env: { ...process.env, ...service.env },
      });
      running.set(service, child);
      child.on('error', (err) => console.error(`dev: ${service.name} failed to start: ${err.message}`));
      child.on('exit', (code, signal) => {
        running.delete(service);
        if (exitCode === undefined) {
          exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
          console.error(`dev: ${service.name} exited (${signal ?? `code ${code}`}); stopping the rest`);
          stopAll('SIGTERM');
        }
        if (running.size === 0) {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(exitCode);
        }
      });
      if (service.readyUrl) {
        void waitReady(service.readyUrl, child).then((ready) => {
          if (ready) {
            console.log(`\ndev: ${service.name} is ready\n${(service.urls ?? []).map((u) => `  ${u}`).join('\n')}\n`);
          } else if (running.has(service)) {
            console.error(`dev: ${service.name} is not answering at ${service.readyUrl} yet`);
          }
        });
      } else if (service.urls) {
        console.log(`\ndev: ${service.name} started\n${service.urls.map((u) => `  ${u}`).join('\n')}\n`);
      }
    }
  });
}

/**
 * `npm run dev [-- --api-only]`.
 * @param {readonly string[]} argv
 * @returns {Promise<number>} exit code
 */
export async function main(argv) {
  const unknown = argv.filter((a) => a !== '--api-only');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (only --api-only)`);
  const services = argv.includes('--api-only') ? SERVICES.filter((s) => s.api) : SERVICES;

  ensureDevVars();
  // CI=true: wrangler takes the default answer instead of asking before applying migrations.
  step('applying D1 migrations to the local database', 'npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], {
    CI: 'true',
  });
  console.log('dev: seeding the local database');
  await seedDev();
  for (const service of services) await service.prepare?.();

  console.log(`dev: starting ${services.map((s) => s.name).join(', ')} (Ctrl-C stops all)`);
  return runServices(services);
}

runAsScript(import.meta.url, 'dev', main);
