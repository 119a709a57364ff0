import { ReadableStream } from 'node:stream/web';
import { readStream, stt } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import type { AudioFrame } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';
import { audioFrames, concatPcm, silence, speak } from '../../dev/standins/index';
import { fullGc, until, useStandins } from '../helpers';

/**
 * A room's audio is let go once it is handled: nothing on its way from the room to Deepgram keeps the
 * frames a session has passed on until the session ends (patches/: agents-js 1.9.0 and its Deepgram
 * plugin raced every frame against one long-lived abort promise, and the job process grew by every
 * frame of the client's audio, ~10 MiB a minute of a session). The stream stays open while it is
 * checked, as a room's is: what it holds then, it would hold until the session ends.
 */

const RATE = 16_000; // the agent's input rate (job.ts ROOM_INPUT), the plugin's default
const PHRASE = 'I have been feeling anxious all week.';

/** How many of `refs` a full collection leaves. */
const held = (refs: WeakRef<AudioFrame>[]) => {
  fullGc();
  return refs.filter((ref) => ref.deref() !== undefined).length;
};

describe('a session lets go of the audio it has handled', () => {
  const standins = useStandins({ sttPhrases: [PHRASE] });

  it("agents-js's pump of the client's audio into speech-to-text (readStream, as AudioRecognition feeds it) keeps none of 20 s of frames, and still stops at once when its session aborts", async () => {
    const frames = audioFrames(silence(20_000, RATE), RATE);
    const refs = frames.map((f) => new WeakRef(f));
    const source = new ReadableStream<AudioFrame>({
      start(controller) {
        for (const frame of frames.splice(0)) controller.enqueue(frame);
      },
    });
    const session = new AbortController();
    let passedOn = 0;
    const pump = (async () => {
      for await (const _frame of readStream(source, session.signal)) passedOn++;
    })();
    await until('every frame to be passed on', () => passedOn === refs.length);

    // Unpatched, all 2,000 stay reachable from the abort promise's reactions.
    expect(held(refs)).toBeLessThan(10);
    session.abort();
    await pump; // the pending read gives way to the abort
    expect(passedOn).toBe(refs.length);
  });

  it("nova-3's stream in the Deepgram plugin keeps none of the frames it has read, and Deepgram hears the whole session", async () => {
    const before = standins().stt.sessions.length;
    const speech = await speak(PHRASE, { sampleRate: RATE });
    const frames = audioFrames(concatPcm(speech, silence(20_000, RATE), speech, silence(1000, RATE)), RATE);
    const refs = frames.map((f) => new WeakRef(f));
    const stream = new deepgram.STT({ apiKey: 'offline', baseUrl: standins().deepgramBaseUrl, model: 'nova-3', interimResults: true }).stream();
    const finals: string[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        if (event.type === stt.SpeechEventType.FINAL_TRANSCRIPT) finals.push(event.alternatives?.[0]?.text ?? '');
      }
    })();
    for (const frame of frames.splice(0)) stream.pushFrame(frame);
    // The phrase after the 20 s is heard only once the plugin has read every frame before it.
    await until(
      'Deepgram to hear the phrase twice',
      () => finals.length === 2,
      30_000,
      () => finals,
    );

    // Unpatched, every frame it has read (2,200+) stays reachable from the abort promise's reactions.
    expect(held(refs)).toBeLessThan(10);
    expect(standins().stt.sessions[before]!.heard.map((h) => h.transcript)).toEqual([PHRASE, PHRASE]);
    stream.close();
    await reading;
  });
});
