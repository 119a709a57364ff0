import { AudioByteStream, initializeLogger, mergeFrames } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * agents-js copies a session's audio in one piece (patches/): its AudioByteStream (the Deepgram
 * plugins' 50 ms chunks of the client's audio, and the voice's 100 ms frames) and mergeFrames (Silero's
 * VAD, every inference window) joined arrays by spreading them into a JS array of every byte or sample
 * (`new Int8Array([...buf, ...bytes])`), for each 10 ms frame of every room: CPU and garbage in every job
 * process (bench/audio-copy.ts measures it). The audio that comes out is the same; what is checked here
 * is that it no longer goes element by element through an iterator.
 */

const RATE = 16_000;
const FRAME = RATE / 100; // 10 ms, as the room delivers it

/** 10 ms frames of a ramp, each sample its own index, so order and loss show. */
function ramp(frames: number): Int16Array[] {
  return Array.from({ length: frames }, (_, f) => Int16Array.from({ length: FRAME }, (_, i) => ((f * FRAME + i) % 32_000) - 16_000));
}

/** Runs `fn` with `type`'s iterator refusing to run (spreading a typed array goes through it; set() does not). */
function withoutIterating<T>(type: Int8ArrayConstructor | Int16ArrayConstructor, fn: () => T): T {
  const proto = type.prototype as unknown as Record<symbol, unknown>;
  Object.defineProperty(proto, Symbol.iterator, {
    configurable: true,
    value() {
      throw new Error(`${type.name} iterated element by element`);
    },
  });
  try {
    return fn();
  } finally {
    delete proto[Symbol.iterator];
  }
}

describe("agents-js copies a session's audio in one piece", () => {
  beforeAll(() => initializeLogger({ pretty: false, level: 'warn' })); // AudioByteStream makes agents-js's logger

  it("AudioByteStream cuts 10 ms frames into the plugin's 50 ms chunks with every sample in order, without iterating them", () => {
    const input = ramp(23);
    const stream = new AudioByteStream(RATE, 1, RATE / 20);
    const chunks = withoutIterating(Int8Array, () => input.flatMap((frame) => stream.write(frame)));
    expect(chunks.map((c) => c.samplesPerChannel)).toEqual([800, 800, 800, 800]);
    const out = Int16Array.from(chunks.flatMap((c) => Array.from(c.data)));
    const all = Int16Array.from(input.flatMap((f) => Array.from(f)));
    expect(out).toEqual(all.subarray(0, 3200));
    // The 3 frames left over come out on flush, whole.
    const rest = stream.flush();
    expect(Array.from(rest[0]!.data)).toEqual(Array.from(all.subarray(3200)));
  });

  it('AudioByteStream takes a view into a larger buffer (a Node Buffer from a pool) by its own bytes only', () => {
    const pool = new Int16Array(1000).fill(7);
    pool.set(ramp(1)[0]!, 100);
    const view = new Int16Array(pool.buffer, 200, FRAME); // byte offset 200 = sample 100
    const stream = new AudioByteStream(RATE, 1, FRAME);
    const [frame] = withoutIterating(Int8Array, () => stream.write(view));
    expect(Array.from(frame!.data)).toEqual(Array.from(ramp(1)[0]!));
  });

  it("mergeFrames (Silero's VAD window) joins frames sample for sample, without iterating them, and still refuses mixed rates", () => {
    const input = ramp(5);
    const merged = withoutIterating(Int16Array, () => mergeFrames(input.map((d) => new AudioFrame(d, RATE, 1, FRAME))));
    expect(merged.samplesPerChannel).toBe(5 * FRAME);
    expect(Array.from(merged.data)).toEqual(input.flatMap((f) => Array.from(f)));
    expect(() => mergeFrames([new AudioFrame(input[0]!, RATE, 1, FRAME), new AudioFrame(input[1]!, 24_000, 1, FRAME)])).toThrow(/sample rate mismatch/);
  });
});
