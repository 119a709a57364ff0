/**
 * What agents-js's audio copies cost a job process, `npx tsx bench/audio-copy.ts`.
 *
 * patches/@livekit+agents+1.9.0.patch joins arrays with set() where the release spread them into a JS
 * array of every byte or sample (`new Int8Array([...buf, ...bytes])`). The baseline, measured in the
 * same run, is the released code (copied below, word for word but for the names); the patched code
 * is the installed package. Per minute of a session, as a room feeds them:
 *   stt        the client's 10 ms frames (16 kHz) into the Deepgram plugins' 50 ms AudioByteStream
 *              (twice per room with a coach: the coach listener has its own);
 *   vad        Silero's VAD: mergeFrames of each inference window's frames (512 samples, the 10 ms
 *              frames it took, ~4) and of the same window resampled, as silero/vad.js calls it;
 *   voice      a reply's audio, as the Deepgram voice plugin writes each message into 100 ms frames
 *              (24 kHz; the stand-in sends a sentence at once, ~3 s).
 * Prints CPU ms per session-minute, the garbage collector's time over the case, and the ratio to the
 * baseline; never asserts. HC_BENCH_MINUTES (default 10) session-minutes per case.
 */

import { PerformanceObserver } from 'node:perf_hooks';
import { AudioByteStream, initializeLogger, mergeFrames } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { machineLine, printTable } from './common';

const MINUTES = Number(process.env.HC_BENCH_MINUTES ?? 10);
initializeLogger({ pretty: false, level: 'warn' });

/** agents-js 1.9.0's AudioByteStream.write, as released (dist/audio.js). */
class ReleasedByteStream {
  #buf = new Int8Array();
  constructor(
    private readonly sampleRate: number,
    private readonly bytesPerFrame: number,
  ) {}
  write(data: ArrayBufferView): AudioFrame[] {
    const bytes = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
    this.#buf = new Int8Array([...this.#buf, ...bytes]);
    const frames: AudioFrame[] = [];
    while (this.#buf.length >= this.bytesPerFrame) {
      const frameData = this.#buf.slice(0, this.bytesPerFrame);
      this.#buf = this.#buf.slice(this.bytesPerFrame);
      frames.push(new AudioFrame(new Int16Array(frameData.buffer), this.sampleRate, 1, frameData.length / 2));
    }
    return frames;
  }
}

/** agents-js 1.9.0's mergeFrames, as released (dist/utils.js). */
function releasedMerge(buffer: AudioFrame[]): AudioFrame {
  const { sampleRate, channels } = buffer[0]!;
  let samplesPerChannel = 0;
  let data = new Int16Array();
  for (const frame of buffer) {
    if (frame.sampleRate !== sampleRate) throw new TypeError('sample rate mismatch');
    if (frame.channels !== channels) throw new TypeError('channel count mismatch');
    data = new Int16Array([...data, ...frame.data]);
    samplesPerChannel += frame.samplesPerChannel;
  }
  return new AudioFrame(data, sampleRate, channels, samplesPerChannel);
}

const noise = (n: number) => Int16Array.from({ length: n }, () => Math.round((Math.random() - 0.5) * 2000));

interface Case {
  label: string;
  /** One session-minute of the work, with the released code or the installed one. */
  minute(released: boolean): number;
}

const CASES: Case[] = [
  {
    label: 'stt: 10 ms frames → 50 ms chunks (16 kHz)',
    minute(released) {
      const frame = noise(160);
      const stream = released ? new ReleasedByteStream(16_000, 1600) : new AudioByteStream(16_000, 1, 800);
      let out = 0;
      for (let i = 0; i < 6000; i++) out += stream.write(frame).length;
      return out;
    },
  },
  {
    label: 'vad: mergeFrames per 32 ms window (16 kHz)',
    minute(released) {
      const window = [noise(160), noise(160), noise(160), noise(32)].map((d) => new AudioFrame(d, 16_000, 1, d.length));
      const merge = released ? releasedMerge : (frames: AudioFrame[]) => mergeFrames(frames);
      let out = 0;
      for (let i = 0; i < 1875; i++) out += merge(window).samplesPerChannel + merge(window).samplesPerChannel;
      return out;
    },
  },
  {
    label: 'voice: a 3 s message → 100 ms frames (24 kHz), 10 a minute',
    minute(released) {
      const message = noise(72_000);
      let out = 0;
      for (let i = 0; i < 10; i++) {
        const stream = released ? new ReleasedByteStream(24_000, 4800) : new AudioByteStream(24_000, 1);
        out += stream.write(message).length;
      }
      return out;
    },
  },
];

let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gc.observe({ entryTypes: ['gc'] });

/** CPU ms per session-minute and the collector's ms over the run (after one warm-up minute). */
async function measure(c: Case, released: boolean): Promise<{ cpuMs: number; gcMs: number }> {
  c.minute(released);
  await new Promise((r) => setImmediate(r)); // let the observer report the warm-up's collections
  gcMs = 0;
  const start = process.cpuUsage();
  let sink = 0;
  for (let m = 0; m < MINUTES; m++) sink += c.minute(released);
  const used = process.cpuUsage(start);
  await new Promise((r) => setImmediate(r));
  if (sink === 0) throw new Error('nothing came out');
  return { cpuMs: (used.user + used.system) / 1000 / MINUTES, gcMs: gcMs / MINUTES };
}

console.log("agents-js's audio copies, released (spread) against patched (set), per session-minute");
console.log(`${machineLine()}; ${MINUTES} session-minutes per case\n`);
const rows: string[][] = [];
for (const c of CASES) {
  const base = await measure(c, true);
  const patched = await measure(c, false);
  rows.push([
    c.label,
    base.cpuMs.toFixed(1),
    base.gcMs.toFixed(1),
    patched.cpuMs.toFixed(1),
    patched.gcMs.toFixed(1),
    `${(patched.cpuMs / base.cpuMs).toFixed(3)}x`,
  ]);
}
printTable(['case', 'released CPU ms/min', 'GC ms/min', 'patched CPU ms/min', 'GC ms/min', 'patched/released'], rows, new Set([1, 2, 3, 4, 5]));
gc.disconnect();
