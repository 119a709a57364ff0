/**
 * The AI coach's configuration, from the environment. Read by the worker process at start (so a
 * missing variable stops it with a clear message) and again by each job process, which inherits the
 * same environment.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Env, oneOf, optional, parseEnv, required, wholeNumber } from '../lib/env';

export { ConfigError } from '../lib/env';

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
  /** A Flux model (`flux-general-en`, the default) on `/v2/listen` with eager end of turn, or nova-3 on `/v1/listen` (providers.ts). */
  sttModel: string;
  ttsVoice: string;
  /** Undelivered transcript lines, one folder per session. */
  outboxDir: string;
  /** The SDK's log level (AGENT_LOG_LEVEL). */
  logLevel: string;
  /** Pins the SDK's health server (AGENT_WORKER_HEALTH_PORT); by default any free loopback port. */
  healthPort: number | undefined;
  /** NODE_ENV=production: the SDK's production mode. */
  production: boolean;
  /** Rooms this agent-host takes at once (AGENT_MAX_ROOMS); its load is counted in rooms (load.ts). */
  maxRooms: number;
}

const OFFLINE = ' (or set AI_PROVIDERS=standin to run offline)';
const STANDIN = ' with AI_PROVIDERS=standin (the stand-ins print it)';

/** Every variable the AI coach reads, with its default. */
const AgentEnv = z
  .object({
    AI_PROVIDERS: oneOf('AI_PROVIDERS', ['real', 'standin'], 'real'),
    DEEPGRAM_API_KEY: optional(),
    OPENAI_API_KEY: optional(),
    DEEPGRAM_BASE_URL: optional(),
    OPENAI_BASE_URL: optional(),
    LIVEKIT_URL: required('LIVEKIT_URL'),
    LIVEKIT_API_KEY: required('LIVEKIT_API_KEY'),
    LIVEKIT_API_SECRET: required('LIVEKIT_API_SECRET'),
    AGENT_NAME: optional('hybrid-coach-agent'),
    API_URL: required('API_URL', ' (the Worker, e.g. http://127.0.0.1:8787)'),
    AGENT_HOST_SECRET: required('AGENT_HOST_SECRET'),
    OPENAI_MODEL: optional('gpt-4o-mini'),
    DEEPGRAM_STT_MODEL: optional('flux-general-en'),
    DEEPGRAM_VOICE: optional('aura-2-andromeda-en'),
    AGENT_OUTBOX_DIR: optional(resolve(AGENT_HOST_DIR, '.outbox-agent')),
    AGENT_LOG_LEVEL: optional('info'),
    AGENT_WORKER_HEALTH_PORT: wholeNumber('AGENT_WORKER_HEALTH_PORT', 'a port number', undefined, 0, 65535),
    NODE_ENV: optional(),
    AGENT_MAX_ROOMS: wholeNumber('AGENT_MAX_ROOMS', 'a number of rooms', 10, 1, 1000),
  })
  .transform((e, ctx): AgentConfig => {
    const need = (name: 'DEEPGRAM_API_KEY' | 'OPENAI_API_KEY' | 'DEEPGRAM_BASE_URL' | 'OPENAI_BASE_URL', why: string): string => {
      const value = e[name];
      if (!value) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required${why}` });
      return value ?? '';
    };
    const providers: Providers =
      e.AI_PROVIDERS === 'standin'
        ? { mode: 'standin', deepgramBaseUrl: need('DEEPGRAM_BASE_URL', STANDIN), openaiBaseUrl: need('OPENAI_BASE_URL', STANDIN) }
        : {
            mode: 'real',
            deepgramApiKey: need('DEEPGRAM_API_KEY', OFFLINE),
            openaiApiKey: need('OPENAI_API_KEY', OFFLINE),
            ...(e.DEEPGRAM_BASE_URL ? { deepgramBaseUrl: e.DEEPGRAM_BASE_URL } : {}),
            ...(e.OPENAI_BASE_URL ? { openaiBaseUrl: e.OPENAI_BASE_URL } : {}),
          };
    return {
      livekitUrl: e.LIVEKIT_URL,
      livekitApiKey: e.LIVEKIT_API_KEY,
      livekitApiSecret: e.LIVEKIT_API_SECRET,
      agentName: e.AGENT_NAME,
      apiUrl: e.API_URL.replace(/\/+$/, ''),
      secret: e.AGENT_HOST_SECRET,
      providers,
      llmModel: e.OPENAI_MODEL,
      sttModel: e.DEEPGRAM_STT_MODEL,
      ttsVoice: e.DEEPGRAM_VOICE,
      outboxDir: resolve(e.AGENT_OUTBOX_DIR),
      logLevel: e.AGENT_LOG_LEVEL,
      healthPort: e.AGENT_WORKER_HEALTH_PORT,
      production: e.NODE_ENV === 'production',
      maxRooms: e.AGENT_MAX_ROOMS,
    };
  });

export function loadAgentConfig(env: Env = process.env): AgentConfig {
  return parseEnv(AgentEnv, env, 'the AI coach');
}
