/**
 * The speech-to-text stand-in cannot recognise speech; it recognises KNOWN recordings. A phrase
 * book holds text with reference audio, and an utterance is matched against every entry by
 * duration and by how closely their band-energy envelopes follow each other: a coarse spectrogram,
 * each band z-scored so loudness and codec colouring drop out, judged on its worst 400 ms stretch so
 * one different word is enough to reject. Deterministic: the same audio always gives the same answer.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { espeak, parseWav, resample, type SpeakOptions } from './audio';
import { trimToSpeech, type VadOptions } from './utterances';

export interface MatchOptions {
  /** Lowest similarity (0..1; 0.5 is unrelated speech) accepted as a match. Default 0.9. */
  minScore?: number;
  /** Shorter/longer duration ratio below which a phrase cannot match. Default 0.8. */
  minDurationRatio?: number;
}

export const DEFAULT_MATCH: Required<MatchOptions> = { minScore: 0.9, minDurationRatio: 0.8 };

/** One recognised word with its place in the utterance (seconds from the utterance start). */
export interface PhraseWord {
  word: string;
  punctuatedWord: string;
  start: number;
  end: number;
}

export interface PhraseMatch {
  text: string;
  /** Similarity, 0..1 (0.5 is unrelated speech, 1 the same recording). */
  score: number;
  words: PhraseWord[];
}

export interface PhraseScore {
  text: string;
  score: number;
  /** Shorter/longer speech duration ratio of the utterance and the phrase's reference. */
  durationRatio: number;
}

interface Entry {
  text: string;
  samples: Int16Array;
  sampleRate: number;
  /** Speech-trimmed reference features per sample rate. */
  features: Map<number, Features>;
}

/** Text with reference recordings, matched against utterances. */
export class PhraseBook {
  readonly #entries: Entry[] = [];

  constructor(
    readonly vad: VadOptions = {},
    readonly match: MatchOptions = {},
  ) {}

  get texts(): string[] {
    return this.#entries.map((e) => e.text);
  }

  /** Registers a phrase with its reference audio (mono 16-bit PCM at any rate). */
  add(text: string, samples: Int16Array, sampleRate: number): this {
    this.#entries.push({ text, samples, sampleRate, features: new Map() });
    return this;
  }

  /** Registers a phrase with espeak-ng's rendering of it as the reference. */
  async addSpoken(text: string, opts: SpeakOptions = {}): Promise<this> {
    const pcm = await espeak(text, opts.voice, opts.wordsPerMinute);
    return this.add(text, pcm.samples, pcm.sampleRate);
  }

  /**
   * Loads `<name>.wav` files from a folder; each phrase's text is `<name>.txt` beside it, or else
   * the file name with dashes and underscores read as spaces.
   */
  async addFolder(dir: string): Promise<this> {
    const names = (await readdir(dir)).filter((n) => extname(n).toLowerCase() === '.wav').sort();
    for (const name of names) {
      const stem = basename(name, extname(name));
      const wav = parseWav(await readFile(join(dir, name)));
      const text = await readFile(join(dir, `${stem}.txt`), 'utf8').then(
        (t) => t.trim(),
        () => stem.replace(/[-_]+/g, ' ').trim(),
      );
      this.add(text, wav.samples, wav.sampleRate);
    }
    return this;
  }

  /** The best phrase for a whole utterance (speech-trimmed audio), or undefined if none fits. */
  matchUtterance(samples: Int16Array, sampleRate: number): PhraseMatch | undefined {
    return this.recognise(samples, sampleRate).match;
  }

  /** The match if any, and the best-scoring phrase even when it fell short (for diagnosis). */
  recognise(samples: Int16Array, sampleRate: number): { match?: PhraseMatch; best?: PhraseScore } {
    const best = this.rank(samples, sampleRate)[0];
    if (!best || best.score < this.#options.minScore) return { best };
    const words = wordTimes(best.text, samples.length / sampleRate);
    return { best, match: { text: best.text, score: best.score, words } };
  }

  /**
   * Every phrase's similarity to an utterance, best first (for diagnosis). Phrases whose duration
   * is too different score 0. The score is the worst 400 ms stretch of the aligned envelopes, so
   * one wrong word sinks an otherwise similar phrase.
   */
  rank(samples: Int16Array, sampleRate: number): PhraseScore[] {
    const heard = extractFeatures(samples, sampleRate);
    return this.#entries
      .map((entry) => {
        const ref = this.#reference(entry, sampleRate);
        const durationRatio = Math.min(ref.frames, heard.frames) / Math.max(ref.frames, heard.frames, 1);
        const comparable = ref.frames >= MIN_FRAMES && heard.frames >= MIN_FRAMES;
        const score = comparable && durationRatio >= this.#options.minDurationRatio ? compare(ref, heard) : 0;
        return { text: entry.text, score, durationRatio };
      })
      .sort((a, b) => b.score - a.score);
  }

  /**
   * A guess for an utterance still under way: the phrase whose opening matches what has been heard
   * so far, cut to the words spoken by now. Undefined until something fits.
   */
  matchPrefix(samples: Int16Array, sampleRate: number): PhraseMatch | undefined {
    const heard = extractFeatures(samples, sampleRate);
    if (heard.frames < 2 * MIN_FRAMES) return undefined;
    let best: { text: string; score: number; spoken: number; duration: number } | undefined;
    for (const entry of this.#entries) {
      const ref = this.#reference(entry, sampleRate);
      if (ref.frames < heard.frames * this.#options.minDurationRatio) continue;
      const prefix = sliceFeatures(ref, 0, Math.min(ref.frames, heard.frames));
      const score = compare(prefix, heard);
      if (score >= this.#options.minScore && (!best || score > best.score)) {
        // Seconds of the reference heard so far, and its whole length (frames are 10 ms).
        best = { text: entry.text, score, spoken: prefix.frames / 100, duration: ref.frames / 100 };
      }
    }
    if (!best) return undefined;
    const { spoken } = best;
    const words = wordTimes(best.text, best.duration).filter((w) => w.end <= spoken + 0.05);
    if (words.length === 0) return undefined;
    return { text: words.map((w) => w.punctuatedWord).join(' '), score: best.score, words };
  }

  get #options(): Required<MatchOptions> {
    return { ...DEFAULT_MATCH, ...this.match };
  }

  #reference(entry: Entry, sampleRate: number): Features {
    let features = entry.features.get(sampleRate);
    if (!features) {
      const audio = resample(entry.samples, entry.sampleRate, sampleRate);
      features = extractFeatures(trimToSpeech(audio, sampleRate, this.vad), sampleRate);
      entry.features.set(sampleRate, features);
    }
    return features;
  }
}

/** Per-band log energies, one value per 10 ms frame. */
interface Features {
  tracks: Float64Array[];
  frames: number;
}

const MIN_FRAMES = 5;
/** How far (frames of 10 ms) the two ends may be misplaced by the detector, and the search step. */
const MAX_SHIFT = 15;
const SHIFT_STEP = 3;
/** Similarity is judged on 400 ms windows, every 100 ms. */
const WINDOW = 40;
const WINDOW_HOP = 10;

/**
 * Best similarity of heard to reference over small shifts of either end (a quiet onset or tail can
 * fall either side of the detector's threshold); the heard span is stretched onto the reference span.
 */
function compare(ref: Features, heard: Features): number {
  const a = zscore(ref);
  const b = zscore(heard);
  const errors = new Float64Array(ref.frames + 1);
  let best = 0;
  for (let start = -MAX_SHIFT; start <= MAX_SHIFT; start += SHIFT_STEP) {
    for (let end = -MAX_SHIFT; end <= MAX_SHIFT; end += SHIFT_STEP) {
      const refFrom = Math.max(0, start);
      const refTo = ref.frames - Math.max(0, end);
      const heardFrom = Math.max(0, -start);
      const heardTo = heard.frames - Math.max(0, -end);
      if (refTo - refFrom < Math.max(MIN_FRAMES, ref.frames * 0.6)) continue;
      if (heardTo - heardFrom < Math.max(MIN_FRAMES, heard.frames * 0.6)) continue;
      best = Math.max(best, similarity(a, refFrom, refTo, b, heardFrom, heardTo, errors));
    }
  }
  return best;
}

function sliceFeatures(f: Features, from: number, to: number): Features {
  return { frames: to - from, tracks: f.tracks.map((t) => t.subarray(from, to)) };
}

/** Each band to zero mean and unit variance: loudness and fixed colouring drop out. */
function zscore(f: Features): Features {
  return {
    frames: f.frames,
    tracks: f.tracks.map((t) => {
      const mean = t.reduce((s, x) => s + x, 0) / Math.max(1, t.length);
      const sd = Math.sqrt(t.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, t.length));
      return sd > 1e-6 ? Float64Array.from(t, (x) => (x - mean) / sd) : new Float64Array(t.length);
    }),
  };
}

/**
 * Similarity of reference frames [refFrom, refTo) to heard frames [heardFrom, heardTo) stretched
 * linearly onto them, both z-scored: the lowest, over 400 ms windows, of 1 - (mean squared
 * difference) / 4, clamped to 0..1. Over a whole span this is (1 + r) / 2 for correlation r, so 0.5
 * means unrelated and 1 identical. `errors` is scratch space of at least refTo - refFrom + 1.
 */
function similarity(a: Features, refFrom: number, refTo: number, b: Features, heardFrom: number, heardTo: number, errors: Float64Array): number {
  const frames = refTo - refFrom;
  const scale = frames > 1 ? (heardTo - heardFrom - 1) / (frames - 1) : 0;
  const bands = a.tracks.length;
  // errors[i]: the squared error summed over frames before i, so any window's sum is a difference.
  errors[0] = 0;
  for (let i = 0; i < frames; i++) {
    const x = heardFrom + i * scale;
    const i0 = Math.floor(x);
    const i1 = Math.min(heardTo - 1, i0 + 1);
    const frac = x - i0;
    let sum = 0;
    for (let band = 0; band < bands; band++) {
      const y = b.tracks[band]!;
      const heardValue = y[i0]! + (y[i1]! - y[i0]!) * frac;
      sum += (a.tracks[band]![refFrom + i]! - heardValue) ** 2;
    }
    errors[i + 1] = errors[i]! + sum;
  }
  const window = Math.min(WINDOW, frames);
  let worst = 1;
  for (let start = 0; ; start += WINDOW_HOP) {
    const end = Math.min(frames, start + window);
    const mse = (errors[end]! - errors[end - window]!) / (bands * window);
    worst = Math.min(worst, 1 - mse / 4);
    if (end >= frames) break;
  }
  return Math.max(0, Math.min(1, worst));
}

// Band edges in Hz: roughly even on a perceptual scale, up to the 8 kHz Nyquist of 16 kHz audio.
const BANDS: Array<[number, number]> = [
  [100, 300],
  [300, 600],
  [600, 1000],
  [1000, 1600],
  [1600, 2500],
  [2500, 3500],
  [3500, 5000],
  [5000, 7600],
];
/** Levels more than this far below the utterance's loudest band are floored: gain and hiss do not count. */
const DYNAMIC_RANGE_DB = 45;

/** Per-band log energies of 20 ms Hann windows every 10 ms: bands × frames, not yet normalised. */
function rawFeatures(samples: Int16Array, sampleRate: number): Float64Array[] {
  const hop = Math.round(sampleRate / 100);
  const win = hop * 2;
  let size = 1;
  while (size < win) size <<= 1;
  const frames = Math.max(0, Math.floor((samples.length - win) / hop) + 1);
  const nyquist = sampleRate / 2;
  const bands = BANDS.filter(([lo]) => lo < nyquist * 0.9).map(([lo, hi]) => [
    Math.max(1, Math.round((lo / sampleRate) * size)),
    Math.min(size / 2, Math.round((Math.min(hi, nyquist * 0.95) / sampleRate) * size)),
  ]);
  const hann = new Float64Array(win);
  let windowPower = 0;
  for (let i = 0; i < win; i++) {
    hann[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1));
    windowPower += hann[i]! * hann[i]!;
  }
  const out = bands.map(() => new Float64Array(frames));
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let f = 0; f < frames; f++) {
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < win; i++) re[i] = (samples[f * hop + i]! / 32768) * hann[i]!;
    fft(re, im);
    bands.forEach(([lo, hi], b) => {
      let power = 0;
      for (let k = lo!; k < hi!; k++) power += re[k]! * re[k]! + im[k]! * im[k]!;
      out[b]![f] = 10 * Math.log10((2 * power) / (windowPower * size) + 1e-12);
    });
  }
  let peak = -Infinity;
  for (const track of out) for (const x of track) peak = Math.max(peak, x);
  const floor = peak - DYNAMIC_RANGE_DB;
  for (const track of out) for (let i = 0; i < track.length; i++) track[i] = Math.max(floor, track[i]!);
  // A three-frame moving average steadies the envelope against codec and resampler detail.
  return out.map((track) => {
    const smooth = new Float64Array(track.length);
    for (let i = 0; i < track.length; i++) {
      const a = track[Math.max(0, i - 1)]!;
      const c = track[Math.min(track.length - 1, i + 1)]!;
      smooth[i] = (a + track[i]! + c) / 3;
    }
    return smooth;
  });
}

function extractFeatures(samples: Int16Array, sampleRate: number): Features {
  const tracks = rawFeatures(samples, sampleRate);
  return { tracks, frames: tracks[0]?.length ?? 0 };
}

/** Word timings spread across `duration` seconds in proportion to each word's length. */
function wordTimes(text: string, duration: number): PhraseWord[] {
  const tokens = text.split(/\s+/).filter(Boolean);
  const weights = tokens.map((t) => t.replace(/[^\p{L}\p{N}]/gu, '').length + 1);
  const total = weights.reduce((s, w) => s + w, 0) || 1;
  let at = 0;
  return tokens.map((token, i) => {
    const length = (weights[i]! / total) * duration;
    const word = {
      word: token.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, ''),
      punctuatedWord: token,
      start: round3(at),
      end: round3(at + length * 0.9),
    };
    at += length;
    return word;
  });
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** In-place iterative radix-2 FFT; `re.length` must be a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
        const next = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = next;
      }
    }
  }
}
