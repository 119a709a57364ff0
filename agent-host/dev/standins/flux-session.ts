/**
 * One `/v2/listen` WebSocket connection of the speech-to-text stand-in: Deepgram Flux, the model that
 * decides turns itself. Binary linear16 audio in; `Connected`, then `TurnInfo` messages out
 * (`StartOfTurn`, `Update`, `EagerEndOfTurn`, `TurnResumed`, `EndOfTurn`), each with `request_id`,
 * `sequence_id`, `turn_index`, `audio_window_start`/`_end` (s), `transcript`, `words`
 * (`{ word, confidence }`) and `end_of_turn_confidence`, following Flux's state machine
 * (https://developers.deepgram.com/docs/flux/state): `Update` about every 0.25 s of audio in a turn; an
 * `EagerEndOfTurn` always has words; `TurnResumed` only follows one; the `EndOfTurn` transcript is the
 * eager one's; `turn_index` counts up after each `EndOfTurn`. `CloseStream` sends the turn's last
 * `Update` (no `EndOfTurn`) and closes without a status code, as Flux does
 * (https://developers.deepgram.com/docs/flux/close-stream).
 *
 * When the turn ends, counted in the audio received after the last speech frame, deterministically:
 * - `EndOfTurn` after {@link FLUX_EOT_MS} of silence after a whole known phrase at the default
 *   `eot_threshold` 0.7 (Flux's published "~260 ms end-of-turn detection",
 *   https://developers.deepgram.com/docs/flux/quickstart). A higher threshold waits proportionally
 *   longer (Deepgram says only "slightly increased latency"; the proportion is the stand-in's).
 * - `EagerEndOfTurn` (only with `eager_eot_threshold`) earlier by Deepgram's published saving: "0.3–0.5
 *   for ~150–250 ms latency savings at the cost of ~50–70% more LLM calls" (the eager threshold's
 *   reference, https://developers.telnyx.com/docs/voice/stt/websocket-streaming/parameters/end-of-turn.md,
 *   and https://developers.deepgram.com/docs/flux/configuration), read as 250 ms at 0.3 falling
 *   linearly to 150 ms at 0.5 (and on, to nothing at 0.8); never sooner than 100 ms, the shortest
 *   silence the energy detector tells from a stop consonant (MIN_ENDPOINTING_MS).
 * - The stand-in cannot judge meaning, so it reads a pause after part of a known phrase (mid-sentence)
 *   pessimistically: a medium-confidence end, eager when a whole phrase would have ended (the false
 *   start that costs the extra model calls), then `TurnResumed` if speech comes back; its `EndOfTurn`
 *   waits for `eot_timeout_ms` (default 5000), as does speech it cannot transcribe.
 * Unlike `/v1/listen`, no extra final latency is added: the 260 ms figure is Flux's whole delay.
 */

import { first, type Json, ListenConnection, type SttSession, transcriptOf } from './listen-session';
import type { PhraseBook } from './phrase-book';
import { type WebSocketLike, WS_OPEN } from './server';
import { MIN_ENDPOINTING_MS, UtteranceDetector } from './utterances';

/** Flux's end-of-turn delay at the default `eot_threshold` (0.7). */
export const FLUX_EOT_MS = 260;
const DEFAULT_EOT_THRESHOLD = 0.7;
const DEFAULT_EOT_TIMEOUT_MS = 5000;
/** Audio between `Update` messages in a turn. */
const UPDATE_EVERY_MS = 250;
/** Speech between fresh transcript guesses for `Update`s (the guess is the costly part). */
const GUESS_EVERY_MS = 500;

export const FLUX_MODELS = ['flux-general-en', 'flux-general-multi'];

/** Flux's parameter ranges (https://developers.deepgram.com/reference/speech-to-text/listen-flux); out of range is a 400. */
export const FLUX_RANGES = {
  eager_eot_threshold: [0.3, 0.9],
  eot_threshold: [0.5, 1],
  eot_timeout_ms: [500, 60_000],
} as const;

/** When a turn ends for given parameters (ms of silence after the last speech). */
export function fluxTimings(params: Record<string, string | string[]>): { eagerMs: number | undefined; eotMs: number; eotTimeoutMs: number } {
  const num = (name: string) => {
    const v = Number(first(params[name]));
    return first(params[name]) !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const eot = num('eot_threshold') ?? DEFAULT_EOT_THRESHOLD;
  const eotMs = frames(FLUX_EOT_MS * (eot / DEFAULT_EOT_THRESHOLD));
  const eager = num('eager_eot_threshold');
  const saving = eager === undefined ? 0 : Math.max(0, 250 - 500 * (eager - 0.3));
  return {
    eagerMs: eager === undefined ? undefined : Math.min(eotMs, frames(Math.max(MIN_ENDPOINTING_MS, eotMs - saving))),
    eotMs,
    eotTimeoutMs: num('eot_timeout_ms') ?? DEFAULT_EOT_TIMEOUT_MS,
  };
}

type TurnState = 'idle' | 'ongoing' | 'awaiting';

/** Speaks Flux's turn protocol on one connection. */
export class FluxSession extends ListenConnection {
  readonly #detector: UtteranceDetector;
  readonly #eagerFrames: number | undefined;
  readonly #eotFrames: number;
  readonly #punctuate = true; // Flux's transcripts are punctuated and cased
  #sequence = 0;
  #turnIndex = 0;
  #state: TurnState = 'idle';
  #turnStart = 0; // samples
  #lastMessageAt = 0; // samples: audio position of the last TurnInfo sent
  #guess = { text: '', words: [] as Json[], speechEnd: -1 };
  #eager: { text: string; words: Json[]; speechEnd: number; at: number } | undefined;
  #checkedAt = -1; // the speech end whose silence was judged

  constructor(ws: WebSocketLike, session: SttSession, phrases: PhraseBook, inactivityTimeoutMs: number) {
    super(ws, session, phrases, inactivityTimeoutMs);
    const t = fluxTimings(session.params);
    this.#eagerFrames = t.eagerMs === undefined ? undefined : t.eagerMs / 10;
    this.#eotFrames = t.eotMs / 10;
    this.#detector = new UtteranceDetector(
      session.sampleRate,
      { ...phrases.vad, silenceMs: t.eotTimeoutMs },
      { afterMs: t.eotMs, complete: (speech) => phrases.recognise(speech, session.sampleRate).match !== undefined },
    );
    this.#send({ type: 'Connected', request_id: session.requestId });
  }

  protected onControl(type: string): void {
    if (type === 'CloseStream') this.#closeStream();
  }

  protected onAudio(samples: Int16Array): void {
    // Frame by frame, so every decision falls on the same 10 ms frame however the audio is chunked.
    const frame = this.#detector.frameSize;
    for (let at = 0; at < samples.length; at += frame) this.#frame(samples.subarray(at, at + frame));
  }

  #frame(samples: Int16Array): void {
    for (const event of this.#detector.push(samples)) {
      if (event.type === 'start') {
        this.#state = 'ongoing';
        this.#turnStart = event.startSample;
        this.#guess = { text: '', words: [], speechEnd: -1 };
        this.#eager = undefined;
        this.#checkedAt = -1;
        this.#turnInfo('StartOfTurn', '', [], 0);
      } else {
        this.#endOfTurn(event.samples, event.startSample, event.endSample);
      }
    }
    if (this.#state === 'idle' || !this.#detector.inSpeech) return;
    const speechEnd = this.#detector.lastSpeechSample;
    const silentFrames = Math.round((this.#detector.position - speechEnd) / this.#detector.frameSize);
    if (this.#eager && speechEnd > this.#eager.speechEnd) {
      // Speech came back after an eager end: that turn goes on.
      this.#state = 'ongoing';
      this.#eager = undefined;
      this.#turnInfo('TurnResumed', this.#guess.text, this.#guess.words, 0.1);
    }
    if (this.#state === 'ongoing' && this.#eagerFrames !== undefined && speechEnd !== this.#checkedAt) {
      if (silentFrames === this.#eagerFrames) {
        const { match } = this.phrases.recognise(this.#detector.current(), this.rate);
        if (match) {
          this.#checkedAt = speechEnd;
          this.#sendEager(
            transcriptOf(match, this.#punctuate),
            match.words.map((w) => fluxWord(w.punctuatedWord, match.score)),
            speechEnd,
          );
        }
      } else if (silentFrames === this.#eotFrames) {
        this.#checkedAt = speechEnd;
        const guess = this.phrases.matchPrefix(this.#detector.current(), this.rate);
        if (guess)
          this.#sendEager(
            transcriptOf(guess, this.#punctuate),
            guess.words.map((w) => fluxWord(w.punctuatedWord, guess.score)),
            speechEnd,
          );
      }
    }
    if (this.#detector.position - this.#lastMessageAt >= (UPDATE_EVERY_MS / 1000) * this.rate) this.#update(speechEnd);
  }

  #sendEager(text: string, words: Json[], speechEnd: number): void {
    if (!text) return;
    this.#state = 'awaiting';
    this.#guess = { text, words, speechEnd };
    this.#eager = { text, words, speechEnd, at: Date.now() };
    this.#turnInfo('EagerEndOfTurn', text, words, Number(first(this.session.params.eager_eot_threshold) ?? 0.5));
  }

  #update(speechEnd: number): void {
    if (speechEnd - this.#guess.speechEnd >= (GUESS_EVERY_MS / 1000) * this.rate && this.#state === 'ongoing') {
      const guess = this.phrases.matchPrefix(this.#detector.current(), this.rate);
      // A transcript never goes back to nothing once words have shown.
      if (guess)
        this.#guess = { text: transcriptOf(guess, this.#punctuate), words: guess.words.map((w) => fluxWord(w.punctuatedWord, guess.score)), speechEnd };
      else this.#guess.speechEnd = speechEnd;
    }
    this.#turnInfo('Update', this.#guess.text, this.#guess.words, 0.01);
  }

  #endOfTurn(samples: Int16Array, startSample: number, endSample: number): void {
    const eager = this.#eager;
    // After an eager end with no speech since, the turn ends on the eager transcript (Flux's rule).
    let text = eager?.text ?? '';
    let words = eager?.words ?? [];
    if (!eager) {
      const { match } = this.phrases.recognise(samples, this.rate);
      text = match ? transcriptOf(match, this.#punctuate) : this.#guess.text;
      words = match ? match.words.map((w) => fluxWord(w.punctuatedWord, match.score)) : this.#guess.words;
    }
    const finalAt = Date.now();
    this.session.heard.push({
      start: startSample / this.rate,
      end: endSample / this.rate,
      transcript: text,
      endedBy: 'silence',
      finalAt,
      ...(eager ? { eagerAt: eager.at } : {}),
    });
    this.#turnInfo('EndOfTurn', text, words, Number(first(this.session.params.eot_threshold) ?? DEFAULT_EOT_THRESHOLD));
    this.#state = 'idle';
    this.#eager = undefined;
    this.#turnIndex++;
  }

  #closeStream(): void {
    // Flux decodes what it has, sends the turn's Update, and closes; no EndOfTurn, no status code.
    if (this.#state !== 'idle') this.#turnInfo('Update', this.#guess.text, this.#guess.words, 0.01);
    this.closing = true;
    if (this.ws.readyState === WS_OPEN) this.ws.close();
  }

  #turnInfo(event: string, transcript: string, words: Json[], confidence: number): void {
    this.#lastMessageAt = this.#detector.position;
    this.#send({
      type: 'TurnInfo',
      request_id: this.session.requestId,
      event,
      turn_index: this.#turnIndex,
      audio_window_start: round3(this.#turnStart / this.rate),
      audio_window_end: round3(this.#detector.position / this.rate),
      transcript,
      words,
      end_of_turn_confidence: confidence,
    });
  }

  #send(message: Json): void {
    const full = { ...message, sequence_id: this.#sequence++ };
    this.session.sent.push(full);
    if (this.ws.readyState === WS_OPEN) this.ws.send(JSON.stringify(full));
  }
}

function fluxWord(word: string, confidence: number): Json {
  return { word, confidence: round3(confidence) };
}

/** Rounded to whole 10 ms frames. */
function frames(ms: number): number {
  return Math.round(ms / 10) * 10;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
