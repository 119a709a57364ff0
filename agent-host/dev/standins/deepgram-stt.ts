/**
 * Deepgram streaming speech-to-text stand-in (`/v1/listen`), speaking the wire protocol the
 * LiveKit Deepgram plugin uses: binary linear16 audio in; `Results` (interim and final),
 * `SpeechStarted`, `UtteranceEnd` and, on `CloseStream`, `Metadata` out. `KeepAlive` and `Finalize`
 * are honoured. Utterances are cut by an energy detector and recognised against a phrase book of
 * known recordings; anything else gets an empty transcript, as silence or noise does.
 * Also answers the prerecorded REST form (`POST /v1/listen` with a WAV body), and Deepgram Flux's
 * turn-based `/v2/listen` (the plugin's `STTv2`; flux-session.ts) from the same phrase book.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseWav } from './audio';
import { deepgramAuth, deepgramError, deepgramPost, openDeepgramSession, Refusals } from './deepgram-wire';
import { FLUX_MODELS, FLUX_RANGES, FluxSession } from './flux-session';
import { isTrue, type Json, ListenSession, MODEL_UUID, modelInfo, type SttSession, transcriptOf, wordsOf } from './listen-session';
import { type MatchOptions, PhraseBook } from './phrase-book';
import { listenLoopback, queryRecord, type Route, type RunningServer, readBody, requestId, sendJson, type WebSocketLike } from './server';
import { UtteranceDetector, type VadOptions } from './utterances';

export type { HeardUtterance, SttSession } from './listen-session';

export interface DeepgramSttOptions {
  /** The known recordings. Default: an empty book (every utterance transcribes as empty). */
  phrases?: PhraseBook;
  vad?: VadOptions;
  match?: MatchOptions;
  /** Audio (ms) between interim results while someone speaks, when `interim_results=true`. Default 500. */
  interimIntervalMs?: number;
  /**
   * Wall-clock gap in the audio after which an utterance under way is ended as if by silence, and a
   * due `UtteranceEnd` is sent: the plugin stops sending audio after 1 s of quiet. Default 800.
   */
  idleEndMs?: number;
  /** Extra delay before each final result (`/v1/listen`; Flux's published delays are whole), for benches. Default 0. */
  finalLatencyMs?: number;
  /** Like Deepgram (NET-0001), close with 1011 after this long without audio or a message. Default 10000; 0 never. */
  inactivityTimeoutMs?: number;
  /** If set, only `Authorization: Token <apiKey>` is accepted; otherwise any token is. */
  apiKey?: string;
}

/** The `/v1/listen` route: add it to a server, or start it alone with {@link startDeepgramStt}. */
export class DeepgramSttStandin implements Route {
  readonly phrases: PhraseBook;
  readonly sessions: SttSession[] = [];
  readonly prerecorded: Array<{ params: Record<string, string | string[]>; transcript: string }> = [];
  readonly #opts: Required<Omit<DeepgramSttOptions, 'phrases' | 'apiKey' | 'vad' | 'match'>> & Pick<DeepgramSttOptions, 'apiKey'>;
  readonly #live = new Set<ListenSession | FluxSession>();
  readonly #refusals = new Refusals();

  constructor(opts: DeepgramSttOptions = {}) {
    this.phrases = opts.phrases ?? new PhraseBook(opts.vad, opts.match);
    this.#opts = {
      interimIntervalMs: opts.interimIntervalMs ?? 500,
      idleEndMs: opts.idleEndMs ?? 800,
      finalLatencyMs: opts.finalLatencyMs ?? 0,
      inactivityTimeoutMs: opts.inactivityTimeoutMs ?? 10_000,
      apiKey: opts.apiKey,
    };
  }

  /** Refuses the next `count` connections with `status` (e.g. 503), to exercise retries. */
  refuseNext(count: number, status = 503): void {
    this.#refusals.add(count, status);
  }

  /** Sessions' final, non-empty transcripts in order. */
  get transcripts(): string[] {
    return this.sessions.flatMap((s) => s.heard.map((h) => h.transcript).filter(Boolean));
  }

  refuseUpgrade(req: IncomingMessage, url: URL): { status: number; body: string } | undefined {
    if (url.pathname !== '/v1/listen' && url.pathname !== '/v2/listen') return undefined;
    const refused = this.#refusals.take() ?? deepgramAuth(req, this.#opts.apiKey);
    if (refused) return refused;
    const encoding = url.searchParams.get('encoding') ?? 'linear16';
    if (encoding !== 'linear16') {
      return deepgramError(400, 'INVALID_QUERY_PARAMETER', `the stand-in only understands linear16, not ${encoding}`);
    }
    return url.pathname === '/v2/listen' ? refuseFluxQuery(url) : undefined;
  }

  socket(ws: WebSocketLike, req: IncomingMessage, url: URL): boolean {
    const flux = url.pathname === '/v2/listen';
    if (!flux && url.pathname !== '/v1/listen') return false;
    const session: SttSession = {
      ...openDeepgramSession(`stt-${this.sessions.length + 1}`, req, url),
      sampleRate: Number(url.searchParams.get('sample_rate') ?? 16_000) || 16_000,
      // Flux takes one channel.
      channels: flux ? 1 : Number(url.searchParams.get('channels') ?? 1) || 1,
      audioBytes: 0,
      control: [],
      sent: [],
      heard: [],
    };
    this.sessions.push(session);
    // Deepgram Flux's turns (flux-session.ts), or nova's results (listen-session.ts).
    const live = flux ? new FluxSession(ws, session, this.phrases, this.#opts.inactivityTimeoutMs) : new ListenSession(ws, session, this.phrases, this.#opts);
    this.#live.add(live);
    ws.on('close', () => {
      live.dispose();
      this.#live.delete(live);
    });
    return true;
  }

  request(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    return deepgramPost('/v1/listen', req, res, url, () => this.#prerecorded(req, res, url));
  }

  close(): void {
    for (const live of this.#live) live.dispose();
    this.#live.clear();
  }

  async #prerecorded(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const auth = deepgramAuth(req, this.#opts.apiKey);
    if (auth) {
      res.writeHead(auth.status, { 'Content-Type': 'application/json' }).end(auth.body);
      return;
    }
    const wav = parseWav(await readBody(req));
    const detector = new UtteranceDetector(wav.sampleRate, this.phrases.vad);
    const ends = detector.push(wav.samples).filter((e) => e.type === 'end');
    const last = detector.finish();
    if (last?.type === 'end') ends.push(last);
    const punctuate = isTrue(url.searchParams.get('punctuate')) || isTrue(url.searchParams.get('smart_format'));
    const words: Json[] = [];
    const texts: string[] = [];
    let confidence = 0;
    for (const end of ends) {
      if (end.type !== 'end') continue;
      const match = this.phrases.matchUtterance(end.samples, wav.sampleRate);
      if (!match) continue;
      texts.push(transcriptOf(match, punctuate));
      words.push(...wordsOf(match, end.startSample / wav.sampleRate));
      confidence = Math.max(confidence, match.score);
    }
    const transcript = texts.join(' ');
    this.prerecorded.push({ params: queryRecord(url), transcript });
    const id = requestId();
    sendJson(res, 200, {
      metadata: {
        transaction_key: 'deprecated',
        request_id: id,
        sha256: createHash('sha256').update(wav.samples).digest('hex'),
        created: new Date().toISOString(),
        duration: wav.samples.length / wav.sampleRate,
        channels: 1,
        models: [MODEL_UUID],
        model_info: { [MODEL_UUID]: modelInfo(url) },
      },
      results: { channels: [{ alternatives: [{ transcript, confidence, words }] }] },
    });
  }
}

/** Flux's answer to a model or threshold it does not take: a 400 before the upgrade, as Deepgram gives. */
function refuseFluxQuery(url: URL): { status: number; body: string } | undefined {
  const model = url.searchParams.get('model') ?? '';
  if (!FLUX_MODELS.includes(model))
    return deepgramError(400, 'INVALID_QUERY_PARAMETER', `/v2/listen takes a Flux model (${FLUX_MODELS.join(', ')}), not '${model}'`);
  for (const [name, [low, high]] of Object.entries(FLUX_RANGES)) {
    const raw = url.searchParams.get(name);
    if (raw === null) continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < low || value > high) {
      return deepgramError(400, 'INVALID_QUERY_PARAMETER', `${name} must be between ${low} and ${high}, not '${raw}'`);
    }
  }
  const eager = url.searchParams.get('eager_eot_threshold');
  const eot = url.searchParams.get('eot_threshold') ?? '0.7';
  if (eager !== null && Number(eager) > Number(eot)) {
    return deepgramError(400, 'INVALID_QUERY_PARAMETER', `eager_eot_threshold (${eager}) must not be above eot_threshold (${eot})`);
  }
  return undefined;
}

/** Starts the speech-to-text stand-in alone on a free loopback port. */
export async function startDeepgramStt(opts: DeepgramSttOptions = {}): Promise<RunningServer & { baseUrl: string; stt: DeepgramSttStandin }> {
  const stt = new DeepgramSttStandin(opts);
  const server = await listenLoopback([stt]);
  return { ...server, baseUrl: server.url, stt };
}
