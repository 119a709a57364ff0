/**
 * The AI coach's worker: registers with livekit-server under AGENT_NAME and runs one job process per
 * dispatched session (job.ts). `npx tsx agent-host/src/agent/main.ts` runs it alone (development);
 * in production agent-host/src/main.ts runs it beside the Skool sync. Configuration in config.ts.
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeError, log } from '@hybrid-coach/shared/log';
import { AgentServer, initializeLogger, ServerOptions } from '@livekit/agents';
import { z } from 'zod';
import { parseEnv, wholeNumber } from '../lib/env';
import { freePort } from '../lib/free-port';
import { type AgentConfig, loadAgentConfig } from './config';
import { LOAD_THRESHOLD, roomLoad } from './load';
import { maskPiiInAgentLogs } from './pii-logs';

/** Whether this is the compiled agent-host (scripts/build-agent-host.mjs: agent-host/dist, plain Node), not its TypeScript source. */
const COMPILED = import.meta.url.endsWith('.js');

/** The job file beside this one: job.ts from the sources (tsx), job.js from the build. */
export const JOB_FILE = fileURLToPath(new URL(COMPILED ? './job.js' : './job.ts', import.meta.url));

/** What ensureStandins needs of the development-only stand-ins (agent-host/dev, never in the image). */
interface OfflineStandins {
  deepgramBaseUrl: string;
  openaiBaseUrl: string;
  close(): Promise<void>;
}

/** agent-host/dev/offline-script.ts: loaded by URL so that production code never imports development code. */
const OFFLINE_SCRIPT = new URL('../../dev/offline-script.ts', import.meta.url);

/**
 * Offline with no stand-ins given (`npm run dev` without API keys): start them here. Job processes
 * inherit `env` (process.env), so they find the stand-ins through DEEPGRAM_BASE_URL and OPENAI_BASE_URL.
 * The image has no stand-ins (agent-host/dev is not copied): there AI_PROVIDERS=standin needs the URLs.
 */
async function ensureStandins(env: Record<string, string | undefined>): Promise<OfflineStandins | null> {
  if (env.AI_PROVIDERS?.trim() !== 'standin' || env.DEEPGRAM_BASE_URL || env.OPENAI_BASE_URL) return null;
  // The stand-ins are TypeScript that only tsx runs: the compiled agent-host (the image) is given their URLs.
  if (COMPILED || !existsSync(OFFLINE_SCRIPT)) {
    throw new Error(
      'AI_PROVIDERS=standin: the offline stand-ins are development code (agent-host/dev), not in this build; set DEEPGRAM_BASE_URL and OPENAI_BASE_URL, or real API keys',
    );
  }
  const offline = (await import(OFFLINE_SCRIPT.href)) as { startOfflineStandins(): Promise<OfflineStandins> };
  const standins = await offline.startOfflineStandins();
  env.DEEPGRAM_BASE_URL = standins.deepgramBaseUrl;
  env.OPENAI_BASE_URL = standins.openaiBaseUrl;
  log('info', 'agent: offline AI stand-ins started (they understand only the sentences in agent-host/dev/offline-script.ts)', {
    deepgram: standins.deepgramBaseUrl,
    openai: standins.openaiBaseUrl,
  });
  return standins;
}

/**
 * Node flags for the job processes (one per room). agents-js 1.9 forks each with Node's default, the
 * parent's `process.execArgv` (ipc/job_proc_executor.js; its inference process the same way), so flags
 * added there before the AgentServer starts reach those processes, not the running worker process. A
 * flag of the same name already on the agent-host's own command line is kept instead. Measured with
 * bench/agent-latency.ts (3 rooms, offline stand-ins, 2 cores; PSS of a job process, which counts shared
 * libraries once; docs/operations.md, "How many rooms one agent-host holds"):
 * - `--optimize-for-size`: V8 keeps its heap small (a 1 MiB young generation instead of 16, the old
 *   generation grown more slowly) for a little CPU: a live room's job process about 157 MiB against 199
 *   (its heap 57–67 MiB against 97–105), an idle prewarmed one 139 against 196; replies no slower in the
 *   same bench (figures in docs/operations.md). `--max-semi-space-size=1` alone shrinks the young
 *   generation too, but more garbage then reaches the old generation, which grows instead (191 MiB).
 * - source maps off, for the sources under tsx (`npm run dev`, the agent-host's own tests): tsx turns
 *   them on, and Node then reads and keeps the source map of every module loaded, agents-js's dozens
 *   included: a live room's job process 142–146 MiB against about 157 with `--optimize-for-size` alone,
 *   an idle one 128 against 139. The compiled agent-host (the image, scripts/build-agent-host.mjs) has
 *   no loader and no source maps, so there it changes nothing.
 */
export const JOB_PROCESS_FLAGS = ['--optimize-for-size', '--import=data:text/javascript,process.setSourceMapsEnabled(false)'];

/** `execArgv` with each of `flags` added unless a flag of that name (before any `=`) is already there. */
export function withJobProcessFlags(execArgv: readonly string[], flags: readonly string[] = JOB_PROCESS_FLAGS): string[] {
  const name = (flag: string) => flag.split('=')[0];
  const given = new Set(execArgv.map(name).filter((n) => n !== '--import'));
  return [...execArgv, ...flags.filter((f) => (name(f) === '--import' ? !execArgv.includes(f) : !given.has(name(f))))];
}

/**
 * The process pool: AGENT_IDLE_PROCESSES, how many job processes agents-js keeps started and idle so
 * that a new room's AI joins at once (each costs an idle room's memory; docs/operations.md). Unset:
 * agents-js's default, min(cores, 4) with NODE_ENV=production, else none. agents-js reads 0 as "its
 * default", so at least 1.
 */
const PoolEnv = z.object({
  AGENT_IDLE_PROCESSES: wholeNumber('AGENT_IDLE_PROCESSES', 'a number of processes, at least 1', undefined, 1, 64),
});

export function loadIdleProcesses(env: Record<string, string | undefined> = process.env): number | undefined {
  return parseEnv(PoolEnv, env, 'the AI coach').AGENT_IDLE_PROCESSES;
}

export interface AgentWorker {
  server: AgentServer;
  /**
   * The SDK's own health server (127.0.0.1 only): `GET /` answers 200 "OK" while the worker is
   * registered with livekit-server, 503 otherwise; `GET /worker` its active jobs.
   */
  healthUrl: string;
  /** Settles when the worker stops: resolves after close(), rejects if it gave up on livekit-server. */
  running: Promise<void>;
  /** The configuration it started with (offline, with the stand-ins' URLs it started). */
  config: AgentConfig;
}

/**
 * agents-js 1.9 starts an inference process for its local audio end-of-turn model whenever
 * @livekit/local-inference is installed (one of its own dependencies), ~280–290 MiB PSS beside the
 * worker, though job.ts detects turns with the VAD (`turnDetection: 'vad'`) and never asks that model.
 * `patches/` adds this switch to agents-js (`localEotWanted` in its worker); set before the AgentServer
 * is made, it leaves the model, its process and its native binding out. A value already in the
 * environment wins (`LIVEKIT_AGENTS_LOCAL_EOT=on`: agents-js as released, the benches' baseline). Set on
 * process.env, not startAgentServer's `env`: agents-js reads it there.
 */
export const LOCAL_EOT_SWITCH = { name: 'LIVEKIT_AGENTS_LOCAL_EOT', off: 'off' } as const;

export async function startAgentServer(env: Record<string, string | undefined> = process.env): Promise<AgentWorker> {
  await ensureStandins(env);
  const config = loadAgentConfig(env);
  const numIdleProcesses = loadIdleProcesses(env);
  initializeLogger({ pretty: false, level: config.logLevel });
  maskPiiInAgentLogs();
  const healthPort = config.healthPort ?? (await freePort());
  process.execArgv.splice(0, process.execArgv.length, ...withJobProcessFlags(process.execArgv));
  // Unset or empty (a bare `LIVEKIT_AGENTS_LOCAL_EOT=` line in an env file) is off; agents-js reads only "off" as off.
  if (!process.env[LOCAL_EOT_SWITCH.name]) process.env[LOCAL_EOT_SWITCH.name] = LOCAL_EOT_SWITCH.off;
  const server = new AgentServer(
    new ServerOptions({
      agent: JOB_FILE,
      agentName: config.agentName,
      wsURL: config.livekitUrl,
      apiKey: config.livekitApiKey,
      apiSecret: config.livekitApiSecret,
      production: config.production,
      // Load counted in rooms, not the machine's CPU (load.ts says why).
      loadFunc: async (worker) => roomLoad(worker.activeJobs.length, config.maxRooms),
      loadThreshold: LOAD_THRESHOLD,
      ...(numIdleProcesses === undefined ? {} : { numIdleProcesses }),
      host: '127.0.0.1',
      port: healthPort,
    }),
  );
  const running = server.run();
  running.catch((err: unknown) => {
    log('error', 'agent: the worker stopped', { error: describeError(err).errorMessage });
    process.exitCode = 1;
  });
  log('info', 'agent: worker starting', {
    agentName: config.agentName,
    livekitUrl: config.livekitUrl,
    providers: config.providers.mode === 'standin' ? 'standin (offline: the AI speaks with local stand-ins, not Deepgram and OpenAI)' : 'real',
  });
  return { server, healthUrl: `http://127.0.0.1:${healthPort}`, running, config };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { server } = await startAgentServer();
    const stop = (signal: string) => {
      log('info', 'agent: draining; live sessions may finish', { signal });
      void server.drain().finally(() => server.close().then(() => process.exit(0)));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  } catch (err) {
    log('error', 'agent: could not start', { error: describeError(err).errorMessage });
    process.exit(1);
  }
}
