/**
 * Deepgram text-to-speech stand-in with real speech from espeak-ng.
 *
 * The LiveKit plugin's streaming path (the one AgentSession uses) opens a WebSocket to `/v1/speak`
 * and sends `Speak` (one sentence each), `Flush` and `Close`; it expects binary linear16 audio and
 * ends the segment on `Flushed`. `Clear` is answered with `Cleared`. Each `Speak` is synthesised as
 * it arrives, in order, so the first audio does not wait for the whole reply.
 *
 * The REST form (`POST /v1/speak`) is answered too, but note the plugin's `synthesize()` hard-codes
 * HTTPS on port 443 (`node:https` with `port: 443`), so it cannot reach a loopback stand-in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeWav, espeak, pcmBytes, resample } from './audio';
import { type DeepgramSession, deepgramAuth, deepgramError, deepgramPost, openDeepgramSession, Refusals } from './deepgram-wire';
import { delay, listenLoopback, queryRecord, type Route, type RunningServer, readBody, requestId, toBuffer, type WebSocketLike, WS_OPEN } from './server';

export interface DeepgramTtsOptions {
  /** Fixed wait from a segment's first `Speak` to its first audio byte, for benches. Default 0. */
  firstByteLatencyMs?: number;
  /** Audio per binary message. Default 100 ms. */
  chunkMs?: number;
  /** Send audio no faster than real time (Deepgram itself sends faster). Default false. */
  realtime?: boolean;
  /** espeak-ng voice. Default en-us. */
  voice?: string;
  /** espeak-ng words per minute; multiplied by the `speed` query parameter when given. */
  wordsPerMinute?: number;
  /** If set, only `Authorization: Token <apiKey>` is accepted; otherwise any token is. */
  apiKey?: string;
}

/** One `/v1/speak` WebSocket session, as the stand-in saw it. */
export interface TtsSession extends DeepgramSession {
  model: string;
  sampleRate: number;
  /** Client messages in order, e.g. `{ type: 'Speak', text: 'Hello there. ' }`, `{ type: 'Flush' }`. */
  received: Array<{ type: string; text?: string }>;
  /** JSON messages sent, in order. */
  sent: Array<Record<string, unknown>>;
  audioBytes: number;
  /** Milliseconds from the first Speak to the first audio byte sent, per segment. */
  firstByteMs: number[];
  /** Wall clock (ms) of each segment's first audio byte, in the same order. */
  firstByteAt: number[];
}

const DEFAULT_SPEAK_RATE = 175; // espeak-ng's default words per minute

/** The `/v1/speak` route: add it to a server, or start it alone with {@link startDeepgramTts}. */
export class DeepgramTtsStandin implements Route {
  readonly sessions: TtsSession[] = [];
  readonly rest: Array<{ params: Record<string, string | string[]>; text: string }> = [];
  readonly #opts: DeepgramTtsOptions;
  readonly #live = new Set<WebSocketLike>();
  readonly #refusals = new Refusals();

  constructor(opts: DeepgramTtsOptions = {}) {
    this.#opts = opts;
  }

  /** Refuses the next `count` connections with `status` (e.g. 503), to exercise retries. */
  refuseNext(count: number, status = 503): void {
    this.#refusals.add(count, status);
  }

  /** Every text the stand-in was asked to speak, in order. */
  get spokenTexts(): string[] {
    return this.sessions.flatMap((s) => s.received.filter((m) => m.type === 'Speak').map((m) => m.text ?? ''));
  }

  refuseUpgrade(req: IncomingMessage, url: URL): { status: number; body: string } | undefined {
    if (url.pathname !== '/v1/speak') return undefined;
    return this.#refusals.take() ?? deepgramAuth(req, this.#opts.apiKey) ?? checkEncoding(url);
  }

  socket(ws: WebSocketLike, req: IncomingMessage, url: URL): boolean {
    if (url.pathname !== '/v1/speak') return false;
    const session: TtsSession = {
      ...openDeepgramSession(`tts-${this.sessions.length + 1}`, req, url),
      model: url.searchParams.get('model') ?? 'aura-2-thalia-en',
      sampleRate: Number(url.searchParams.get('sample_rate') ?? 24_000) || 24_000,
      received: [],
      sent: [],
      audioBytes: 0,
      firstByteMs: [],
      firstByteAt: [],
    };
    this.sessions.push(session);
    this.#live.add(ws);
    new SpeakSession(ws, session, this.#opts, speedOf(url));
    ws.on('close', () => {
      session.closedAt = Date.now();
      this.#live.delete(ws);
    });
    return true;
  }

  request(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    return deepgramPost('/v1/speak', req, res, url, () => this.#restSpeak(req, res, url));
  }

  close(): void {
    this.#live.clear();
  }

  async #restSpeak(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const refused = deepgramAuth(req, this.#opts.apiKey) ?? checkEncoding(url);
    if (refused) {
      res.writeHead(refused.status, { 'Content-Type': 'application/json' }).end(refused.body);
      return;
    }
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { text?: unknown };
    const text = typeof body.text === 'string' ? body.text : '';
    this.rest.push({ params: queryRecord(url), text });
    const sampleRate = Number(url.searchParams.get('sample_rate') ?? 24_000) || 24_000;
    await delay(this.#opts.firstByteLatencyMs ?? 0);
    const samples = await synthesise(text, sampleRate, this.#opts, speedOf(url));
    const container = url.searchParams.get('container') ?? 'wav';
    const audio = container === 'none' ? pcmBytes(samples) : encodeWav(samples, sampleRate);
    res.writeHead(200, {
      'Content-Type': container === 'none' ? 'application/octet-stream' : 'audio/wav',
      'Content-Length': audio.length,
      'dg-request-id': requestId(),
      'dg-model-name': url.searchParams.get('model') ?? 'aura-2-thalia-en',
      'dg-char-count': String(text.length),
    });
    res.end(audio);
  }
}

/** One connection: synthesis runs in a queue so audio, Flushed and Cleared keep their order. */
class SpeakSession {
  #queue: Promise<void> = Promise.resolve();
  #generation = 0; // bumped by Clear: queued work of an older generation is dropped
  #flushes = 0;
  #segmentStart: number | undefined; // when the current segment's first Speak arrived
  #segmentHasAudio = false;

  constructor(
    readonly ws: WebSocketLike,
    readonly session: TtsSession,
    readonly opts: DeepgramTtsOptions,
    readonly speed: number,
  ) {
    ws.on('message', (data, isBinary) => this.#onMessage(toBuffer(data), isBinary));
    this.#sendJson({
      type: 'Metadata',
      request_id: session.requestId,
      model_name: session.model,
      model_version: 'standin',
      model_uuid: '0f9e1c5a-3c6e-4f0a-9d7e-5e0c1b9f7a21',
    });
  }

  #onMessage(bytes: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.#sendJson({ type: 'Warning', description: 'binary messages are not accepted', code: 'INVALID_MESSAGE' });
      return;
    }
    let message: { type?: unknown; text?: unknown };
    try {
      message = JSON.parse(bytes.toString('utf8')) as typeof message;
    } catch {
      this.#sendJson({ type: 'Error', description: 'message is not JSON', code: 'INVALID_MESSAGE' });
      return;
    }
    const type = String(message.type);
    const text = typeof message.text === 'string' ? message.text : undefined;
    this.session.received.push(text === undefined ? { type } : { type, text });
    const generation = this.#generation;
    switch (type) {
      case 'Speak':
        this.#segmentStart ??= Date.now();
        if (text?.trim()) this.#enqueue(generation, () => this.#speak(text, generation));
        break;
      case 'Flush': {
        const sequence = this.#flushes++;
        this.#enqueue(generation, async () => {
          this.#sendJson({ type: 'Flushed', sequence_id: sequence });
          this.#segmentStart = undefined;
          this.#segmentHasAudio = false;
        });
        break;
      }
      case 'Clear':
        this.#generation++;
        this.#segmentStart = undefined;
        this.#segmentHasAudio = false;
        this.#sendJson({ type: 'Cleared', sequence_id: this.#flushes });
        break;
      case 'Close':
        // Closes after the audio already queued, whatever a Clear did to it.
        this.#queue = this.#queue.then(() => {
          if (this.ws.readyState === WS_OPEN) this.ws.close(1000);
        });
        break;
      default:
        this.#sendJson({ type: 'Warning', description: `unknown message type ${type}`, code: 'INVALID_MESSAGE' });
    }
  }

  async #speak(text: string, generation: number): Promise<void> {
    const sampleRate = this.session.sampleRate;
    const samples = await synthesise(text, sampleRate, this.opts, this.speed);
    const chunk = Math.max(1, Math.round((sampleRate * (this.opts.chunkMs ?? 100)) / 1000));
    const startedAt = Date.now();
    for (let at = 0; at < samples.length; at += chunk) {
      if (generation !== this.#generation || this.ws.readyState !== WS_OPEN) return;
      if (!this.#segmentHasAudio) {
        const since = this.#segmentStart ?? Date.now();
        await delay(since + (this.opts.firstByteLatencyMs ?? 0) - Date.now());
        if (generation !== this.#generation || this.ws.readyState !== WS_OPEN) return;
        this.session.firstByteAt.push(Date.now());
        this.session.firstByteMs.push(Date.now() - since);
        this.#segmentHasAudio = true;
      }
      // Between chunks, let a Clear or Close that has arrived take effect.
      if (this.opts.realtime) await delay(startedAt + (at / sampleRate) * 1000 - Date.now());
      else await new Promise((resolve) => setImmediate(resolve));
      if (generation !== this.#generation || this.ws.readyState !== WS_OPEN) return;
      const piece = pcmBytes(samples.subarray(at, Math.min(samples.length, at + chunk)));
      this.session.audioBytes += piece.length;
      this.ws.send(piece);
    }
  }

  #enqueue(generation: number, step: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(() => (generation === this.#generation ? step() : undefined))
      .catch((e: unknown) => this.#sendJson({ type: 'Error', description: String(e), code: 'SYNTHESIS_FAILED' }));
  }

  #sendJson(message: Record<string, unknown>): void {
    this.session.sent.push(message);
    if (this.ws.readyState === WS_OPEN) this.ws.send(JSON.stringify(message));
  }
}

/** espeak-ng speech for `text` at `sampleRate`, linear16. */
async function synthesise(text: string, sampleRate: number, opts: DeepgramTtsOptions, speed: number): Promise<Int16Array> {
  const wordsPerMinute = speed === 1 && opts.wordsPerMinute === undefined ? undefined : (opts.wordsPerMinute ?? DEFAULT_SPEAK_RATE) * speed;
  const native = await espeak(text.trim(), opts.voice ?? 'en-us', wordsPerMinute);
  return resample(native.samples, native.sampleRate, sampleRate);
}

/** Starts the text-to-speech stand-in alone on a free loopback port. */
export async function startDeepgramTts(opts: DeepgramTtsOptions = {}): Promise<RunningServer & { baseUrl: string; tts: DeepgramTtsStandin }> {
  const tts = new DeepgramTtsStandin(opts);
  const server = await listenLoopback([tts]);
  return { ...server, baseUrl: server.url, tts };
}

function speedOf(url: URL): number {
  const speed = Number(url.searchParams.get('speed') ?? 1);
  return Number.isFinite(speed) && speed > 0 ? speed : 1;
}

function checkEncoding(url: URL): { status: number; body: string } | undefined {
  const encoding = url.searchParams.get('encoding') ?? 'linear16';
  if (encoding === 'linear16') return undefined;
  return deepgramError(400, 'UNSUPPORTED_AUDIO_FORMAT', `the stand-in only produces linear16, not ${encoding}`);
}
