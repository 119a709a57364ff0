#!/usr/bin/env node
/**
 * A real livekit-server for local dev (`npm run dev`, port 7880) and the tests (port 7980).
 *
 *   node scripts/livekit.mjs ensure                              prints the binary's path (builds it if needed)
 *   node scripts/livekit.mjs start [--port N] [--webhook URL]...  runs one until Ctrl-C (RTC on N+1 tcp, N+2 udp)
 *
 * The binary is $LIVEKIT_SERVER_BIN, else `livekit-server` on PATH, else .tools/bin/livekit-server-v<version>,
 * built once with `go install` (no npm or Debian package ships the server; the Go module proxy does).
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants as fs,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAsScript } from './cli.mjs';

/** The pinned server version: the one the agents and SDKs here are tested against. */
export const LIVEKIT_SERVER_VERSION = '1.13.5';
const GO_PACKAGE = `github.com/livekit/livekit-server/cmd/server@v${LIVEKIT_SERVER_VERSION}`;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = join(ROOT, '.tools');
const BUILD_DIR_PREFIX = 'livekit-build-';

const WITHOUT_GO = `Get livekit-server ${LIVEKIT_SERVER_VERSION} another way and point LIVEKIT_SERVER_BIN at it (or put it on PATH as livekit-server):
  - Homebrew: brew install livekit
  - a release binary: https://github.com/livekit/livekit-server/releases
  - Docker, for development beside \`npm run dev:api\` only (npm run dev and npm test need a binary):
      docker run --rm -p 7880:7880 -p 7881:7881 -p 7882:7882/udp livekit/livekit-server --dev --bind 0.0.0.0
Or install Go 1.26+ (https://go.dev/dl/) and this script builds it once into .tools/bin.`;

/**
 * Absolute path of a livekit-server binary; builds the pinned version into `.tools/bin` the first time.
 * @param {{ toolsDir?: string }} [options]  toolsDir: where the built binary is cached (default `<repo>/.tools`)
 * @returns {Promise<string>}
 */
export async function ensureLivekitServer({ toolsDir = TOOLS } = {}) {
  const fromEnv = process.env.LIVEKIT_SERVER_BIN;
  if (fromEnv) {
    const bin = resolve(fromEnv);
    if (!isExecutable(bin)) throw new Error(`LIVEKIT_SERVER_BIN=${fromEnv} is not an executable file`);
    return bin;
  }
  const onPath = which('livekit-server');
  if (onPath) return onPath;

  const bin = join(toolsDir, 'bin', `livekit-server-v${LIVEKIT_SERVER_VERSION}`);
  if (!isExecutable(bin)) await build(bin, toolsDir);
  return bin;
}

/**
 * `go install` into a fresh folder, then an atomic rename to `bin`: a half-built binary never sits at `bin`.
 * A lock file keeps two processes (dev and tests, say) from building at once; the second waits for the first.
 * @param {string} bin
 * @param {string} toolsDir
 */
async function build(bin, toolsDir) {
  const go = which('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error(`livekit-server not found and Go is not installed to build it.\n${WITHOUT_GO}`);

  mkdirSync(join(toolsDir, 'bin'), { recursive: true });
  const release = await lock(join(toolsDir, `livekit-server-v${LIVEKIT_SERVER_VERSION}.lock`), bin);
  if (!release) return; // another process built it while we waited
  try {
    if (isExecutable(bin)) return;
    removeAbandonedBuilds(toolsDir);
    const gobin = mkdtempSync(join(toolsDir, `${BUILD_DIR_PREFIX}${process.pid}-`));
    console.error(
      `livekit: building livekit-server v${LIVEKIT_SERVER_VERSION} with ${go} install ${GO_PACKAGE} ` +
        '(once; about 2.5 minutes, longer while Go downloads modules)',
    );
    const started = Date.now();
    const code = await run(go, ['install', GO_PACKAGE], { ...goEnv(toolsDir), GOBIN: gobin });
    if (code !== 0) {
      rmSync(gobin, { recursive: true, force: true });
      throw new Error(
        `go install ${GO_PACKAGE} failed (exit ${code}; livekit-server ${LIVEKIT_SERVER_VERSION} needs Go 1.26+, ` +
          `or GOTOOLCHAIN=auto to fetch it).\n${WITHOUT_GO}`,
      );
    }
    renameSync(join(gobin, 'server'), bin);
    rmSync(gobin, { recursive: true, force: true });
    console.error(`livekit: built ${bin} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    release();
  }
}

/**
 * Takes the build lock, or waits for its holder. Resolves with a release function, or null when `bin`
 * appeared while waiting. A lock whose process is gone (a build killed by Ctrl-C) is taken over.
 * @param {string} file
 * @param {string} bin
 * @returns {Promise<(() => void) | null>}
 */
async function lock(file, bin) {
  const deadline = Date.now() + 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
    if (isExecutable(bin)) return null;
    const holder = Number(readText(file));
    if (!isAlive(holder)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the livekit-server build of pid ${holder} (${file})`);
    if (!told) console.error(`livekit: waiting for the livekit-server build in process ${holder}`);
    told = true;
    await sleep(1_000);
  }
}

/** Build folders left by killed builds (named after their pid); a running build's folder is kept. */
function removeAbandonedBuilds(/** @type {string} */ toolsDir) {
  for (const name of readdirSync(toolsDir)) {
    if (!name.startsWith(BUILD_DIR_PREFIX)) continue;
    const pid = Number(name.slice(BUILD_DIR_PREFIX.length).split('-')[0]);
    if (!isAlive(pid)) rmSync(join(toolsDir, name), { recursive: true, force: true });
  }
}

/**
 * The environment for `go`: Go's defaults (GOPATH ~/go, GOCACHE ~/.cache/go-build) need a home; without one
 * (some CI containers), the caches go under .tools (writable module cache so `rm -rf .tools` works).
 * @param {string} toolsDir
 * @returns {NodeJS.ProcessEnv}
 */
function goEnv(toolsDir) {
  const env = { ...process.env };
  if (!env.HOME) {
    env.GOPATH ??= join(toolsDir, 'go');
    if (!env.XDG_CACHE_HOME) env.GOCACHE ??= join(toolsDir, 'go-cache');
    env.GOFLAGS = `${env.GOFLAGS ?? ''} -modcacherw`.trim();
  }
  return env;
}

/**
 * @typedef {object} LivekitServerOptions
 * @property {number} [port]          HTTP/WebSocket (signalling and the server API)
 * @property {number} [rtcTcpPort]    WebRTC over TCP
 * @property {number} [udpPort]       WebRTC over UDP, one port for all peers
 * @property {string[]} [webhookUrls] receive signed webhooks (room_started, participant_joined, ...)
 * @property {string} [apiKey]
 * @property {string} [apiSecret]
 * @property {'debug' | 'info' | 'warn' | 'error'} [logLevel]
 */

/**
 * @typedef {object} LivekitServer
 * @property {string} url       ws:// for clients and agents
 * @property {string} httpUrl   http:// for the server API (RoomServiceClient, AgentDispatchClient)
 * @property {string} apiKey
 * @property {string} apiSecret
 * @property {Promise<number>} exited  resolves with the exit code (128 + signal) when the server exits
 * @property {() => Promise<void>} stop  SIGTERM (again after 1 s, to force past draining), SIGKILL after 5 s;
 *   resolves once it has exited
 */

/**
 * Starts livekit-server on 127.0.0.1 with a config written to `.tools/livekit-<port>.yaml`; resolves once
 * it answers HTTP. Its log (at `logLevel`) goes to this process's stderr.
 * @param {LivekitServerOptions} [options]
 * @returns {Promise<LivekitServer>}
 */
export async function startLivekitServer({
  port = 7880,
  rtcTcpPort = 7881,
  udpPort = 7882,
  webhookUrls = [],
  apiKey = 'devkey',
  apiSecret = 'secret',
  logLevel = 'warn',
} = {}) {
  const httpUrl = `http://127.0.0.1:${port}`;
  const configFile = join(TOOLS, `livekit-${port}.yaml`);
  await assertPortFree(httpUrl, configFile);

  const bin = await ensureLivekitServer();
  mkdirSync(TOOLS, { recursive: true });
  writeFileSync(configFile, configYaml({ port, rtcTcpPort, udpPort, webhookUrls, apiKey, apiSecret, logLevel }), {
    mode: 0o600,
  });
  chmodSync(configFile, 0o600);

  // --dev keeps the keys from the config (it only fills in devkey/secret when there are none); it also
  // silences the "secret shorter than 32 characters" error and the UDP buffer size warning.
  const child = spawn(bin, ['--config', configFile, '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {Promise<number>} */
  const exited = new Promise((done) => {
    child.once('error', () => done(127));
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (os.signals[signal] ?? 0) : 0)));
  });
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (/** @type {Buffer} */ chunk) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString()).slice(-4_000);
    });
  }
  // If this process ends without stop() (a crash, process.exit), the server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      // The first SIGTERM drains: livekit-server waits (indefinitely) for participants to leave. A second
      // one forces it to close their connections and exit; SIGKILL if even that hangs.
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGTERM'), 1_000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
      clearTimeout(kill);
    }
  };

  const deadline = Date.now() + 30_000;
  let done = false;
  void exited.then(() => (done = true));
  while (!(await answers(`${httpUrl}/`))) {
    if (done || Date.now() > deadline) {
      await stop();
      const why = done ? `exited (code ${await exited}) before answering` : 'did not answer within 30 s';
      throw new Error(`livekit-server (${bin}) ${why} at ${httpUrl}. Its last output:\n${tail.trim() || '(none)'}`);
    }
    await sleep(200);
  }
  return { url: `ws://127.0.0.1:${port}`, httpUrl, apiKey, apiSecret, exited, stop };
}

/**
 * Fails when something already answers at `httpUrl`, saying whether it is a leftover livekit-server.
 * @param {string} httpUrl
 * @param {string} configFile
 */
async function assertPortFree(httpUrl, configFile) {
  if (!(await answers(`${httpUrl}/`))) return;
  // livekit-server answers its Twirp API without a token with 401 "unauthenticated".
  const twirp = await fetch(`${httpUrl}/twirp/livekit.RoomService/ListRooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(2_000),
  }).then(
    (r) => r.text(),
    () => '',
  );
  const port = new URL(httpUrl).port;
  throw new Error(
    twirp.includes('unauthenticated')
      ? `a livekit-server is already running at ${httpUrl}, probably left by an earlier run; stop it first ` +
          `(\`pgrep -af ${configFile}\` shows it if this script started it) rather than reusing a server ` +
          'whose keys and webhooks may differ'
      : `port ${port} is already in use by something that is not livekit-server (${httpUrl} answers)`,
  );
}

/**
 * @param {Required<LivekitServerOptions>} o
 * @returns {string}
 */
function configYaml(o) {
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  const lines = [
    `# Written by scripts/livekit.mjs; rewritten at every start.`,
    `port: ${o.port}`,
    'bind_addresses:',
    `  - ${q('127.0.0.1')}`,
    'rtc:',
    `  tcp_port: ${o.rtcTcpPort}`,
    `  udp_port: ${o.udpPort}`,
    '  use_external_ip: false',
    // Everything runs on this machine: advertise loopback, not whatever interface the host has.
    `  node_ip: ${q('127.0.0.1')}`,
    'keys:',
    `  ${q(o.apiKey)}: ${q(o.apiSecret)}`,
    'logging:',
    `  level: ${q(o.logLevel)}`,
  ];
  if (o.webhookUrls.length > 0) {
    lines.push('webhook:', `  api_key: ${q(o.apiKey)}`, '  urls:', ...o.webhookUrls.map((u) => `    - ${q(u)}`));
  }
  return `${lines.join('\n')}\n`;
}

/** @param {string} url */
async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Runs a command, output to this process's stderr (stdout stays free for `ensure`'s answer).
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<number>} exit code
 */
function run(command, args, env) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 2, 2] });
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (os.signals[signal] ?? 0) : 0)));
  });
}

/** @param {string} name */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = resolve(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** @param {string} file */
function isExecutable(file) {
  try {
    accessSync(file, fs.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** @param {number} pid */
function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/** @param {string} file */
function readText(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** @param {number} ms */
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * The command line (see the top of this file).
 * @param {readonly string[]} argv
 * @returns {Promise<number>} exit code
 */
export async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'ensure' && rest.length === 0) {
    console.log(await ensureLivekitServer());
    return 0;
  }
  if (command !== 'start') throw new Error('usage: livekit.mjs ensure | start [--port N] [--webhook URL]...');

  let port = 7880;
  /** @type {string[]} */
  const webhookUrls = [];
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (flag === '--port' && value && /^\d+$/.test(value)) port = Number(value);
    else if (flag === '--webhook' && value) webhookUrls.push(new URL(value).href);
    else throw new Error(`unknown or incomplete argument: ${flag} (start takes --port N and --webhook URL)`);
  }

  const server = await startLivekitServer({ port, rtcTcpPort: port + 1, udpPort: port + 2, webhookUrls });
  console.log(
    `livekit: ready at ${server.url} (API key ${server.apiKey}; RTC on tcp ${port + 1}, udp ${port + 2})` +
      (webhookUrls.length > 0 ? `, webhooks to ${webhookUrls.join(', ')}` : ''),
  );
  /** @type {number | undefined} */
  let signalled;
  const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
    // Idempotent: under `npm run dev`, Ctrl-C reaches this process from the terminal and from dev.mjs.
    signalled ??= 128 + (os.signals[signal] ?? 0);
    void server.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await server.exited;
  return signalled ?? (code === 0 ? 1 : code); // exiting by itself is a failure
}

runAsScript(import.meta.url, 'livekit', main);
