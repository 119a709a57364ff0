/**
 * Energy-based voice activity detection for the speech-to-text stand-in: cuts a stream of 16-bit
 * PCM into utterances. Everything is counted in samples, so the same audio always cuts the same way
 * however it is chunked.
 */

export interface VadOptions {
  /** A 10 ms frame louder than this (RMS, dB below full scale) is speech. Default -45. */
  thresholdDb?: number;
  /** Speech must last this long to start an utterance. Default 30. */
  minSpeechMs?: number;
  /**
   * Silence that ends an utterance. Default 600: longer than the pause espeak-ng makes between
   * sentences, shorter than the 1 s of silence the Deepgram plugin forwards before it gates audio.
   */
  silenceMs?: number;
}

export const DEFAULT_VAD: Required<VadOptions> = { thresholdDb: -45, minSpeechMs: 30, silenceMs: 600 };

/**
 * The shortest endpointing the stand-in honours: its energy detector hears the closure of a stop
 * consonant ("exer-cise") as silence, which Deepgram's speech detector does not, and a known phrase
 * cut just before its last sound can still match.
 */
export const MIN_ENDPOINTING_MS = 100;

/**
 * Deepgram's endpointing: an utterance whose speech so far is complete (for the stand-in, a whole known
 * phrase) ends after `afterMs` of silence rather than the detector's `silenceMs`.
 */
export interface Endpointing {
  afterMs: number;
  complete: (speech: Int16Array) => boolean;
}

/** A detected utterance: its audio from the first to the last speech frame, placed in the stream. */
export interface Utterance {
  startSample: number;
  endSample: number;
  samples: Int16Array;
}

/** An utterance's end also says where in the stream it was decided (after the silence that ended it). */
export type VadEvent =
  | { type: 'start'; startSample: number }
  /** `endpointed`: ended by the endpointing (a whole phrase), not by the detector's own silence. */
  | ({ type: 'end'; decidedAt: number; endpointed?: boolean } & Utterance);

/** Whether a frame of samples is louder than the threshold. */
function isSpeech(frame: Int16Array, thresholdDb: number): boolean {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  const rms = Math.sqrt(sum / Math.max(1, frame.length)) / 32768;
  return 20 * Math.log10(rms + 1e-12) > thresholdDb;
}

/** Streaming utterance detector: push audio in any chunk sizes, get start/end events. */
export class UtteranceDetector {
  readonly frameSize: number;
  readonly #threshold: number;
  readonly #minSpeechFrames: number;
  readonly #silenceFrames: number;
  readonly #endpointFrames: number;
  #pending = new Int16Array(0);
  #position = 0; // samples consumed into whole frames
  #run: Int16Array[] = []; // consecutive speech frames before an utterance starts
  #chunks: Int16Array[] = []; // the utterance so far, including trailing silence
  #length = 0;
  #speechEnd = 0; // samples into the utterance up to the end of its last speech frame
  #silentFrames = 0;
  #start = -1;

  constructor(
    readonly sampleRate: number,
    opts: VadOptions = {},
    private readonly endpointing?: Endpointing,
  ) {
    const o = { ...DEFAULT_VAD, ...opts };
    this.frameSize = Math.max(1, Math.round(sampleRate / 100));
    this.#threshold = o.thresholdDb;
    this.#minSpeechFrames = Math.max(1, Math.round(o.minSpeechMs / 10));
    this.#endpointFrames = Math.max(1, Math.round((endpointing ? Math.max(endpointing.afterMs, MIN_ENDPOINTING_MS) : o.silenceMs) / 10));
    // An utterance not complete yet (a pause inside a sentence) still ends after the longer of the two.
    this.#silenceFrames = Math.max(this.#endpointFrames, Math.round(o.silenceMs / 10), 1);
  }

  /** Samples consumed so far (whole 10 ms frames). */
  get position(): number {
    return this.#position;
  }

  /** Whether an utterance is under way. */
  get inSpeech(): boolean {
    return this.#start >= 0;
  }

  /** Sample offset where the current utterance began, or -1. */
  get utteranceStart(): number {
    return this.#start;
  }

  /** Sample offset (in the stream) where the current utterance's last speech frame ends, or -1. */
  get lastSpeechSample(): number {
    return this.#start < 0 ? -1 : this.#start + this.#speechEnd;
  }

  /** The current utterance's audio up to its last speech frame (for interim guesses). */
  current(): Int16Array {
    return this.#joined().subarray(0, this.#speechEnd);
  }

  push(samples: Int16Array): VadEvent[] {
    const events: VadEvent[] = [];
    let data = samples;
    if (this.#pending.length > 0) {
      data = new Int16Array(this.#pending.length + samples.length);
      data.set(this.#pending);
      data.set(samples, this.#pending.length);
    }
    let at = 0;
    for (; at + this.frameSize <= data.length; at += this.frameSize) {
      const frame = data.slice(at, at + this.frameSize);
      const event = this.#frame(frame);
      if (event) events.push(event);
      this.#position += this.frameSize;
    }
    this.#pending = data.slice(at);
    return events;
  }

  /** Ends the current utterance now (end of stream, Finalize, idle): its end event, if any. */
  finish(): VadEvent | undefined {
    this.#run = [];
    if (this.#start < 0) return undefined;
    return this.#end();
  }

  #frame(frame: Int16Array): VadEvent | undefined {
    const speech = isSpeech(frame, this.#threshold);
    if (this.#start < 0) {
      if (!speech) {
        this.#run = [];
        return undefined;
      }
      this.#run.push(frame);
      if (this.#run.length < this.#minSpeechFrames) return undefined;
      this.#start = this.#position + this.frameSize - this.#run.length * this.frameSize;
      this.#chunks = this.#run;
      this.#length = this.#run.length * this.frameSize;
      this.#speechEnd = this.#length;
      this.#silentFrames = 0;
      this.#run = [];
      return { type: 'start', startSample: this.#start };
    }
    this.#chunks.push(frame);
    this.#length += frame.length;
    if (speech) {
      this.#speechEnd = this.#length;
      this.#silentFrames = 0;
      return undefined;
    }
    this.#silentFrames++;
    // Counted in frames, so the same audio ends at the same sample however it is chunked.
    const decidedAt = this.#position + this.frameSize;
    if (this.#silentFrames === this.#endpointFrames && this.#silentFrames < this.#silenceFrames && this.endpointing?.complete(this.current())) {
      return this.#end(decidedAt, true);
    }
    return this.#silentFrames >= this.#silenceFrames ? this.#end(decidedAt) : undefined;
  }

  #end(decidedAt = this.#position, endpointed = false): VadEvent {
    const samples = this.#joined().slice(0, this.#speechEnd);
    const event: VadEvent = {
      type: 'end',
      startSample: this.#start,
      endSample: this.#start + samples.length,
      decidedAt,
      samples,
      ...(endpointed ? { endpointed } : {}),
    };
    this.#start = -1;
    this.#chunks = [];
    this.#length = 0;
    this.#speechEnd = 0;
    this.#silentFrames = 0;
    return event;
  }

  #joined(): Int16Array {
    if (this.#chunks.length !== 1) {
      const all = new Int16Array(this.#length);
      let at = 0;
      for (const chunk of this.#chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      this.#chunks = [all];
    }
    return this.#chunks[0] ?? new Int16Array(0);
  }
}

/**
 * The speech extent of a whole recording, cut exactly as the streaming detector would cut it
 * (first frame of the first speech run to the last speech frame, internal pauses kept).
 */
export function trimToSpeech(samples: Int16Array, sampleRate: number, opts: VadOptions = {}): Int16Array {
  const o = { ...DEFAULT_VAD, ...opts };
  const detector = new UtteranceDetector(sampleRate, { ...o, silenceMs: Number.MAX_SAFE_INTEGER });
  const events = detector.push(samples);
  const start = events.find((e) => e.type === 'start');
  const end = detector.finish();
  if (!start || !end || end.type !== 'end') return new Int16Array(0);
  return end.samples;
}
