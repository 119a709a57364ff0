import { ReadableStream } from 'node:stream/web';
import { tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import { AudioFrame } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { concatPcm as join } from '../../dev/standins/audio';
import { fromFirstSound, ONSET } from '../../src/agent/voice-onset';
import { useStandins } from '../helpers';

/** A reply's audio reaches the room from its first sound: the voice's leading silence is dropped, nothing else. */

const RATE = 24_000;
const perMs = RATE / 1000;

/** `ms` of audio at RATE: zeros, or a 440 Hz tone at a quarter of full scale, loud from its first sample. */
const zeros = (ms: number) => new Int16Array(ms * perMs);
const tone = (ms: number) => Int16Array.from({ length: ms * perMs }, (_, i) => Math.round(8000 * Math.cos((2 * Math.PI * 440 * i) / RATE)));
/** Mono 100 ms frames, as the Deepgram plugin hands them on. */
const framesOf = (samples: Int16Array, frameMs = 100) => {
  const frames: AudioFrame[] = [];
  for (let at = 0; at < samples.length; at += frameMs * perMs) {
    const data = samples.slice(at, at + frameMs * perMs);
    frames.push(new AudioFrame(data, RATE, 1, data.length));
  }
  return frames;
};

async function run(frames: AudioFrame[]): Promise<AudioFrame[]> {
  const out: AudioFrame[] = [];
  const source = new ReadableStream<AudioFrame>({
    start(c) {
      for (const f of frames) c.enqueue(f);
      c.close();
    },
  });
  for await (const f of fromFirstSound(source)) out.push(f);
  return out;
}
const samplesOf = (frames: AudioFrame[]) => join(...frames.map((f) => f.data.slice(0, f.samplesPerChannel * f.channels)));

describe('a reply heard from its first sound', () => {
  it('drops the silence before the first word, across frames, keeping 1 ms before the onset and every sample after', async () => {
    const speech = join(tone(180), zeros(120), tone(200));
    const input = join(zeros(230), speech);
    const frames = framesOf(input);
    frames[0]!.userdata.ttsStartedAt = 12.5; // what agents-js dates the voice's first byte by
    const out = await run(frames);

    const heard = samplesOf(out);
    expect(heard.length).toBe(input.length - (230 - ONSET.keepBeforeMs) * perMs);
    expect(heard.subarray(ONSET.keepBeforeMs * perMs)).toEqual(speech);
    expect(heard.subarray(0, ONSET.keepBeforeMs * perMs).every((x) => x === 0)).toBe(true);
    // The two silent frames are gone; the first frame kept carries what they carried.
    expect(out).toHaveLength(frames.length - 2);
    expect(out[0]!.userdata.ttsStartedAt).toBe(12.5);
    expect(out[0]!.sampleRate).toBe(RATE);
  });

  it('leaves a reply that starts with sound as it is, and the pauses between sentences', async () => {
    const frames = framesOf(join(tone(100), zeros(300), tone(100)));
    const out = await run(frames);
    expect(out).toEqual(frames);
    expect(out[0]).toBe(frames[0]);
  });

  it(`never drops more than ${ONSET.maxTrimMs} ms, so a reply that opens with a long pause keeps the rest of it`, async () => {
    const input = join(zeros(500), tone(100));
    const heard = samplesOf(await run(framesOf(input)));
    expect(heard.length).toBe(input.length - ONSET.maxTrimMs * perMs);
    expect(heard.subarray(0, (500 - ONSET.maxTrimMs) * perMs).every((x) => x === 0)).toBe(true);
  });

  it('counts a quiet onset as sound and a noise floor as silence', async () => {
    const floor = Int16Array.from({ length: 50 * perMs }, (_, i) => ((i * 7919) % 97) - 48); // ±48, under the threshold
    const quiet = Int16Array.from({ length: 50 * perMs }, (_, i) => (i % 2 ? 200 : -200)); // -44 dBFS
    const heard = samplesOf(await run(framesOf(join(floor, quiet))));
    expect(heard.length).toBe((ONSET.keepBeforeMs + 50) * perMs);
    expect(heard.subarray(ONSET.keepBeforeMs * perMs)).toEqual(quiet);
  });

  it('cuts a stereo frame between sample pairs', async () => {
    const data = new Int16Array(2 * 100 * perMs);
    const onset = 40 * perMs;
    for (let i = onset; i < 100 * perMs; i++) data[2 * i + 1] = 5000; // right channel only
    const out = await run([new AudioFrame(data, RATE, 2, 100 * perMs)]);
    expect(out[0]!.channels).toBe(2);
    expect(out[0]!.samplesPerChannel).toBe(100 * perMs - onset + ONSET.keepBeforeMs * perMs);
    expect(out[0]!.data.length).toBe(2 * out[0]!.samplesPerChannel);
    expect(out[0]!.data[2 * ONSET.keepBeforeMs * perMs + 1]).toBe(5000);
  });

  describe('with the real Deepgram plugin and the espeak-ng voice', () => {
    const standins = useStandins();

    async function reply(text: string): Promise<AudioFrame[]> {
      const stream = new deepgram.TTS({ apiKey: 'offline', baseUrl: standins().deepgramBaseUrl }).stream();
      stream.pushText(text);
      stream.endInput();
      const frames: AudioFrame[] = [];
      for await (const audio of stream) {
        if (audio === tts.SynthesizeStream.END_OF_STREAM) break;
        frames.push(audio.frame);
      }
      return frames;
    }
    const firstAudibleMs = (s: Int16Array) => {
      const window = 10 * perMs; // the benches' 10 ms frames, RMS above 100
      for (let at = 0; at + window <= s.length; at += window) {
        let sum = 0;
        for (let i = at; i < at + window; i++) sum += s[i]! * s[i]!;
        if (Math.sqrt(sum / window) > 100) return at / perMs;
      }
      return Number.POSITIVE_INFINITY;
    };

    it("starts the voice's first word at once, and loses nothing of it", async () => {
      const raw = samplesOf(await reply('That makes sense. Let us take one slow breath together.'));
      const heard = samplesOf(await run(await reply('That makes sense. Let us take one slow breath together.')));
      // espeak-ng opens with ~11 ms of digital silence: the first 10 ms were dead air, and now they are not.
      expect(firstAudibleMs(raw)).toBeGreaterThanOrEqual(10);
      expect(firstAudibleMs(heard)).toBe(0);
      const dropped = raw.length - heard.length;
      expect(dropped / perMs).toBeGreaterThan(9);
      expect(dropped / perMs).toBeLessThan(15);
      expect(heard).toEqual(raw.subarray(dropped));
    });
  });
});
