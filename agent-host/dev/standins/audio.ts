/** Audio for the stand-ins: espeak-ng speech, WAV reading and writing, resampling. */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/** Mono 16-bit PCM with its sample rate: the only audio shape the stand-ins deal in. */
export interface Pcm {
  samples: Int16Array;
  sampleRate: number;
}

/** Where espeak-ng lives; Debian's package puts it here. */
export const ESPEAK_BIN = process.env.ESPEAK_NG_BIN ?? '/usr/bin/espeak-ng';

export interface SpeakOptions {
  /** Output sample rate; espeak-ng itself renders at 22,050 Hz. */
  sampleRate?: number;
  /** espeak-ng voice. Recordings only match a phrase book made with the same voice and speed. */
  voice?: string;
  /** Words per minute (espeak-ng `-s`, default 175). */
  wordsPerMinute?: number;
}

const spoken = new Map<string, Promise<Pcm>>();
const SPOKEN_CACHE_SIZE = 256; // a long dev session speaks many sentences; keep the recent ones

/**
 * Real speech for `text` from espeak-ng, resampled to `sampleRate` (default 16 kHz).
 * Deterministic: the same text, voice and speed always give the same samples (and are cached).
 */
export async function speak(text: string, opts: SpeakOptions = {}): Promise<Int16Array> {
  const sampleRate = opts.sampleRate ?? 16_000;
  const native = await espeak(text, opts.voice ?? 'en-us', opts.wordsPerMinute);
  return resample(native.samples, native.sampleRate, sampleRate);
}

/** espeak-ng's own output (22,050 Hz), cached per text, voice and speed. */
export function espeak(text: string, voice = 'en-us', wordsPerMinute?: number): Promise<Pcm> {
  const key = `${voice}\u0000${wordsPerMinute ?? ''}\u0000${text}`;
  let pending = spoken.get(key);
  if (!pending) {
    pending = runEspeak(text, voice, wordsPerMinute);
    spoken.set(key, pending);
    if (spoken.size > SPOKEN_CACHE_SIZE) spoken.delete(spoken.keys().next().value!);
    // A failed run must not poison the cache for the next caller.
    pending.catch(() => spoken.delete(key));
  }
  return pending;
}

function runEspeak(text: string, voice: string, wordsPerMinute?: number): Promise<Pcm> {
  const args = ['--stdout', '-v', voice];
  if (wordsPerMinute !== undefined) args.push('-s', String(Math.round(wordsPerMinute)));
  return new Promise((resolve, reject) => {
    // Text goes through stdin so a leading "-" or an odd character is never read as an option.
    const child = spawn(ESPEAK_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new Error(`espeak-ng failed to start (${ESPEAK_BIN}): ${error.message}`)));
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`espeak-ng exited with ${code}: ${Buffer.concat(err).toString().trim()}`));
        return;
      }
      try {
        resolve(parseWav(Buffer.concat(out)));
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.on('error', () => undefined); // a failed start is reported by 'error' above
    child.stdin.end(text.replace(/\s+/g, ' '));
  });
}

/**
 * Reads a 16-bit PCM WAV (mono, or the first channel of several). Tolerates the placeholder
 * sizes espeak-ng writes when streaming to stdout by reading the data chunk to the end of the file.
 */
export function parseWav(wav: Uint8Array): Pcm {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  const tag = (at: number) => String.fromCharCode(wav[at]!, wav[at + 1]!, wav[at + 2]!, wav[at + 3]!);
  if (wav.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let offset = 12;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  while (offset + 8 <= wav.byteLength) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format !== 1 && format !== 0xfffe) throw new Error(`unsupported WAV format ${format}`);
    } else if (id === 'data') {
      if (bits !== 16 || channels < 1) throw new Error(`unsupported WAV: ${bits}-bit, ${channels} channels`);
      const end = Math.min(wav.byteLength, body + size);
      const frames = Math.floor((end - body) / (2 * channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) samples[i] = view.getInt16(body + i * 2 * channels, true);
      return { samples, sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

/** A mono 16-bit PCM WAV file's bytes. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.byteLength, 40);
  return Buffer.concat([header, pcmBytes(samples)]);
}

/** Writes a mono 16-bit PCM WAV file (e.g. for Chromium's `--use-file-for-fake-audio-capture`). */
export async function writeWav(path: string, samples: Int16Array, sampleRate: number): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate));
}

/** The little-endian bytes of PCM samples, sharing memory where the platform allows. */
export function pcmBytes(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** `ms` of digital silence at `sampleRate`. */
export function silence(ms: number, sampleRate: number): Int16Array {
  return new Int16Array(Math.round((ms / 1000) * sampleRate));
}

/** Joins PCM pieces end to end. */
export function concatPcm(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const ZERO_CROSSINGS = 16;
const filters = new Map<string, { phases: number; step: number; halfWidth: number; table: Float32Array }>();

/**
 * Band-limited resampling (Blackman-windowed sinc, polyphase with a cached table). Quality is ample
 * for speech, and the result is deterministic, which the phrase matching relies on.
 */
export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input.slice();
  const divisor = gcd(fromRate, toRate);
  const phases = toRate / divisor; // output samples per `step` input samples
  const step = fromRate / divisor;
  const filter = polyphaseFilter(fromRate, toRate, phases, step);
  const { halfWidth, table } = filter;
  const taps = 2 * halfWidth;
  const outLength = Math.round((input.length * toRate) / fromRate);
  const out = new Int16Array(outLength);
  for (let n = 0; n < outLength; n++) {
    const position = n * step;
    const centre = Math.floor(position / phases);
    const phase = position - centre * phases;
    const first = centre - halfWidth + 1;
    const row = phase * taps;
    let acc = 0;
    for (let j = 0; j < taps; j++) {
      const k = first + j;
      if (k >= 0 && k < input.length) acc += input[k]! * table[row + j]!;
    }
    out[n] = Math.max(-32768, Math.min(32767, Math.round(acc)));
  }
  return out;
}

function polyphaseFilter(fromRate: number, toRate: number, phases: number, step: number) {
  const key = `${fromRate}:${toRate}`;
  let filter = filters.get(key);
  if (!filter) {
    // Cut off just below the lower of the two Nyquist frequencies, in units of the input rate.
    const cutoff = Math.min(1, toRate / fromRate) * 0.95;
    const halfWidth = Math.ceil(ZERO_CROSSINGS / cutoff);
    const taps = 2 * halfWidth;
    const table = new Float32Array(phases * taps);
    for (let phase = 0; phase < phases; phase++) {
      const frac = phase / phases;
      for (let j = 0; j < taps; j++) {
        const x = frac + halfWidth - 1 - j; // distance from the output instant to input tap j
        const w = x / halfWidth;
        const window = Math.abs(w) >= 1 ? 0 : 0.42 + 0.5 * Math.cos(Math.PI * w) + 0.08 * Math.cos(2 * Math.PI * w);
        const arg = Math.PI * cutoff * x;
        table[phase * taps + j] = cutoff * (arg === 0 ? 1 : Math.sin(arg) / arg) * window;
      }
    }
    filter = { phases, step, halfWidth, table };
    filters.set(key, filter);
  }
  return filter;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
