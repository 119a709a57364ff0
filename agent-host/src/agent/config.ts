/**
 * The AI coach's configuration, from the environment. Read by the worker process at start (so a
 * missing variable stops it with a clear message) and again by each job process, which inherits the
 * same environment.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const AGENT_HOST_DIR = fileURLToPath(new URL('../..', import.meta.url));

export type Providers =
  | { mode: 'real'; deepgramApiKey: string; openaiApiKey: string; deepgramBaseUrl?: string; openaiBaseUrl?: string }
  /** Local stand-ins speaking the real protocols (agent-host/dev/standins). */
  | { mode: 'standin'; deepgramBaseUrl: string; openaiBaseUrl: string };

export interface AgentConfig {
  livekitUrl: string;
  livekitApiKey: string;
  livekitApiSecret: string;
  /** The name the Worker dispatches (its AGENT_NAME). */
  agentName: string;
  /** The Worker's origin, e.g. http://127.0.0.1:8787. */
  apiUrl: string;
  /** Shared with the Worker: signs every call in both directions. */
  secret: string;
  providers: Providers;
  llmModel: string;
  sttModel: string;
  ttsVoice: string;
  /** Undelivered transcript lines, one folder per session. */
  outboxDir: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function required(env: Record<string, string | undefined>, name: string, why = ''): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required${why}`);
  return value;
}

export function loadAgentConfig(env: Record<string, string | undefined> = process.env): AgentConfig {
  const mode = env.AI_PROVIDERS?.trim() || 'real';
  if (mode !== 'real' && mode !== 'standin') throw new ConfigError(`AI_PROVIDERS must be "real" or "standin", not "${mode}"`);
  const providers: Providers =
    mode === 'standin'
      ? {
          mode,
          deepgramBaseUrl: required(env, 'DEEPGRAM_BASE_URL', ' with AI_PROVIDERS=standin (the stand-ins print it)'),
          openaiBaseUrl: required(env, 'OPENAI_BASE_URL', ' with AI_PROVIDERS=standin (the stand-ins print it)'),
        }
      : {
          mode,
          deepgramApiKey: required(env, 'DEEPGRAM_API_KEY', ' (or set AI_PROVIDERS=standin to run offline)'),
          openaiApiKey: required(env, 'OPENAI_API_KEY', ' (or set AI_PROVIDERS=standin to run offline)'),
          ...(env.DEEPGRAM_BASE_URL ? { deepgramBaseUrl: env.DEEPGRAM_BASE_URL } : {}),
          ...(env.OPENAI_BASE_URL ? { openaiBaseUrl: env.OPENAI_BASE_URL } : {}),
        };
  return {
    livekitUrl: required(env, 'LIVEKIT_URL'),
    livekitApiKey: required(env, 'LIVEKIT_API_KEY'),
    livekitApiSecret: required(env, 'LIVEKIT_API_SECRET'),
    agentName: env.AGENT_NAME?.trim() || 'hybrid-coach-agent',
    apiUrl: required(env, 'API_URL', ' (the Worker, e.g. http://127.0.0.1:8787)').replace(/\/+$/, ''),
    secret: required(env, 'AGENT_HOST_SECRET'),
    providers,
    llmModel: env.OPENAI_MODEL?.trim() || 'gpt-4o-mini',
    sttModel: env.DEEPGRAM_STT_MODEL?.trim() || 'nova-3',
    ttsVoice: env.DEEPGRAM_VOICE?.trim() || 'aura-2-andromeda-en',
    outboxDir: resolve(env.AGENT_OUTBOX_DIR?.trim() || resolve(AGENT_HOST_DIR, '.outbox-agent')),
  };
}
