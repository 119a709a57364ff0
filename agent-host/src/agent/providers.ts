/** The speech and model engines, real or stand-in: the same plugins, only the base URLs differ. */
import type { llm, stt, tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import type { AgentConfig } from './config';

export interface Engines {
  stt: stt.STT;
  tts: tts.TTS;
  llm: llm.LLM;
}

export function createEngines(config: AgentConfig): Engines {
  const p = config.providers;
  const deepgramKey = p.mode === 'real' ? p.deepgramApiKey : 'standin';
  const openaiKey = p.mode === 'real' ? p.openaiApiKey : 'standin';
  const deepgramBase = p.deepgramBaseUrl ? { baseUrl: p.deepgramBaseUrl } : {};
  return {
    stt: new deepgram.STT({ apiKey: deepgramKey, model: config.sttModel, interimResults: true, ...deepgramBase }),
    tts: new deepgram.TTS({ apiKey: deepgramKey, model: config.ttsVoice, ...deepgramBase }),
    llm: new openai.LLM({ apiKey: openaiKey, model: config.llmModel, ...(p.openaiBaseUrl ? { baseURL: p.openaiBaseUrl } : {}) }),
  };
}
