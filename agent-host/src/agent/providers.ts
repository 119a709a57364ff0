/** The speech and model engines, real or stand-in: the same plugins, only the base URLs differ. */
import type { llm, stt, tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import type { AgentConfig } from './config';
import { EagerSentenceTokenizer } from './eager-sentences';

export interface Engines {
  stt: stt.STT;
  tts: tts.TTS;
  llm: llm.LLM;
}

/**
 * Deepgram Flux (`DEEPGRAM_STT_MODEL=flux-general-en`, the plugin's `STTv2` on `/v2/listen`) with
 * `eagerEotThreshold`: Flux sends an `EagerEndOfTurn` before it is sure the client has finished, which
 * agents-js takes as a PREFLIGHT_TRANSCRIPT and starts the preemptive reply on (nova-3's first signal
 * is its final transcript). Deepgram: 0.3–0.5 saves ~150–250 ms for ~50–70% more model calls
 * (https://developers.deepgram.com/docs/flux/configuration); 0.4 is the middle. A `TurnResumed` (the
 * client went on) does not play the early reply: agents-js keeps it unscheduled until the turn ends
 * and discards it when the final transcript differs, or when the next preflight replaces it.
 */
const FLUX_EAGER_EOT_THRESHOLD = 0.4;

/**
 * How long the connection to the model stays open between requests. Node's fetch (undici) closes an
 * idle connection after 4 s unless the server names a time, and a conversation's turns come further
 * apart than that, so every reply's model request opened a new TCP and TLS connection to OpenAI (two
 * round trips before the request is even sent; others measured ~80–130 ms a request,
 * https://github.com/lessweb/deepcode-cli/pull/100). 30 s keeps it open across the pauses of a
 * conversation and stays well inside the idle time of an HTTPS edge; a connection the server closes
 * meanwhile is replaced (undici sees the close) and the request goes out on a new one.
 * agent-host/test/agent/model-connection-is-kept.test.ts counts the connections.
 */
export const MODEL_KEEP_ALIVE_MS = 30_000;

let modelDispatcher: Agent | undefined;

/** The model's client: the OpenAI SDK the plugin would make itself (no retries of its own), on a kept-alive connection. */
export function modelClient(apiKey: string, baseURL: string | undefined): OpenAI {
  modelDispatcher ??= new Agent({ keepAliveTimeout: MODEL_KEEP_ALIVE_MS, keepAliveMaxTimeout: MODEL_KEEP_ALIVE_MS });
  // undici's own fetch with its own Agent: Node's built-in fetch is an older undici on Node 20.
  return new OpenAI({ apiKey, baseURL, maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: modelDispatcher } });
}

/** Whether the speech-to-text model is a Flux one, spoken to on `/v2/listen`. */
export const isFluxModel = (model: string): boolean => model.startsWith('flux-');

export function createEngines(config: AgentConfig): Engines {
  const p = config.providers;
  const deepgramKey = p.mode === 'real' ? p.deepgramApiKey : 'standin';
  const openaiKey = p.mode === 'real' ? p.openaiApiKey : 'standin';
  const deepgramBase = p.deepgramBaseUrl ? { baseUrl: p.deepgramBaseUrl } : {};
  return {
    stt: isFluxModel(config.sttModel)
      ? new deepgram.STTv2({
          apiKey: deepgramKey,
          model: config.sttModel,
          eagerEotThreshold: FLUX_EAGER_EOT_THRESHOLD,
          ...(p.deepgramBaseUrl ? { endpointUrl: `${p.deepgramBaseUrl.replace(/\/+$/, '')}/v2/listen` } : {}),
        })
      : new deepgram.STT({ apiKey: deepgramKey, model: config.sttModel, interimResults: true, ...deepgramBase }),
    // The voice gets each sentence with its period, not with the next sentence's first word (eager-sentences.ts).
    tts: new deepgram.TTS({ apiKey: deepgramKey, model: config.ttsVoice, sentenceTokenizer: new EagerSentenceTokenizer(), ...deepgramBase }),
    llm: new openai.LLM({ client: modelClient(openaiKey, p.openaiBaseUrl), model: config.llmModel }),
  };
}
