/**
 * The Go programs the dev stack and the tests run (livekit-server, Mailpit): found, or built once with
 * `go install` into `.tools/bin` (no npm or Debian package ships them; the Go module proxy does), then run
 * as a child process that must not outlive us.
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  existsSync,
  constants as fs,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS = join(ROOT, '.tools');

/**
 * @typedef {object} GoTool
 * @property {string} tool        the program's name, as on PATH and in messages (`livekit-server`)
 * @property {string} version     pinned, without the v
 * @property {string} goPackage   what `go install` takes, `<module path>@v<version>`
 * @property {string} builtName   the binary `go install` writes (the last element of the package path)
 * @property {string} envVar      points at another binary (`LIVEKIT_SERVER_BIN`)
 * @property {string} logPrefix   of the progress lines on stderr (`livekit`)
 * @property {string} buildTime   how long the first build takes, for the message before it
 * @property {string} withoutGo   how to get the program without Go
 * @property {string} [toolsDir]  where the built binary is cached (default `<repo>/.tools`)
 */

/**
 * Absolute path of the tool: $envVar, else `tool` on PATH, else `.tools/bin/<tool>-v<version>`, built the
 * first time.
 * @param {GoTool} t
 * @returns {Promise<string>}
 */
export async function ensureGoBinary(t) {
  const fromEnv = process.env[t.envVar];
  if (fromEnv) {
    const bin = resolve(fromEnv);
    if (!isExecutable(bin)) throw new Error(`${t.envVar}=${fromEnv} is not an executable file`);
    return bin;
  }
  const onPath = which(t.tool);
  if (onPath) return onPath;

  const toolsDir = t.toolsDir ?? TOOLS;
  const bin = join(toolsDir, 'bin', `${t.tool}-v${t.version}`);
  if (!isExecutable(bin)) await build(t, bin, toolsDir);
  return bin;
}

/** The `go` command, or undefined when Go is not installed. */
export function findGo() {
  return which('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/**
 * `go install` into a fresh folder, then an atomic rename to `bin`: a half-built binary never sits at `bin`.
 * A lock file keeps two processes (dev and tests, say) from building at once; the second waits for the first.
 * @param {GoTool} t
 * @param {string} bin
 * @param {string} toolsDir
 */
async function build(t, bin, toolsDir) {
  const go = findGo();
  if (!go) throw new Error(`${t.tool} not found and Go is not installed to build it.\n${t.withoutGo}`);

  mkdirSync(join(toolsDir, 'bin'), { recursive: true });
  const release = await lock(t, join(toolsDir, `${t.tool}-v${t.version}.lock`), bin);
  if (!release) return; // another process built it while we waited
  const buildDirPrefix = `${t.logPrefix}-build-`;
  try {
    if (isExecutable(bin)) return;
    removeAbandonedBuilds(toolsDir, buildDirPrefix);
    const gobin = mkdtempSync(join(toolsDir, `${buildDirPrefix}${process.pid}-`));
    console.error(
      `${t.logPrefix}: building ${t.tool} v${t.version} with ${go} install ${t.goPackage} ` + `(once; ${t.buildTime}, longer while Go downloads modules)`,
    );
    const started = Date.now();
    const code = await run(go, ['install', t.goPackage], { ...goEnv(toolsDir), GOBIN: gobin });
    if (code !== 0) {
      rmSync(gobin, { recursive: true, force: true });
      throw new Error(
        `go install ${t.goPackage} failed (exit ${code}; ${t.tool} ${t.version} needs Go 1.26+, ` + `or GOTOOLCHAIN=auto to fetch it).\n${t.withoutGo}`,
      );
    }
    renameSync(join(gobin, t.builtName), bin);
    rmSync(gobin, { recursive: true, force: true });
    console.error(`${t.logPrefix}: built ${bin} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    release();
  }
}

/**
 * Takes the build lock, or waits for its holder. Resolves with a release function, or null when `bin`
 * appeared while waiting. A lock whose process is gone (a build killed by Ctrl-C) is taken over.
 * @param {GoTool} t
 * @param {string} file
 * @param {string} bin
 * @returns {Promise<(() => void) | null>}
 */
async function lock(t, file, bin) {
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
    if (Date.now() > deadline) throw new Error(`timed out waiting for the ${t.tool} build of pid ${holder} (${file})`);
    if (!told) console.error(`${t.logPrefix}: waiting for the ${t.tool} build in process ${holder}`);
    told = true;
    await sleep(1_000);
  }
}

/**
 * Build folders left by killed builds (named after their pid); a running build's folder is kept.
 * @param {string} toolsDir
 * @param {string} prefix
 */
function removeAbandonedBuilds(toolsDir, prefix) {
  for (const name of readdirSync(toolsDir)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!isAlive(pid)) rmSync(join(toolsDir, name), { recursive: true, force: true });
  }
}

/**
 * The environment for `go`: Go's defaults (GOPATH ~/go, GOCACHE ~/.cache/go-build) need a home; without one
 * (some CI containers), the caches go under .tools (writable module cache so `rm -rf .tools` works).
 * @param {string} toolsDir
 * @returns {NodeJS.ProcessEnv}
 */
export function goEnv(toolsDir) {
  const env = { ...process.env };
  if (!env.HOME) {
    env.GOPATH ??= join(toolsDir, 'go');
    if (!env.XDG_CACHE_HOME) env.GOCACHE ??= join(toolsDir, 'go-cache');
    env.GOFLAGS = `${env.GOFLAGS ?? ''} -modcacherw`.trim();
  }
  return env;
}

/**
 * @typedef {object} ToolProcess
 * @property {Promise<number>} exited  resolves with the exit code (128 + signal) when the process exits
 * @property {() => Promise<void>} stop  sends `stopSignals` (the first at once, the others `signalGapMs`
 *   apart), SIGKILL after 5 s; resolves once it has exited
 */

/**
 * Runs a server program (its output to this process's stderr) and resolves once `readyUrl` answers 2xx
 * (and `ready`, if given, resolves true). It is killed if this process exits without stop(). Fails with
 * the program's last output if it exits first or is not ready within 30 s. With `logFile`, its output
 * is also appended there (the e2e stack greps it for values that must never be logged).
 * @param {{ name: string, bin: string, args: string[], readyUrl: string, ready?: () => Promise<boolean>,
 *   stopSignals?: NodeJS.Signals[], logFile?: string }} o
 * @returns {Promise<ToolProcess>}
 */
export async function startToolProcess({ name, bin, args, readyUrl, ready, stopSignals = ['SIGTERM'], logFile }) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  /** @type {Promise<number>} */
  const exited = new Promise((done) => {
    child.once('error', () => done(127));
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (os.signals[signal] ?? 0) : 0)));
  });
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (/** @type {Buffer} */ chunk) => {
      process.stderr.write(chunk);
      if (logFile) appendFileSync(logFile, chunk);
      tail = (tail + chunk.toString()).slice(-4_000);
    });
  }
  // If this process ends without stop() (a crash, process.exit), the server must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const timers = stopSignals.slice(1).map((signal, i) => setTimeout(() => child.kill(signal), (i + 1) * 1_000));
      child.kill(stopSignals[0]);
      timers.push(setTimeout(() => child.kill('SIGKILL'), 5_000));
      await exited;
      for (const timer of timers) clearTimeout(timer);
    }
  };

  const deadline = Date.now() + 30_000;
  let done = false;
  void exited.then(() => (done = true));
  // Ready when the URL answers and, where /proc tells, from this child's own socket: two test files
  // starting a server on the same free port at once both saw it answer, and the one whose child then
  // failed to bind went on using the other's server (which the other file later stopped).
  const port = Number(new URL(readyUrl).port);
  while (!((await answers(readyUrl)) && listensOn(child.pid, port) && (!ready || (await ready())))) {
    if (done || Date.now() > deadline) {
      await stop();
      const why = done ? `exited (code ${await exited}) before answering` : 'did not answer within 30 s';
      throw new Error(`${name} (${bin}) ${why} at ${new URL(readyUrl).origin}. Its last output:\n${tail.trim() || '(none)'}`);
    }
    await sleep(200);
  }
  return { exited, stop };
}

/**
 * Whether process `pid` holds a listening TCP socket on `port` (any address), by /proc; true where
 * there is no /proc to ask (macOS), as before.
 * @param {number | undefined} pid
 * @param {number} port
 */
function listensOn(pid, port) {
  if (pid === undefined || !existsSync('/proc/net/tcp')) return pid !== undefined;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local address (ip:PORT in hex), state (0A: listening), inode
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // exited
  }
}

/**
 * Whether `url` answers 2xx within a second.
 * @param {string} url
 */
export async function answers(url) {
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
 * @param {string} [cwd]
 * @returns {Promise<number>} exit code
 */
export function run(command, args, env, cwd = ROOT) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 2, 2] });
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (os.signals[signal] ?? 0) : 0)));
  });
}

/**
 * Until a signal (SIGINT, SIGTERM) stops `server`, or it exits by itself (a failure): the `start` command
 * of the scripts here. Resolves with the exit code.
 * @param {ToolProcess} server
 * @returns {Promise<number>}
 */
export async function runUntilSignalled(server) {
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

/** @param {string} name */
export function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = resolve(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** @param {string} file */
export function isExecutable(file) {
  try {
    accessSync(file, fs.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** @param {number} pid */
export function isAlive(pid) {
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
export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
