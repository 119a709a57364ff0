/**
 * Offline AI providers (AI_PROVIDERS=standin): local servers speaking Deepgram's and OpenAI's real
 * wire protocols, so the real LiveKit plugins run against them.
 *
 * ```ts
 * const standins = await startStandins({ sttPhrases: ['I slept badly.'], chatScript: { defaultReply: 'Tell me more.' } });
 * new deepgram.STT({ apiKey: 'standin', baseUrl: standins.deepgramBaseUrl });
 * new deepgram.TTS({ apiKey: 'standin', baseUrl: standins.deepgramBaseUrl });
 * new openai.LLM({ apiKey: 'standin', baseURL: standins.openaiBaseUrl, model: 'gpt-4o-mini' });
 * ```
 */
import { type DeepgramSttOptions, DeepgramSttStandin } from './deepgram-stt';
import { type DeepgramTtsOptions, DeepgramTtsStandin } from './deepgram-tts';
import { type ChatScript, type OpenAiChatOptions, OpenAiChatStandin } from './openai-chat';
import { PhraseBook } from './phrase-book';
import { listenLoopback } from './server';

export interface StandinLatencies {
  /** Extra wait before each final transcript (on top of the end-of-speech silence). */
  sttFinalMs?: number;
  /** From a speech segment's first `Speak` to its first audio byte. */
  ttsFirstByteMs?: number;
  /** From a chat request to its first content token. */
  llmFirstTokenMs?: number;
}

/** A phrase to recognise: text alone (espeak-ng renders the reference) or text with its recording. */
export type SttPhrase = string | { text: string; samples: Int16Array; sampleRate: number };

export interface StandinsOptions {
  /** Phrases the speech-to-text stand-in recognises. */
  sttPhrases?: SttPhrase[];
  /** A folder of `<name>.wav` (+ optional `<name>.txt`) recordings to recognise too. */
  sttPhraseDir?: string;
  chatScript?: ChatScript;
  /** One number applies to all three. */
  latencyMs?: number | StandinLatencies;
  stt?: Omit<DeepgramSttOptions, 'phrases'>;
  tts?: DeepgramTtsOptions;
  chat?: Omit<OpenAiChatOptions, 'script'>;
  /** Fixed ports (0 = any free port). */
  deepgramPort?: number;
  openaiPort?: number;
}

export interface Standins {
  /** `http://127.0.0.1:<port>`: the `baseUrl` of both deepgram.STT and deepgram.TTS. */
  deepgramBaseUrl: string;
  /** `http://127.0.0.1:<port>/v1`: the `baseURL` of openai.LLM. */
  openaiBaseUrl: string;
  stt: DeepgramSttStandin;
  tts: DeepgramTtsStandin;
  chat: OpenAiChatStandin;
  /** Environment for an agent process pointed at these stand-ins. */
  env: Record<'DEEPGRAM_BASE_URL' | 'OPENAI_BASE_URL' | 'DEEPGRAM_API_KEY' | 'OPENAI_API_KEY', string>;
  close(): Promise<void>;
}

/** Starts the Deepgram (STT + TTS on one port, as Deepgram serves both from one host) and OpenAI stand-ins. */
export async function startStandins(opts: StandinsOptions = {}): Promise<Standins> {
  const latency: StandinLatencies =
    typeof opts.latencyMs === 'number'
      ? { sttFinalMs: opts.latencyMs, ttsFirstByteMs: opts.latencyMs, llmFirstTokenMs: opts.latencyMs }
      : (opts.latencyMs ?? {});
  const phrases = new PhraseBook(opts.stt?.vad, opts.stt?.match);
  for (const phrase of opts.sttPhrases ?? []) {
    if (typeof phrase === 'string') await phrases.addSpoken(phrase);
    else phrases.add(phrase.text, phrase.samples, phrase.sampleRate);
  }
  if (opts.sttPhraseDir) await phrases.addFolder(opts.sttPhraseDir);

  const stt = new DeepgramSttStandin({ finalLatencyMs: latency.sttFinalMs, ...opts.stt, phrases });
  const tts = new DeepgramTtsStandin({ firstByteLatencyMs: latency.ttsFirstByteMs, ...opts.tts });
  const chat = new OpenAiChatStandin({ firstTokenLatencyMs: latency.llmFirstTokenMs, ...opts.chat, script: opts.chatScript });
  const deepgram = await listenLoopback([stt, tts], opts.deepgramPort);
  const openai = await listenLoopback([chat], opts.openaiPort).catch(async (e: unknown) => {
    await deepgram.close();
    throw e;
  });
  const openaiBaseUrl = `${openai.url}/v1`;
  return {
    deepgramBaseUrl: deepgram.url,
    openaiBaseUrl,
    stt,
    tts,
    chat,
    env: {
      DEEPGRAM_BASE_URL: deepgram.url,
      OPENAI_BASE_URL: openaiBaseUrl,
      DEEPGRAM_API_KEY: 'standin',
      OPENAI_API_KEY: 'standin',
    },
    close: async () => {
      await Promise.all([deepgram.close(), openai.close()]);
    },
  };
}

export type { Pcm, SpeakOptions } from './audio';
export { concatPcm, encodeWav, espeak, parseWav, resample, silence, speak, writeWav } from './audio';
export type { DeepgramSttOptions, HeardUtterance, SttSession } from './deepgram-stt';
export { DeepgramSttStandin, startDeepgramStt } from './deepgram-stt';
export type { DeepgramTtsOptions, TtsSession } from './deepgram-tts';
export { DeepgramTtsStandin, startDeepgramTts } from './deepgram-tts';
export { audioFrames, framesToPcm } from './frames';
export type { ChatMessage, ChatRequestBody, ChatRule, ChatScript, OpenAiChatOptions, RecordedChatRequest } from './openai-chat';
export { messageText, OpenAiChatStandin, startOpenAiChat } from './openai-chat';
export type { MatchOptions, PhraseMatch, PhraseScore } from './phrase-book';
export { PhraseBook } from './phrase-book';
export type { VadOptions } from './utterances';
