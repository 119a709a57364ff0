/**
 * The AI coach's worker: registers with livekit-server under AGENT_NAME and runs one job process per
 * dispatched session (job.ts). `npx tsx agent-host/src/agent/main.ts`; configuration in config.ts.
 */
import { AgentServer, ServerOptions, initializeLogger } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { describeError, log } from '../../../workers/src/lib/log';
import { type Standins, startStandins } from '../standins';
import { loadAgentConfig } from './config';
import { OFFLINE_CHAT, OFFLINE_PHRASES } from './offline-script';

export const JOB_FILE = fileURLToPath(new URL('./job.ts', import.meta.url));

/**
 * Offline with no stand-ins given (`npm run dev` without API keys): start them here. Job processes
 * inherit `env` (process.env), so they find the stand-ins through DEEPGRAM_BASE_URL and OPENAI_BASE_URL.
 */
async function ensureStandins(env: Record<string, string | undefined>): Promise<Standins | null> {
  if (env.AI_PROVIDERS?.trim() !== 'standin' || env.DEEPGRAM_BASE_URL || env.OPENAI_BASE_URL) return null;
  const standins = await startStandins({ sttPhrases: OFFLINE_PHRASES, chatScript: OFFLINE_CHAT });
  env.DEEPGRAM_BASE_URL = standins.deepgramBaseUrl;
  env.OPENAI_BASE_URL = standins.openaiBaseUrl;
  log('info', 'agent: offline AI stand-ins started (they understand only the sentences in agent-host/src/agent/offline-script.ts)', {
    deepgram: standins.deepgramBaseUrl,
    openai: standins.openaiBaseUrl,
  });
  return standins;
}

export async function startAgentServer(env: Record<string, string | undefined> = process.env): Promise<AgentServer> {
  await ensureStandins(env);
  const config = loadAgentConfig(env);
  initializeLogger({ pretty: false, level: env.AGENT_LOG_LEVEL ?? 'info' });
  const server = new AgentServer(
    new ServerOptions({
      agent: JOB_FILE,
      agentName: config.agentName,
      wsURL: config.livekitUrl,
      apiKey: config.livekitApiKey,
      apiSecret: config.livekitApiSecret,
      production: env.NODE_ENV === 'production',
    }),
  );
  void server.run().catch((err: unknown) => {
    log('error', 'agent: the worker stopped', { error: describeError(err).errorMessage });
    process.exitCode = 1;
  });
  log('info', 'agent: worker starting', {
    agentName: config.agentName,
    livekitUrl: config.livekitUrl,
    providers: config.providers.mode === 'standin' ? 'standin (offline: the AI speaks with local stand-ins, not Deepgram and OpenAI)' : 'real',
  });
  return server;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const server = await startAgentServer();
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
