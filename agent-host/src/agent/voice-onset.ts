/**
 * The AI's reply from its first sound: a voice renders a little silence before a reply's first word
 * (espeak-ng, the offline voice: 11–12 ms of digital zeros), and that silence is dead air the client
 * waits through before hearing anything. The agent's `ttsNode` (job.ts) drops it, once per reply, before
 * the audio is published; the pauses between the reply's sentences are the voice's and stay.
 *
 * A sample is sound once any channel's magnitude exceeds ONSET.threshold (64 of 32,767, about
 * -54 dBFS, well under the quietest onset of a word and over a voice's dither or noise floor);
 * ONSET.keepBeforeMs of what comes before it is kept, so the onset itself is never clipped; and at most
 * ONSET.maxTrimMs is ever dropped, so a reply that truly opens with a long pause still has it.
 */

import { type ReadableStream, TransformStream } from 'node:stream/web';
import { AudioFrame } from '@livekit/rtc-node';

export const ONSET = { threshold: 64, keepBeforeMs: 1, maxTrimMs: 300 } as const;

export type OnsetOptions = { threshold: number; keepBeforeMs: number; maxTrimMs: number };

/** The index (per channel) of the frame's first sample louder than `threshold`, or -1. */
function firstSound(frame: AudioFrame, threshold: number): number {
  const { data, channels } = frame;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x > threshold || x < -threshold) return Math.floor(i / channels);
  }
  return -1;
}

/** `frame` from sample `start` on (per channel); a copy, so the new frame owns its samples. */
function from(frame: AudioFrame, start: number): AudioFrame {
  const n = frame.samplesPerChannel - start;
  // slice, not subarray: rtc-node reads a frame's buffer from its start, whatever the view's offset.
  return new AudioFrame(frame.data.slice(start * frame.channels), frame.sampleRate, frame.channels, n, frame.userdata);
}

/** A reply's audio without the silence it starts with (see the module comment). */
export function fromFirstSound(audio: ReadableStream<AudioFrame>, opts: OnsetOptions = ONSET): ReadableStream<AudioFrame> {
  let trimmedMs = 0;
  let started = false;
  /** What the dropped frames carried for agents-js (the voice's start time, timed words): the first frame kept carries it on. */
  const carried: Record<string, unknown> = {};
  return audio.pipeThrough(
    new TransformStream<AudioFrame, AudioFrame>({
      transform(frame, out) {
        if (started || frame.samplesPerChannel === 0) {
          out.enqueue(frame);
          return;
        }
        const perMs = frame.sampleRate / 1000;
        const budget = Math.floor((opts.maxTrimMs - trimmedMs) * perMs); // samples that may still go
        const sound = firstSound(frame, opts.threshold);
        const silentUpTo = sound < 0 ? frame.samplesPerChannel : Math.max(0, sound - Math.round(opts.keepBeforeMs * perMs));
        const drop = Math.min(silentUpTo, budget);
        if (drop >= frame.samplesPerChannel) {
          trimmedMs += frame.samplesPerChannel / perMs;
          for (const [key, value] of Object.entries(frame.userdata)) if (!(key in carried)) carried[key] = value;
          return;
        }
        started = true;
        const kept = drop > 0 ? from(frame, drop) : frame;
        for (const [key, value] of Object.entries(carried)) if (!(key in kept.userdata)) kept.userdata[key] = value;
        out.enqueue(kept);
      },
    }),
  );
}
