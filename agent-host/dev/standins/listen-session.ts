/**
 * One `/v1/listen` WebSocket connection of the speech-to-text stand-in: audio in, Deepgram's
 * messages out, in order (a configured final-result latency delays without reordering).
 */
import { createHash } from 'node:crypto';
import type { DeepgramSession } from './deepgram-wire';
import type { PhraseBook, PhraseMatch, PhraseScore } from './phrase-book';
import { delay, toBuffer, type WebSocketLike, WS_OPEN } from './server';
import { UtteranceDetector } from './utterances';

export type Json = Record<string, unknown>;

export const MODEL_UUID = '1dbdfb4d-85b2-4659-9f8c-1a9b6bdc8f6c';
/** Deepgram's endpointing when the request does not set it (https://developers.deepgram.com/docs/endpointing). */
const DEEPGRAM_DEFAULT_ENDPOINTING_MS = 10;

/** What the stand-in made of one utterance (for tests and diagnosis). */
export interface HeardUtterance {
  start: number;
  end: number;
  transcript: string;
  /** The best phrase's score, even when it was too low to count. */
  best?: PhraseScore;
  /** How the utterance ended. */
  endedBy: 'silence' | 'idle' | 'finalize' | 'close';
  /** Wall clock (ms) when the stand-in decided the utterance had ended; its final goes out `finalLatencyMs` later. */
  decidedAt?: number;
  /** Wall clock (ms) when the audio that ended the asked-for endpointing window had arrived (or `decidedAt`): the final goes out `finalLatencyMs` after it. */
  windowAt?: number;
  /** Wall clock (ms) when the final result went out (benches measure from it). */
  finalAt?: number;
  /** Flux (`/v2/listen`): wall clock when the `EagerEndOfTurn` this final confirmed went out. */
  eagerAt?: number;
}

/** One `/v1/listen` WebSocket session, as the stand-in saw it. */
export interface SttSession extends DeepgramSession {
  sampleRate: number;
  channels: number;
  audioBytes: number;
  /** Text messages received, by type (KeepAlive, Finalize, CloseStream, ...). */
  control: string[];
  /** Every JSON message sent, in order. */
  sent: Json[];
  heard: HeardUtterance[];
}

export interface ListenTimings {
  interimIntervalMs: number;
  idleEndMs: number;
  finalLatencyMs: number;
  inactivityTimeoutMs: number;
}

/**
 * What both listen protocols (nova's `/v1/listen`, Flux's `/v2/listen`) do alike on a connection:
 * record text messages by type, hand audio on as samples, and close as Deepgram does after a quiet
 * spell (NET-0001).
 */
export abstract class ListenConnection {
  protected closing = false;
  readonly #pcm: PcmReader;
  #inactivityTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocketLike,
    readonly session: SttSession,
    readonly phrases: PhraseBook,
    readonly inactivityTimeoutMs: number,
  ) {
    this.#pcm = new PcmReader(session.channels);
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    this.#touch();
  }

  dispose(): void {
    this.closing = true;
    clearTimeout(this.#inactivityTimer);
    this.session.closedAt ??= Date.now();
  }

  protected get rate(): number {
    return this.session.sampleRate;
  }

  /** A text message, by its `type` (already recorded in `session.control`). */
  protected abstract onControl(type: string): void;

  /** Audio (already counted in `session.audioBytes`) as the first channel's samples, and as received. */
  protected abstract onAudio(samples: Int16Array, bytes: Buffer): void;

  #onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    this.#touch();
    if (this.closing) return;
    const bytes = toBuffer(data);
    if (!isBinary) {
      const type = controlType(bytes);
      this.session.control.push(type);
      this.onControl(type);
      return;
    }
    this.session.audioBytes += bytes.length;
    this.onAudio(this.#pcm.read(bytes), bytes);
  }

  #touch(): void {
    if (this.inactivityTimeoutMs <= 0) return;
    clearTimeout(this.#inactivityTimer);
    this.#inactivityTimer = setTimeout(() => {
      if (this.ws.readyState === WS_OPEN) {
        const reason = 'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001';
        this.ws.close(1011, reason);
      }
    }, this.inactivityTimeoutMs);
  }
}

/** Speaks Deepgram's live protocol on one connection, cutting and recognising utterances as audio comes. */
export class ListenSession extends ListenConnection {
  readonly #detector: UtteranceDetector;
  readonly #interim: boolean;
  readonly #vadEvents: boolean;
  readonly #endpointing: boolean;
  readonly #utteranceEndMs: number | undefined;
  readonly #punctuate: boolean;
  readonly #hash = createHash('sha256');
  #cursor = 0; // samples: end of the audio covered by the last final result
  #lastInterim = 0;
  #lastInterimText = '';
  #pendingUtteranceEnd: number | undefined; // last word end (s) awaiting an UtteranceEnd
  #queue: Promise<void> = Promise.resolve();
  #idleTimer: NodeJS.Timeout | undefined;
  #lastAudioAt = 0;
  /** The endpointing the plugin asked for (ms), or NaN. */
  readonly #endpointMs: number;
  /** When recent audio arrived (wall clock), by the sample count received up to the end of each message. */
  readonly #arrivals: AudioArrival[] = [];
  #received = 0;

  constructor(
    ws: WebSocketLike,
    session: SttSession,
    phrases: PhraseBook,
    readonly opts: ListenTimings,
  ) {
    super(ws, session, phrases, opts.inactivityTimeoutMs);
    const p = session.params;
    this.#endpointing = first(p.endpointing) !== 'false';
    // Deepgram sends speech_final after `endpointing` ms of silence (default 10). The stand-in can tell
    // only a whole known phrase from a pause inside one: a phrase ends then, anything else after the
    // detector's own silence (or the endpointing, if longer).
    const endpointMs = this.#endpointing ? Number(first(p.endpointing) ?? DEEPGRAM_DEFAULT_ENDPOINTING_MS) : Number.NaN;
    this.#endpointMs = endpointMs;
    this.#detector = new UtteranceDetector(
      session.sampleRate,
      phrases.vad,
      Number.isFinite(endpointMs) && endpointMs > 0
        ? { afterMs: endpointMs, complete: (speech) => phrases.recognise(speech, session.sampleRate).match !== undefined }
        : undefined,
    );
    this.#interim = isTrue(p.interim_results);
    this.#vadEvents = isTrue(p.vad_events);
    const utteranceEnd = Number(first(p.utterance_end_ms));
    this.#utteranceEndMs = Number.isFinite(utteranceEnd) && utteranceEnd > 0 ? utteranceEnd : undefined;
    this.#punctuate = isTrue(p.punctuate) || isTrue(p.smart_format);
  }

  override dispose(): void {
    clearTimeout(this.#idleTimer);
    super.dispose();
  }

  protected onControl(type: string): void {
    if (type === 'Finalize') this.#finalize('finalize');
    else if (type === 'CloseStream') this.#closeStream();
  }

  protected onAudio(samples: Int16Array, bytes: Buffer): void {
    this.#hash.update(bytes);
    this.#received += samples.length;
    this.#arrivals.push({ end: this.#received, at: Date.now() });
    if (this.#arrivals.length > ARRIVALS_KEPT) this.#arrivals.splice(0, this.#arrivals.length - ARRIVALS_KEPT);
    for (const event of this.#detector.push(samples)) {
      if (event.type === 'start') {
        this.#pendingUtteranceEnd = undefined;
        this.#lastInterim = event.startSample;
        this.#lastInterimText = '';
        if (this.#vadEvents) {
          this.#send({ type: 'SpeechStarted', channel: [0, 1], timestamp: seconds(event.startSample, this.rate) });
        }
      } else {
        // Deepgram decides once it has `endpointing` ms of silence; the stand-in, needing at least
        // MIN_ENDPOINTING_MS to be sure, times the final from when that shorter window had arrived.
        const windowEnd = event.endSample + Math.round((this.#endpointMs / 1000) * this.rate);
        const heardAt = event.endpointed ? windowHeardAt(this.#arrivals, windowEnd) : undefined;
        this.#final(event.samples, event.startSample, event.decidedAt, 'silence', heardAt);
      }
    }
    this.#maybeInterim();
    this.#maybeUtteranceEnd(false);
    this.#lastAudioAt = Date.now();
    this.#armIdle(this.opts.idleEndMs);
  }

  #armIdle(ms: number): void {
    clearTimeout(this.#idleTimer);
    // setImmediate runs after the poll phase: audio that arrived during a stall of the whole
    // process is read first, so a busy machine does not split an utterance.
    this.#idleTimer = setTimeout(() => setImmediate(() => this.#idle()), ms);
  }

  #idle(): void {
    if (this.closing) return;
    const quiet = Date.now() - this.#lastAudioAt;
    if (quiet < this.opts.idleEndMs) {
      this.#armIdle(this.opts.idleEndMs - quiet);
      return;
    }
    const end = this.#detector.finish();
    if (end?.type === 'end') this.#final(end.samples, end.startSample, this.#detector.position, 'idle');
    this.#maybeUtteranceEnd(true);
  }

  #maybeInterim(): void {
    if (!this.#interim || !this.#detector.inSpeech) return;
    const position = this.#detector.position;
    if (position - this.#lastInterim < (this.opts.interimIntervalMs / 1000) * this.rate) return;
    this.#lastInterim = position;
    const start = this.#detector.utteranceStart;
    const guess = this.phrases.matchPrefix(this.#detector.current(), this.rate);
    const text = guess ? transcriptOf(guess, this.#punctuate) : '';
    // An interim never goes backwards to nothing once words have shown.
    if (!text && this.#lastInterimText) return;
    this.#lastInterimText = text;
    this.#send(this.#results({ isFinal: false, speechFinal: false, match: guess, utteranceStart: start, end: position }));
  }

  /** `heardAt`: when the audio that decided the end had arrived (wall clock), if before now: the final latency counts from then. */
  #final(samples: Int16Array, startSample: number, position: number, endedBy: HeardUtterance['endedBy'], heardAt?: number): void {
    const { match, best } = this.phrases.recognise(samples, this.rate);
    const transcript = match ? transcriptOf(match, this.#punctuate) : '';
    const heard: HeardUtterance = {
      start: seconds(startSample, this.rate),
      end: seconds(startSample + samples.length, this.rate),
      transcript,
      best,
      endedBy,
      decidedAt: Date.now(),
    };
    heard.windowAt = Math.min(heardAt ?? heard.decidedAt!, heard.decidedAt!);
    this.session.heard.push(heard);
    const speechFinal = this.#endpointing && endedBy !== 'finalize';
    const message = this.#results({
      isFinal: true,
      speechFinal,
      fromFinalize: endedBy === 'finalize',
      match,
      utteranceStart: startSample,
      end: Math.max(position, startSample + samples.length),
    });
    if (this.opts.finalLatencyMs > 0) {
      const due = heard.windowAt + this.opts.finalLatencyMs;
      this.#enqueue(() => delay(due - Date.now()));
    }
    this.#enqueue(async () => {
      heard.finalAt = Date.now();
    });
    this.#send(message);
    this.#lastInterimText = '';
    if (match && this.#utteranceEndMs !== undefined) {
      const words = message.channel as { alternatives: Array<{ words: Array<{ end: number }> }> };
      this.#pendingUtteranceEnd = words.alternatives[0]?.words.at(-1)?.end;
    }
  }

  #maybeUtteranceEnd(idle: boolean): void {
    if (this.#pendingUtteranceEnd === undefined || this.#utteranceEndMs === undefined) return;
    if (this.#detector.inSpeech) return;
    const gap = seconds(this.#detector.position, this.rate) - this.#pendingUtteranceEnd;
    if (!idle && gap * 1000 < this.#utteranceEndMs) return;
    this.#send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: this.#pendingUtteranceEnd });
    this.#pendingUtteranceEnd = undefined;
  }

  #finalize(reason: 'finalize' | 'close'): void {
    const end = this.#detector.finish();
    if (end?.type === 'end') {
      this.#final(end.samples, end.startSample, this.#detector.position, reason);
    } else if (reason === 'finalize') {
      // Deepgram answers every Finalize with a final result, empty if nothing was pending.
      this.#send(
        this.#results({
          isFinal: true,
          speechFinal: false,
          fromFinalize: true,
          utteranceStart: this.#cursor,
          end: this.#detector.position,
        }),
      );
    }
  }

  #closeStream(): void {
    this.#finalize('close');
    this.#maybeUtteranceEnd(true);
    this.closing = true;
    clearTimeout(this.#idleTimer);
    const duration = seconds(this.session.audioBytes / (2 * this.session.channels), this.rate);
    this.#send({
      type: 'Metadata',
      transaction_key: 'deprecated',
      request_id: this.session.requestId,
      sha256: this.#hash.digest('hex'),
      created: new Date(this.session.openedAt).toISOString(),
      duration,
      channels: this.session.channels,
      models: [MODEL_UUID],
      model_info: { [MODEL_UUID]: modelInfo(this.session.params) },
    });
    this.#enqueue(async () => {
      if (this.ws.readyState === WS_OPEN) this.ws.close(1000);
    });
  }

  #results(r: { isFinal: boolean; speechFinal: boolean; fromFinalize?: boolean; match?: PhraseMatch; utteranceStart: number; end: number }): Json {
    const start = this.#cursor;
    if (r.isFinal) this.#cursor = r.end;
    const words = r.match ? wordsOf(r.match, seconds(r.utteranceStart, this.rate)) : [];
    return {
      type: 'Results',
      channel_index: [0, 1],
      duration: round3(seconds(r.end - start, this.rate)),
      start: round3(seconds(start, this.rate)),
      is_final: r.isFinal,
      speech_final: r.speechFinal,
      ...(r.fromFinalize ? { from_finalize: true } : {}),
      channel: {
        alternatives: [
          {
            transcript: r.match ? transcriptOf(r.match, this.#punctuate) : '',
            confidence: r.match ? round3(r.match.score) : 0,
            words,
          },
        ],
      },
      metadata: {
        request_id: this.session.requestId,
        model_info: modelInfo(this.session.params),
        model_uuid: MODEL_UUID,
      },
    };
  }

  #send(message: Json): void {
    this.session.sent.push(message);
    const text = JSON.stringify(message);
    this.#enqueue(async () => {
      if (this.ws.readyState === WS_OPEN) this.ws.send(text);
    });
  }

  /** Sends stay in order even when a delay (final latency) sits between them. */
  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step).catch(() => undefined);
  }
}

/** Audio messages remembered for timing finals (the plugin sends 100 ms each: several seconds' worth). */
const ARRIVALS_KEPT = 64;

/** One audio message: the samples received up to its end, and when it arrived. */
export interface AudioArrival {
  end: number;
  at: number;
}

/** When the audio up to `sample` had arrived: the first message that reached it (undefined if none kept did). */
export function windowHeardAt(arrivals: readonly AudioArrival[], sample: number): number | undefined {
  return arrivals.find((a) => a.end >= sample)?.at;
}

/** A text message's `type` (`'(not JSON)'` if it is not JSON), as the stand-ins record it. */
export function controlType(bytes: Buffer): string {
  try {
    return String((JSON.parse(bytes.toString('utf8')) as Json).type);
  } catch {
    return '(not JSON)';
  }
}

/** Binary linear16 audio to the first channel's samples; a part frame waits for the next message. */
export class PcmReader {
  #leftover: Buffer | undefined;
  constructor(readonly channels: number) {}

  read(bytes: Buffer): Int16Array {
    let data = bytes;
    if (this.#leftover) {
      data = Buffer.concat([this.#leftover, bytes]);
      this.#leftover = undefined;
    }
    const frameBytes = 2 * this.channels;
    const usable = data.length - (data.length % frameBytes);
    if (usable < data.length) this.#leftover = Buffer.from(data.subarray(usable));
    const samples = new Int16Array(usable / frameBytes);
    for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * frameBytes); // first channel
    return samples;
  }
}

export function transcriptOf(match: PhraseMatch, punctuate: boolean): string {
  return punctuate
    ? match.text.trim()
    : match.words
        .map((w) => w.word)
        .filter(Boolean)
        .join(' ');
}

export function wordsOf(match: PhraseMatch, offsetSeconds: number): Json[] {
  return match.words.map((w) => ({
    word: w.word,
    start: round3(offsetSeconds + w.start),
    end: round3(offsetSeconds + w.end),
    confidence: round3(match.score),
    punctuated_word: w.punctuatedWord,
  }));
}

export function modelInfo(params: URL | Record<string, string | string[]>): Json {
  const model = params instanceof URL ? params.searchParams.get('model') : first(params.model);
  return { name: model ?? 'nova-3', version: 'standin', arch: model ?? 'nova-3' };
}

export function first(value: string | string[] | undefined | null): string | undefined {
  return Array.isArray(value) ? value[0] : (value ?? undefined);
}

export function isTrue(value: string | string[] | undefined | null): boolean {
  return first(value) === 'true';
}

function seconds(samples: number, rate: number): number {
  return samples / rate;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
