/**
 * agent-host/Dockerfile rehearsed without Docker (this machine has no engine and no base images): its
 * own steps, replayed on exactly the build context .dockerignore lets through, must give a tree that
 * holds production dependencies only, starts with the image's command and environment, serves, and
 * runs a Skool sync with the image's Chromium.
 *
 * Two ways, by REHEARSE_IN:
 * - `host` (the default): each stage is a folder on this machine. What cannot be replayed there is
 *   stood in for, and said so below: the base image (this machine's Node), the runtime stage's apt-get
 *   (its Debian packages are installed here), tini, the USER (an unprivileged uid), the VOLUME (a
 *   temp dir).
 * - `rootfs`: each stage is a Debian bookworm root with Node 20 and the `node` user, rebuilt from
 *   Debian's packages as the base image is made (rootfs-helpers.ts), and every instruction runs for
 *   real inside it: both stages' RUN lines (apt-get install of Chromium and tini included), the USER,
 *   the ENTRYPOINT (tini as PID 1 of the container's own PID namespace), the HEALTHCHECK beside it as
 *   Docker execs it. Only the base image's origin differs from `docker build`: Debian's mirror and
 *   this machine's Node 20 rather than Docker Hub's layers. Needs root and debootstrap; `.ci/run`
 *   runs it.
 * An instruction or syntax the rehearsal does not know fails the test, so a new one is taught here
 * rather than silently skipped.
 *
 * REHEARSE_DOCKERFILE=<path> rehearses another Dockerfile (a changed copy) with the same context.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, rmdir, stat, symlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { FinalMessage, MembersMessage } from '@hybrid-coach/shared/skool-sync-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LivekitServer } from '../../scripts/livekit.mjs';
import { type SkoolReplica, startReplica } from '../dev/skool-replica/server';
import { type Standins, startStandins } from '../dev/standins';
import { HostProcess, hostEnv, processTree, startTestLivekit, until } from './helpers';
import { BASE_ENV, ensureBaseRootfs, execIn, firstProcess, inRootfs, rootfsMissing, userIn } from './rootfs-helpers';
import { type Receiver, startReceiver, TEST_SECRET } from './skool/helpers';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = process.env.REHEARSE_DOCKERFILE ?? join(ROOT, 'agent-host/Dockerfile');
const PORT = 18795;
const IN_ROOTFS = (process.env.REHEARSE_IN ?? 'host') === 'rootfs';
if (!['host', 'rootfs'].includes(process.env.REHEARSE_IN ?? 'host')) throw new Error(`REHEARSE_IN is host or rootfs, not ${process.env.REHEARSE_IN}`);
/** This machine's PATH, for the tools that set a container up (unshare, nsenter). */
const MACHINE_PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
/** Where a RUN finds the machine's npm cache (bound in for that RUN only, then removed). */
const NPM_CACHE_IN_ROOT = '/tmp/.rehearsal-npm-cache';
/** The image's `USER node` on a machine without that user: nobody, when the tests run as root. */
const UNPRIVILEGED = 65534;

// ---- reading the Dockerfile and .dockerignore ----------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments (parser directives too) dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*#\s*escape\s*=/i.test(raw) && out.length === 0) throw new Error('Dockerfile: the escape directive is not supported by the rehearsal');
    if (/^\s*(#|$)/.test(raw)) return; // Docker drops comment and empty lines inside continuations too
    const continues = /\\\s*$/.test(raw);
    const body = raw.replace(/\\\s*$/, '');
    pending = pending ? { line: pending.line, text: pending.text + body } : { line: i + 1, text: body };
    if (continues) return;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(pending.text);
    if (!m?.[1] || m[2] === undefined) throw new Error(`Dockerfile line ${pending.line}: cannot read "${pending.text.trim()}"`);
    if (m[2].trimStart().startsWith('<<')) throw new Error(`Dockerfile line ${pending.line}: heredocs are not supported by the rehearsal`);
    out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: pending.line });
    pending = undefined;
  });
  if (pending) throw new Error(`Dockerfile ends inside the instruction of line ${pending.line}`);
  return out;
}

/** Shell-like words: whitespace splits, quotes group and are removed. */
function words(args: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const c = args[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unterminated quote in: ${args}`);
  if (word !== undefined) out.push(word);
  return out;
}

/** Exec form (a JSON array) as it is; shell form as `/bin/sh -c`. */
function commandLine(args: string): string[] {
  if (!args.startsWith('[')) return ['/bin/sh', '-c', args];
  const argv: unknown = JSON.parse(args);
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`not an exec-form command: ${args}`);
  return argv;
}

/** Leading `--name=value` flags, refusing any but `known`. */
function flags(tokens: string[], known: string[], where: string): { flags: Record<string, string>; rest: string[] } {
  const found: Record<string, string> = {};
  let i = 0;
  for (; tokens[i]?.startsWith('--'); i++) {
    const [name, value] = (tokens[i] as string).slice(2).split(/=(.*)/s);
    if (!name || value === undefined || !known.includes(name)) throw new Error(`${where}: the flag ${tokens[i]} is not supported by the rehearsal`);
    found[name] = value;
  }
  return { flags: found, rest: tokens.slice(i) };
}

/** ".dockerignore" as Docker reads it: later lines win, a pattern also matches everything under what it matches. */
function parseDockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix
        .normalize(
          line
            .slice(negate ? 1 : 0)
            .trim()
            .replace(/^\/+/, ''),
        )
        .replace(/\/+$/, '');
      if (/[[\]\\{}]/.test(pattern) || pattern.startsWith('..')) throw new Error(`.dockerignore: "${line}" uses syntax the rehearsal does not implement`);
      const segments = pattern.split('/');
      const source = segments
        .map((seg, i) => {
          const last = i === segments.length - 1;
          if (seg === '**') return last ? '.*' : '(?:[^/]+/)*';
          if (seg.includes('**')) throw new Error(`.dockerignore: "${line}": ** only as a whole path segment`);
          const re = seg
            .replace(/[.+^$()|]/g, '\\$&')
            .replaceAll('*', '[^/]*')
            .replaceAll('?', '[^/]');
          return last ? re : `${re}/`;
        })
        .join('');
      return { negate, re: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    const selfAndParents = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (selfAndParents.some((p) => rule.re.test(p))) excluded = !rule.negate;
    return excluded;
  };
}

interface Stage {
  name: string;
  base: string;
  steps: Instruction[];
}

/** Stages in order; global ARGs (before the first FROM) substituted into FROM lines. */
function stagesOf(instructions: Instruction[]): Stage[] {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = ins.args.split(/=(.*)/s);
      if (!name || value === undefined) throw new Error(`Dockerfile line ${ins.line}: an ARG without a default is not supported by the rehearsal`);
      args[name] = value;
    } else if (ins.keyword === 'FROM') {
      const expanded = ins.args.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
        const value = args[(a ?? b) as string];
        if (value === undefined) throw new Error(`Dockerfile line ${ins.line}: no ARG ${a ?? b}`);
        return value;
      });
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(expanded);
      if (!m?.[1]) throw new Error(`Dockerfile line ${ins.line}: FROM ${ins.args} is not supported by the rehearsal`);
      if (stages.some((s) => s.name === m[1])) throw new Error(`Dockerfile line ${ins.line}: FROM an earlier stage is not supported by the rehearsal`);
      stages.push({ name: m[2] ?? String(stages.length), base: m[1], steps: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      stage.steps.push(ins);
    }
  }
  return stages;
}

// ---- replaying it --------------------------------------------------------------------------------

const running = new Set<ChildProcess>();

/** Runs `argv` in its own process group (ended in afterAll if the test is cut short); resolves with its exit code and output. */
function run(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; uid?: number; gid?: number; timeoutMs?: number },
): Promise<{ code: number | null; output: string }> {
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true, timeout: options.timeoutMs });
  running.add(child);
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      running.delete(child);
      resolve({ code, output: output.join('') });
    });
  });
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const { code, output } = await run(['cp', '-a', from, to], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (code !== 0) throw new Error(`cp -a ${from} ${to}: ${output}`);
}

/** Tracked files (working-tree contents) that .dockerignore admits, copied into `context`; their paths. */
async function buildContext(context: string): Promise<string[]> {
  const excluded = parseDockerignore(await readFile(join(ROOT, '.dockerignore'), 'utf8'));
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const admitted: string[] = [];
  for (const path of tracked.filter((p) => !excluded(p))) {
    const stat = await lstat(join(ROOT, path)).catch(() => undefined);
    if (!stat) continue; // deleted in the working tree, not yet committed
    await mkdir(dirname(join(context, path)), { recursive: true });
    if (stat.isSymbolicLink()) await symlink(await readlink(join(ROOT, path)), join(context, path));
    else await copyFile(join(ROOT, path), join(context, path));
    admitted.push(path);
  }
  return admitted;
}

interface Replayed {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  volumes: string[];
  cmd?: string[];
  entrypoint?: string[];
  healthcheck?: { argv: string[]; timeoutMs: number };
  /** Context paths its COPY instructions took. */
  copied: string[];
}

/**
 * One stage into `roots[stage.name]` (the stage's "/"). Each RUN runs with `sh -c` in the WORKDIR with
 * the stage's ENV, unless `notReplayed` is given: then every RUN must match one of those, and none runs.
 */
async function replay(stage: Stage, roots: Record<string, string>, context: string, notReplayed?: RegExp[]): Promise<Replayed> {
  const root = roots[stage.name] as string;
  const at = (path: string) => join(root, path);
  const out: Replayed = { root, workdir: '/', env: {}, volumes: [], copied: [] };
  await mkdir(root, { recursive: true });
  if (IN_ROOTFS) await copyTree(`${await ensureBaseRootfs(stage.base)}/.`, root);
  for (const step of stage.steps) {
    const where = `Dockerfile line ${step.line} (${step.keyword})`;
    if (['WORKDIR', 'ENV', 'COPY'].includes(step.keyword) && step.args.includes('$'))
      throw new Error(`${where}: variable substitution is not supported by the rehearsal`);
    switch (step.keyword) {
      case 'WORKDIR':
        out.workdir = posix.resolve(out.workdir, step.args);
        await mkdir(at(out.workdir), { recursive: true });
        break;
      case 'ENV': {
        const tokens = words(step.args);
        if (!tokens.every((t) => t.includes('='))) throw new Error(`${where}: only the KEY=value form is supported by the rehearsal`);
        for (const t of tokens) {
          const [key, value] = t.split(/=(.*)/s) as [string, string];
          out.env[key] = value;
        }
        break;
      }
      case 'COPY': {
        if (step.args.startsWith('[')) throw new Error(`${where}: the JSON form is not supported by the rehearsal`);
        const { flags: f, rest } = flags(words(step.args), ['from'], where);
        const sources = rest.slice(0, -1);
        const dest = rest.at(-1);
        if (!dest || sources.length === 0) throw new Error(`${where}: COPY needs a source and a destination`);
        if (sources.length > 1 && !dest.endsWith('/')) throw new Error(`${where}: several sources need a destination ending in /`);
        const fromRoot = f.from === undefined ? context : roots[f.from];
        if (fromRoot === undefined || !existsSync(fromRoot)) throw new Error(`${where}: no earlier stage ${f.from}`);
        const target = posix.resolve(out.workdir, dest);
        for (const source of sources) {
          if (/[*?[]/.test(source)) throw new Error(`${where}: wildcards are not supported by the rehearsal`);
          const path = f.from === undefined ? posix.normalize(source).replace(/\/+$/, '') : posix.resolve('/', source);
          if (path.startsWith('..')) throw new Error(`${where}: ${source} is outside the context`);
          const stat = await lstat(join(fromRoot, path)).catch(() => undefined);
          if (!stat)
            throw new Error(
              `${where}: ${source} is not in the ${f.from === undefined ? 'build context (.dockerignore leaves it out, or git does not track it)' : `stage ${f.from}`}`,
            );
          if (stat.isDirectory()) {
            await mkdir(at(target), { recursive: true });
            await copyTree(`${join(fromRoot, path)}/.`, at(target));
          } else await copyTree(join(fromRoot, path), dest.endsWith('/') ? join(at(target), posix.basename(path)) : at(target));
          if (f.from === undefined) out.copied.push(path);
        }
        break;
      }
      case 'RUN': {
        if (notReplayed) {
          if (notReplayed.some((re) => re.test(step.args))) break;
          throw new Error(`${where}: the rehearsal does not know how to stand in for "${step.args}" in stage ${stage.name}; teach it`);
        }
        if (step.args.startsWith('[') || step.args.startsWith('--')) throw new Error(`${where}: only a plain shell-form RUN is supported by the rehearsal`);
        const { code, output } = IN_ROOTFS
          ? await runInRoot(root, out, step.args)
          : await run(['/bin/sh', '-c', step.args], { cwd: at(out.workdir), env: buildEnv(root, out.env), timeoutMs: 8 * 60_000 });
        if (code !== 0) throw new Error(`${where}: \`${step.args}\` exited ${code}:\n${output.split('\n').slice(-40).join('\n')}`);
        break;
      }
      case 'USER':
        out.user = step.args;
        break;
      case 'VOLUME':
        out.volumes.push(...(step.args.startsWith('[') ? commandLine(step.args) : words(step.args)));
        break;
      case 'CMD':
        out.cmd = commandLine(step.args);
        break;
      case 'ENTRYPOINT':
        out.entrypoint = commandLine(step.args);
        break;
      case 'HEALTHCHECK': {
        const m = /^(.*?)\bCMD\s+(.*)$/s.exec(step.args);
        if (!m) throw new Error(`${where}: only HEALTHCHECK [options] CMD ... is supported by the rehearsal`);
        const { flags: f, rest } = flags(words(m[1] as string), ['interval', 'timeout', 'start-period', 'start-interval', 'retries'], where);
        if (rest.length > 0) throw new Error(`${where}: cannot read ${rest.join(' ')}`);
        out.healthcheck = { argv: commandLine(m[2] as string), timeoutMs: seconds(f.timeout ?? '30s') * 1000 };
        break;
      }
      // Metadata Docker keeps for `docker run`/`stop` (SIGTERM is what the tests send).
      case 'EXPOSE':
      case 'STOPSIGNAL':
        break;
      default:
        throw new Error(`${where}: the rehearsal does not know ${step.keyword}; teach it (agent-host/test/dockerfile-rehearsal.test.ts)`);
    }
  }
  return out;
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`HEALTHCHECK: cannot read the duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/**
 * A RUN's environment as `docker build` gives it: the stage's ENV over a bare one (a HOME of its own,
 * so no user npmrc), with the machine's npm cache so `npm ci` fetches little (the lockfile pins
 * every version and integrity, so the cache changes no byte of what is installed).
 */
function buildEnv(root: string, env: Record<string, string>): Record<string, string> {
  const passed = ['PATH', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  const base = Object.fromEntries(passed.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
  return { ...base, HOME: join(root, 'root'), npm_config_cache: npmCache(), npm_config_prefer_offline: 'true', ...env };
}

let machineNpmCache: string | undefined;
/** This machine's npm cache folder. */
function npmCache(): string {
  machineNpmCache ??= execFileSync('npm', ['config', 'get', 'cache'], { cwd: tmpdir(), encoding: 'utf8' }).trim();
  return machineNpmCache;
}

/**
 * A RUN inside the stage's root (rootfs mode): as root, in the WORKDIR, with the base image's and the
 * stage's ENV and nothing else, and the machine's npm cache bound in for `npm ci` (as buildEnv says).
 */
async function runInRoot(root: string, stage: Replayed, command: string): Promise<{ code: number | null; output: string }> {
  const env = { ...BASE_ENV, HOME: '/root', npm_config_cache: NPM_CACHE_IN_ROOT, npm_config_prefer_offline: 'true', ...stage.env };
  const argv = inRootfs(root, ['/bin/sh', '-c', command], { workdir: stage.workdir, env, binds: [[npmCache(), NPM_CACHE_IN_ROOT]] });
  const result = await run(argv, { cwd: tmpdir(), env: { PATH: MACHINE_PATH }, timeoutMs: 8 * 60_000 });
  await rmdir(join(root, NPM_CACHE_IN_ROOT)).catch(() => undefined);
  return result;
}

// ---- the rehearsal -------------------------------------------------------------------------------

describe(`agent-host/Dockerfile, rehearsed on the context .dockerignore admits (${IN_ROOTFS ? 'in a Debian root' : 'on this machine'})`, () => {
  let tmp: string;
  let admitted: string[];
  let build: Replayed;
  let image: Replayed;
  let app: string;
  let runtimeEnv: Record<string, string>;
  let user: { uid?: number; gid?: number };
  let replica: SkoolReplica | undefined;
  let receiver: Receiver | undefined;
  let standins: Standins | undefined;
  // A promise, so afterAll stops the server even when the build fails while it is starting.
  let livekit: Promise<LivekitServer> | undefined;
  let host: HostProcess;

  beforeAll(async () => {
    if (IN_ROOTFS) {
      const missing = await rootfsMissing();
      if (missing.length > 0) throw new Error(`REHEARSE_IN=rootfs needs ${missing.join(', ')}`);
    }
    const stages = stagesOf(parseDockerfile(await readFile(DOCKERFILE, 'utf8')));
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    tmp = await mkdtemp(join(tmpdir(), 'hc-dockerfile-rehearsal-'));
    await chmod(tmp, 0o755); // the unprivileged user walks through it to /app
    const roots = { context: join(tmp, 'context'), build: join(tmp, 'build'), runtime: join(tmp, 'runtime') };
    admitted = await buildContext(roots.context);
    livekit = startTestLivekit();
    // A Skool to sync from (the replica, few members), a Worker webhook to sync to, and Deepgram and
    // OpenAI as production reaches them (their stand-ins, by base URL: the image has no espeak-ng, so
    // it cannot start stand-ins of its own).
    [replica, receiver, standins] = await Promise.all([startReplica({ counts: { ultra: 4, vagus: 12 }, pageSize: 5 }), startReceiver(), startStandins()]);
    build = await replay(stages[0] as Stage, roots, roots.context);
    image = await replay(
      stages[1] as Stage,
      roots,
      roots.context,
      IN_ROOTFS
        ? undefined
        : [
            // Debian's chromium, fonts-liberation, tini, ca-certificates: this machine has them (Chromium at
            // /usr/bin/chromium, which CHROMIUM_PATH names) except tini, which the rehearsal does without.
            /^apt-get update\b/,
            // The volume's mount point: the rehearsal makes its own data dir below, owned by the unprivileged user.
            /^mkdir -p \/data && chown node:node \/data$/,
          ],
    );
    app = join(image.root, image.workdir);

    // What deploy/agent-host.env gives in production (livekit-server, the Worker, Skool, the AI
    // providers), less the outbox folders, which the image's ENV sets.
    const { url: livekitUrl } = await livekit;
    const {
      AGENT_OUTBOX_DIR: _agent,
      AGENT_HOST_OUTBOX_DIR: _skool,
      ...deployEnv
    } = hostEnv({ livekitUrl, port: PORT, agentOutboxDir: '', skoolOutboxDir: '' });
    const settings = {
      ...deployEnv,
      AI_PROVIDERS: 'real',
      ...standins.env,
      SKOOL_BASE_URL: replica.url,
      SKOOL_EMAIL: replica.credentials.email,
      SKOOL_PASSWORD: replica.credentials.password,
      SKOOL_ULTRA_URL: replica.membersUrl('ultra'),
      SKOOL_VAGUS_URL: replica.membersUrl('vagus'),
      AGENT_HOST_PORT: String(PORT),
      // agents-js says at debug level only that a prewarmed session process is ready (below).
      AGENT_LOG_LEVEL: 'debug',
    };

    if (IN_ROOTFS) {
      // Everything as `docker run` gives it: the image's USER (and its home), ENV, WORKDIR, ENTRYPOINT and CMD.
      const account = await userIn(image.root, image.user ?? 'root');
      user = { uid: account.uid, gid: account.gid };
      runtimeEnv = { ...BASE_ENV, HOME: account.home, ...image.env, ...settings };
      const argv = inRootfs(image.root, [...(image.entrypoint ?? []), ...(image.cmd ?? [])], { workdir: image.workdir, env: runtimeEnv, ...user });
      host = HostProcess.startCommand(argv, { cwd: tmpdir(), env: { PATH: MACHINE_PATH, AGENT_HOST_PORT: String(PORT) } });
      return;
    }

    // USER node: root here runs it as nobody, who cannot write /app (owned by root, as COPY --from leaves it).
    user = image.user && image.user !== 'root' && process.getuid?.() === 0 ? { uid: UNPRIVILEGED, gid: UNPRIVILEGED } : {};
    const home = join(tmp, 'home');
    for (const dir of [home, ...image.volumes.map((v) => join(image.root, v))]) {
      await mkdir(dir, { recursive: true });
      if (user.uid !== undefined) await chown(dir, user.uid, user.uid);
    }
    // The image's ENV over it, with paths on a VOLUME moved into the rehearsal's copy of it.
    const mapped = Object.entries(image.env).map(([k, v]) => [k, image.volumes.some((vol) => v === vol || v.startsWith(`${vol}/`)) ? join(image.root, v) : v]);
    runtimeEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...Object.fromEntries(mapped), ...settings };
    // The image's node is on its PATH; here, the Node running the tests. tini (ENTRYPOINT) is left out:
    // it only forwards SIGTERM to Node and reaps Chromium's children, so the test signals Node directly.
    const cmd = (image.cmd ?? []).map((a, i) => (i === 0 && a === 'node' ? process.execPath : a));
    host = HostProcess.startCommand(cmd, { cwd: app, env: runtimeEnv, ...user });
  }, 15 * 60_000);

  afterAll(async () => {
    await host?.kill();
    for (const child of running) {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await livekit?.then(
      (server) => server.stop(),
      () => undefined,
    );
    await Promise.all([replica?.close(), receiver?.close(), standins?.close()]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('lets into the context only what a COPY takes, and every COPY finds its source there', () => {
    // (A COPY whose source is missing from the context failed the replay above.)
    const copied = [...build.copied, ...image.copied];
    const unused = admitted.filter((path) => !copied.some((c) => path === c || path.startsWith(`${c}/`)));
    expect(unused).toEqual([]);
    expect(admitted).not.toContainEqual(expect.stringMatching(/(^|\/)node_modules\//));
  });

  it('leaves the agent-host’s production dependencies only in the image', async () => {
    const pkg = JSON.parse(await readFile(join(app, 'agent-host/package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).flatMap(([path, p]) => (p.dev && path.startsWith('node_modules/') ? [path] : []));
    expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
    const declared = Object.keys(pkg.devDependencies);
    expect(declared.filter((name) => existsSync(join(app, 'node_modules', name))).sort()).toEqual(
      // A production package needs these two, so npm keeps them: typescript is a peer of
      // @livekit/throws-transformer (from @livekit/agents), @types/node a dependency of @types/yauzl
      // (puppeteer-core's extract-zip). Another name here: a production dependency pulls in a dev tool.
      ['@types/node', 'typescript'],
    );
    // The other workspaces' dependencies (the portals', the Worker's) and the test tools stay out.
    const others = [
      'react',
      'react-dom',
      'react-router',
      'livekit-client',
      '@livekit/components-react',
      '@tanstack/react-query',
      'drizzle-orm',
      '@hono/zod-openapi',
      'jose',
      'otpauth',
    ];
    const tools = ['vitest', 'wrangler', 'vite', 'drizzle-kit', '@biomejs/biome', 'puppeteer'];
    expect([...others, ...tools].filter((name) => existsSync(join(app, 'node_modules', name)))).toEqual([]);
  });

  it('holds no test, stand-in, replica or rehearsal code', async () => {
    const files = await listFiles(app, (path) => !path.startsWith('node_modules/'));
    expect(files.filter((path) => /(^|\/)(test|dev)\/|standins|replica|rehearsal|\.test\.ts$|helpers\.ts$/.test(path))).toEqual([]);
    // What is there: the compiled agent-host (agent-host/dist, the shared package's files in
    // dist/shared), the two packages' manifests, the lockfile, the TypeScript settings, the patches npm
    // ci applied (patches/). No TypeScript source: the image runs plain Node, no loader.
    expect(files.filter((path) => !/^agent-host\/dist\/.+\.js$|^patches\/[^/]+\.patch$/.test(path)).sort()).toEqual([
      '.npmrc',
      'agent-host/package.json',
      'agent-host/tsconfig.build.json',
      'agent-host/tsconfig.json',
      'package-lock.json',
      'package.json',
      'shared/package.json',
      'tsconfig.json',
    ]);
    expect(files).toContain('agent-host/dist/main.js');
    expect(files).toContain('agent-host/dist/agent/job.js');
    expect(files).toContain('agent-host/dist/shared/room-packets.js');
  });

  it('runs the dependencies as patches/ mends them (patch-package in the build), each patch in the image', async () => {
    const patches = (await readdir(join(ROOT, 'patches'))).filter((name) => name.endsWith('.patch'));
    expect(patches.length).toBeGreaterThan(0);
    for (const name of patches) expect(existsSync(join(app, 'patches', name))).toBe(true);
    // The Deepgram plugin's Flux stream waits on its reconnect event once per connection, not per frame;
    const fluxStream = await readFile(join(app, 'node_modules/@livekit/agents-plugin-deepgram/dist/stt_v2.js'), 'utf8');
    expect(fluxStream).toContain('wakeOnReconnect');
    expect(fluxStream).not.toContain('const abortPromise = this.#reconnectEvent.wait()');
    // agents-js's readStream (the client's audio into speech-to-text) and nova-3's send loop race each
    // read against an abort promise of its own, not one for the whole stream.
    const core = await readFile(join(app, 'node_modules/@livekit/agents/dist/utils.js'), 'utf8');
    expect(core).toContain('wakeOnAbort');
    expect(core).not.toContain('const abortPromise = waitForAbort(signal);');
    const novaStream = await readFile(join(app, 'node_modules/@livekit/agents-plugin-deepgram/dist/stt.js'), 'utf8');
    expect(novaStream).toContain('wakeOnAbort');
    expect(novaStream).not.toContain('const abortPromise = waitForAbort(this.abortSignal);');
  });

  it('starts with the image command and answers GET /health 200 with the agent registered', async () => {
    expect(runtimeEnv.NODE_ENV).toBe('production');
    const healthy = await until(
      'a healthy agent-host from the rehearsed image',
      async () => ((await host.health())?.status === 200 ? host.health() : false),
      60_000,
      () => host.output.slice(-10),
    );
    expect(healthy).toMatchObject({ status: 200, body: { ok: true, draining: false, agent: { registered: true }, sync: { up: true } } });
    if (IN_ROOTFS) {
      // The container as Docker would make it: the ENTRYPOINT (tini) is PID 1 of its own PID namespace,
      // rooted in the image (pivoted into it: the same directory and files, by device and inode),
      // running as the image's user (not root); Node is its child.
      const first = await firstProcess(host.pid as number);
      const status = await readFile(`/proc/${first}/status`, 'utf8');
      const same = async (a: string, b: string) => {
        const [x, y] = await Promise.all([stat(a), stat(b)]);
        return x.dev === y.dev && x.ino === y.ino;
      };
      expect(await same(`/proc/${first}/root`, image.root)).toBe(true);
      expect(await readlink(`/proc/${first}/root`)).toBe('/');
      expect(await same(`/proc/${first}/exe`, join(image.root, 'usr/bin/tini'))).toBe(true);
      expect(/^NSpid:\s+\d+\s+(\d+)$/m.exec(status)?.[1]).toBe('1');
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(user.uid));
      expect(user.uid).not.toBe(0);
      const [node] = (await readFile(`/proc/${first}/task/${first}/children`, 'utf8')).trim().split(/\s+/);
      expect(await same(`/proc/${node}/exe`, join(image.root, 'usr/local/bin/node'))).toBe(true);
    }
  });

  it('prewarms its session processes (job.js and Silero VAD, onnxruntime-node, load from the pruned tree), and no inference process', async () => {
    // In production agents-js keeps min(cores, 4) job processes ready, each past its prewarm.
    const expected = Math.min(availableParallelism(), 4);
    await until(
      `${expected} prewarmed job processes`,
      () => host.logged('job runner initialized').length >= expected,
      60_000,
      () => host.output.slice(-10),
    );
    // And no inference process: the agent never asks agents-js's local end-of-turn model (patches/).
    expect(host.logged('all inference runners initialized')).toEqual([]);
    expect(processTree(host.pid as number).filter((p) => p.includes('inference_proc'))).toEqual([]);
    expect(
      host.output
        .join('')
        .split('\n')
        .filter((l) => /"level":(50|60|"error"|"fatal")/.test(l)),
    ).toEqual([]);
  });

  it('passes its own HEALTHCHECK command, which fails where nothing answers', async () => {
    const check = image.healthcheck;
    if (!check) throw new Error('the Dockerfile has no HEALTHCHECK');
    const healthcheck = async (env: Record<string, string>) => {
      if (IN_ROOTFS) {
        // Beside the container's first process, in its namespaces and root, as Docker execs it.
        const argv = execIn(await firstProcess(host.pid as number), check.argv, { env, ...user });
        return run(argv, { cwd: tmpdir(), env: { PATH: MACHINE_PATH }, timeoutMs: check.timeoutMs });
      }
      const argv = check.argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a));
      return run(argv, { cwd: app, ...user, timeoutMs: check.timeoutMs, env });
    };
    expect(await healthcheck(runtimeEnv)).toMatchObject({ code: 0 });
    expect(await healthcheck({ ...runtimeEnv, AGENT_HOST_PORT: '9' })).toMatchObject({ code: 1 });
  });

  it('runs a Skool sync with the image’s Chromium, as the image’s user, and delivers every member', async () => {
    if (!replica || !receiver) throw new Error('no replica');
    const runId = randomUUID();
    const body = JSON.stringify({ runId, trigger: 'admin', resultUrl: receiver.url });
    const res = await fetch(`${host.url}/skool-sync/start`, { method: 'POST', headers: await signedHeaders(TEST_SECRET, body, runId), body });
    expect(res.status).toBe(202);
    const final = (await receiver.waitFor(`${runId}:final`, 120_000)) as FinalMessage;
    expect(final, host.output.slice(-10).join('')).toMatchObject({
      ok: true,
      communities: { ultra: { ok: true, membersFound: 4 }, vagus: { ok: true, membersFound: 12 } },
    });
    const emails = (community: 'ultra' | 'vagus') =>
      receiver
        ?.members()
        .filter((m: MembersMessage) => m.runId === runId && m.community === community)
        .flatMap((m) => m.members.map((x) => x.email))
        .sort();
    expect(emails('ultra')).toEqual(
      replica
        .expectedMembers('ultra')
        .map((m) => m.email)
        .sort(),
    );
    expect(emails('vagus')).toEqual(
      replica
        .expectedMembers('vagus')
        .map((m) => m.email)
        .sort(),
    );
    // Skool's pages were rendered in Chromium's sandbox: the image's user is not root, and the container allows user namespaces.
    expect(host.logged('skool scraper: Chromium runs in its sandbox')).toHaveLength(1);
    expect(host.logged('skool scraper: Chromium runs WITHOUT its sandbox')).toEqual([]);
  });

  it('exits 0 on SIGTERM', async () => {
    // `docker stop` signals the container's first process: tini, which passes it on to Node.
    if (IN_ROOTFS) process.kill(await firstProcess(host.pid as number), 'SIGTERM');
    else host.signal('SIGTERM');
    // Quick with nothing live; a SIGTERM while job processes are still prewarming would take agents-js's 60 s close timeout.
    const code = await Promise.race([host.exited, new Promise((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000))]);
    expect(code, host.output.slice(-10).join('')).toBe(0);
  });
});

/** Every file below `dir` (relative, `/`-separated) that `keep` admits; folders it refuses are not entered. */
async function listFiles(dir: string, keep: (path: string) => boolean, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (!keep(entry.isDirectory() ? `${path}/` : path)) continue;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, keep, path)));
    else out.push(path);
  }
  return out;
}
