/**
 * Shared by the agent-host process tests: the production entry (main.ts) as a child process, a
 * livekit-server of their own, and messages left in the outboxes as an earlier run would leave them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { initializeLogger } from '@livekit/agents';
import { afterAll, beforeAll, vi } from 'vitest';
import { ensureLivekitServer, type LivekitServer, startLivekitServer } from '../../scripts/livekit.mjs';
import { spawnSource } from '../dev/spawn-source';
import { type Standins, type StandinsOptions, startStandins } from '../dev/standins/index';
import type { HostHealth } from '../src/host';
import { Outbox } from '../src/lib/outbox';
import { type Receiver, startReceiver, TEST_SECRET, tempDir } from './skool/helpers';

/** A livekit-server on the first free trio of ports among `candidates` (port, +1 tcp, +2 udp). */
export async function startTestLivekit(candidates = [7910, 7920, 7930, 7950]): Promise<LivekitServer> {
  await ensureLivekitServer();
  let last: unknown;
  for (const port of candidates) {
    try {
      return await startLivekitServer({ port, rtcTcpPort: port + 1, udpPort: port + 2 });
    } catch (err) {
      last = err; // taken (another test file, npm run dev): the next one
    }
  }
  throw new Error(`no free port for livekit-server among ${candidates.join(', ')}: ${String(last)}`);
}

/** Stores messages for `url` in the outbox folder `dir` and leaves them there, undelivered. */
export async function leaveInOutbox(dir: string, url: string, keys: string[]): Promise<void> {
  const outbox = await Outbox.open({ dir, secret: TEST_SECRET, fetch: () => Promise.reject(new Error('offline')) });
  for (const key of keys) await outbox.enqueue(url, key, { key });
  await outbox.close();
}

/**
 * Stores messages in the outbox folder `dir` that a receiver refuses for good (400), so they are set
 * aside in its dropped/, as if that happened `ageMs` ago. Resolves with the dropped files' names.
 * Whatever already waits in `dir` is refused too: call it before leaveInOutbox on the same folder.
 */
export async function leaveDropped(dir: string, url: string, keys: string[], ageMs = 0): Promise<string[]> {
  const refuse = () =>
    Promise.resolve(new Response(JSON.stringify({ success: false, error: { code: 'VALIDATION_ERROR', message: 'Invalid message' } }), { status: 400 }));
  const before = new Set(await readdir(join(dir, 'dropped')).catch(() => [] as string[]));
  const outbox = await Outbox.open({ dir, secret: TEST_SECRET, fetch: refuse });
  const quiet = console.error;
  console.error = () => undefined; // the drop's error line is expected here
  try {
    for (const key of keys) await outbox.enqueue(url, key, { key });
    await outbox.drained();
  } finally {
    console.error = quiet;
    await outbox.close();
  }
  const added = (await readdir(join(dir, 'dropped'))).filter((n) => !before.has(n));
  const at = new Date(Date.now() - ageMs);
  for (const name of added) await utimes(join(dir, 'dropped', name), at, at);
  return added;
}

/** The environment of a whole agent-host: offline AI (it starts its own stand-ins), Skool settings that are never used. */
export function hostEnv(options: {
  livekitUrl: string;
  port: number;
  agentOutboxDir: string;
  skoolOutboxDir: string;
  apiUrl?: string;
}): Record<string, string> {
  return {
    AI_PROVIDERS: 'standin',
    LIVEKIT_URL: options.livekitUrl,
    LIVEKIT_API_KEY: 'devkey',
    LIVEKIT_API_SECRET: 'secret',
    API_URL: options.apiUrl ?? 'http://127.0.0.1:9',
    AGENT_HOST_SECRET: TEST_SECRET,
    AGENT_OUTBOX_DIR: options.agentOutboxDir,
    AGENT_HOST_PORT: String(options.port),
    AGENT_HOST_OUTBOX_DIR: options.skoolOutboxDir,
    // No sweep unless a test asks for one: the leftovers a test plants stay put until it acts.
    AGENT_HOST_SWEEP_MS: '0',
    SKOOL_BASE_URL: 'http://127.0.0.1:9',
    SKOOL_EMAIL: 'owner@replica.skool.test',
    SKOOL_PASSWORD: 'never-used',
    SKOOL_ULTRA_URL: 'http://127.0.0.1:9/ultra/-/members',
    SKOOL_VAGUS_URL: 'http://127.0.0.1:9/vagus/-/members',
  };
}

/** The command lines of `pid`'s descendants, children before grandchildren (the kernel's list of each thread's children). */
export function processTree(pid: number): string[] {
  const childrenOf = (parent: number): number[] => {
    try {
      return readdirSync(`/proc/${parent}/task`).flatMap((tid) =>
        readFileSync(`/proc/${parent}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
      );
    } catch {
      return []; // gone meanwhile
    }
  };
  const out: string[] = [];
  for (let level = childrenOf(pid); level.length > 0; level = level.flatMap(childrenOf)) {
    for (const child of level) {
      try {
        out.push(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim());
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

/** `node --import tsx agent-host/src/main.ts`, the sources as development runs them, in its own process group. */
export class HostProcess {
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    const keep = (chunk: Buffer) => this.output.push(chunk.toString());
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(env: Record<string, string>): HostProcess {
    return new HostProcess(spawnSource('agent-host/src/main.ts', env), `http://127.0.0.1:${env.AGENT_HOST_PORT}`);
  }

  /**
   * `argv` (a Dockerfile's CMD, say) in `cwd` with exactly `env`, nothing inherited, in its own process
   * group; `uid`/`gid` run it as another user, as an image's USER does.
   */
  static startCommand(argv: string[], options: { cwd: string; env: Record<string, string>; uid?: number; gid?: number }): HostProcess {
    const [command, ...args] = argv;
    if (command === undefined) throw new Error('startCommand needs a command');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new HostProcess(child, `http://127.0.0.1:${options.env.AGENT_HOST_PORT}`);
  }

  /** The process's id on this machine. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** GET /health: the status and the report, or null while nothing answers. */
  async health(): Promise<{ status: number; body: HostHealth } | null> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, body: (await res.json()) as HostHealth };
    } catch {
      return null;
    }
  }

  /** Log lines (JSON) whose msg is `msg`. */
  logged(msg: string): Record<string, unknown>[] {
    return loggedAs(this.output.join('').split('\n'), msg);
  }

  /** A signal to the main process alone, as `docker stop` (through tini) sends it. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends whatever is left of the process group (job processes, stand-ins) after a test. */
  async kill(): Promise<void> {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}

/** The agent's environment with the offline stand-ins at `standins` (what loadAgentConfig reads), for tests that build its engines. */
export function standinAgentEnv(standins: { deepgramBaseUrl: string; openaiBaseUrl: string }): Record<string, string> {
  return {
    LIVEKIT_URL: 'ws://127.0.0.1:7880',
    LIVEKIT_API_KEY: 'devkey',
    LIVEKIT_API_SECRET: 'secret',
    API_URL: 'http://127.0.0.1:8787',
    AGENT_HOST_SECRET: 's'.repeat(32),
    AI_PROVIDERS: 'standin',
    DEEPGRAM_BASE_URL: standins.deepgramBaseUrl,
    OPENAI_BASE_URL: standins.openaiBaseUrl,
  };
}

/**
 * The AI stand-ins for the tests of a describe (or a file): started before them, with agents-js's
 * logger at `warn` (the plugins log through it), and closed after. Call the function it returns
 * inside a test.
 */
export function useStandins(options?: StandinsOptions): () => Standins {
  let standins: Standins | undefined;
  beforeAll(async () => {
    initializeLogger({ pretty: false, level: 'warn' });
    standins = await startStandins(options);
  });
  afterAll(async () => {
    await standins?.close();
  });
  return () => {
    if (!standins) throw new Error('the stand-ins start before the tests of the describe that called useStandins');
    return standins;
  };
}

/** A full garbage collection, now (V8's `gc`, turned on for this process when first asked). */
export function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Polls `probe` until it answers something other than undefined/false; throws with `describe()` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  describe?: () => unknown,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${JSON.stringify(describe())}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A host process (main.ts) with its own livekit-server, a stand-in Worker and outboxes under a temp folder. */
export interface HostRig {
  /** Replaceable: a test may stop it and start another on its port. */
  livekit: LivekitServer;
  receiver: Receiver;
  dir: { path: string; remove: () => Promise<void> };
  host: HostProcess;
  /** Kills the host, stops livekit-server and the receiver, removes the folder. */
  close(): Promise<void>;
}

/**
 * Starts a HostRig: `prepare` fills the outboxes (`<dir>/skool`, `<dir>/agent/<session>`) before the
 * host opens them; `answer` is the stand-in Worker's status; `env` adds to hostEnv. Waits for a healthy
 * host unless `waitHealthy` is false.
 */
export async function startHostRig(options: {
  name: string;
  port: number;
  answer: () => number;
  prepare?: (dir: string, receiverUrl: string) => Promise<void>;
  env?: Record<string, string>;
  waitHealthy?: boolean;
  /** livekit-server's ports to try (startTestLivekit's by default); a test that restarts it on its port needs one no other file takes meanwhile. */
  livekitPorts?: number[];
}): Promise<HostRig> {
  const [livekit, receiver, dir] = await Promise.all([
    startTestLivekit(options.livekitPorts),
    startReceiver({ answer: options.answer }),
    tempDir(options.name),
  ]);
  const rig: HostRig = {
    livekit,
    receiver,
    dir,
    host: undefined as unknown as HostProcess,
    close: async () => {
      await rig.host?.kill();
      await Promise.all([rig.livekit.stop(), receiver.close()]);
      await dir.remove();
    },
  };
  try {
    await options.prepare?.(dir.path, receiver.url);
    rig.host = HostProcess.start({
      ...hostEnv({ livekitUrl: livekit.url, port: options.port, agentOutboxDir: `${dir.path}/agent`, skoolOutboxDir: `${dir.path}/skool` }),
      ...options.env,
    });
    if (options.waitHealthy !== false)
      await until(
        'a healthy agent-host',
        async () => (await rig.host.health())?.status === 200,
        60_000,
        () => rig.host.output.slice(-10),
      );
  } catch (err) {
    await rig.close();
    throw err;
  }
  return rig;
}

/**
 * A HostRig for the tests of one `describe`: started before them, closed after them. Its parts
 * (`host`, `receiver`, `dir`, `livekit`) are there from the first test on.
 */
export function hostRigForTests(options: Parameters<typeof startHostRig>[0]): HostRig {
  const rig = {} as HostRig;
  let started: HostRig | undefined;
  beforeAll(async () => {
    started = await startHostRig(options);
    Object.assign(rig, started);
  });
  afterAll(async () => {
    if (!started) return;
    // A test may have restarted livekit-server in its place (rig.livekit): close that one, not the first.
    started.livekit = rig.livekit;
    await started.close();
  });
  return rig;
}

/** The JSON log records among `lines` whose msg is `msg`. */
export function loggedAs(lines: readonly string[], msg: string): Record<string, unknown>[] {
  return lines
    .filter((l) => l.startsWith('{') && l.includes(`"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === msg);
}

/** `console[method]` silenced (restored by vi.restoreAllMocks); `lines` is what it was given, `logged(msg)` its records with that msg. */
export function captureConsole(method: 'info' | 'warn' | 'error') {
  const spy = vi.spyOn(console, method).mockImplementation(() => undefined);
  const lines = () => spy.mock.calls.map((args) => String(args[0]));
  return { lines, logged: (msg: string) => loggedAs(lines(), msg) };
}
