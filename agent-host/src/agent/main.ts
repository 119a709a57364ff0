/**
 * The AI coach's worker: registers with livekit-server under AGENT_NAME and runs one job process per
 * dispatched session (job.ts). `npx tsx agent-host/src/agent/main.ts` runs it alone (development);
 * in production agent-host/src/main.ts runs it beside the Skool sync. Configuration in config.ts.
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeError, log } from '@hybrid-coach/shared/log';
import { AgentServer, initializeLogger, ServerOptions } from '@livekit/agents';
import { freePort } from '../lib/free-port';
import { type AgentConfig, loadAgentConfig } from './config';
import { LOAD_THRESHOLD, roomLoad } from './load';
import { maskPiiInAgentLogs } from './pii-logs';

export const JOB_FILE = fileURLToPath(new URL('./job.ts', import.meta.url));

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
  if (!existsSync(OFFLINE_SCRIPT)) {
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

export async function startAgentServer(env: Record<string, string | undefined> = process.env): Promise<AgentWorker> {
  await ensureStandins(env);
  const config = loadAgentConfig(env);
  initializeLogger({ pretty: false, level: config.logLevel });
  maskPiiInAgentLogs();
  const healthPort = config.healthPort ?? (await freePort());
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
