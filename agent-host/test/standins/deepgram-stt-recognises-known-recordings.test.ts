import { stt } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import { describe, expect, it } from 'vitest';
import { audioFrames, concatPcm, silence, speak } from '../../dev/standins/index';
import { trimToSpeech } from '../../dev/standins/utterances';
import { useStandins } from '../helpers';

/** The real Deepgram plugin, streaming espeak-ng recordings at 48 kHz (as a room delivers them). */

const KNOWN = ['I have been feeling anxious all week.', 'Can we try a breathing exercise?'];
const RATE = 48_000;

const standins = useStandins({ sttPhrases: KNOWN });

function plugin(opts: Partial<deepgram.STTOptions> = {}) {
  const baseUrl = standins().deepgramBaseUrl;
  return new deepgram.STT({ apiKey: 'offline', baseUrl, model: 'nova-3', interimResults: true, ...opts });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Streams the audio through a fresh plugin stream and collects every event until it ends. Input
 * ends only once the plugin has connected: a stream whose input closes before it connects never
 * connects at all.
 */
async function transcribe(audio: Int16Array, opts: Partial<deepgram.STTOptions> = {}): Promise<stt.SpeechEvent[]> {
  const before = standins().stt.sessions.length;
  const stream = plugin(opts).stream();
  for (const frame of audioFrames(audio, RATE)) stream.pushFrame(frame);
  await until(() => standins().stt.sessions.length > before);
  stream.endInput();
  const events: stt.SpeechEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const finals = (events: stt.SpeechEvent[]) => events.filter((e) => e.type === stt.SpeechEventType.FINAL_TRANSCRIPT).map((e) => e.alternatives?.[0]?.text ?? '');

describe('Deepgram speech-to-text stand-in with the real plugin', () => {
  it('gives the final transcript of a registered phrase, with interim results before it', async () => {
    const audio = concatPcm(silence(300, RATE), await speak(KNOWN[0]!, { sampleRate: RATE }), silence(1200, RATE));
    const events = await transcribe(audio);

    expect(finals(events)).toEqual([KNOWN[0]]);
    const types = events.map((e) => e.type).filter((t) => t !== stt.SpeechEventType.RECOGNITION_USAGE);
    expect(types[0]).toBe(stt.SpeechEventType.START_OF_SPEECH);
    expect(types.at(-1)).toBe(stt.SpeechEventType.END_OF_SPEECH);
    const interims = events.filter((e) => e.type === stt.SpeechEventType.INTERIM_TRANSCRIPT).map((e) => e.alternatives?.[0]?.text ?? '');
    expect(interims.length).toBeGreaterThan(0);
    for (const text of interims) expect(KNOWN[0]!.startsWith(text)).toBe(true);

    const final = events.find((e) => e.type === stt.SpeechEventType.FINAL_TRANSCRIPT)!.alternatives![0];
    expect(final.startTime).toBeCloseTo(0.3, 1);
    expect(final.endTime).toBeGreaterThan(final.startTime + 1.5);
    expect(final.confidence).toBeGreaterThan(0.9);
    expect(final.words?.map((w) => w.text).join(' ')).toBe(KNOWN[0]);
  });

  it('gives no transcript text for a phrase it does not know', async () => {
    const unknown = await speak('My name is Alex and I am here.', { sampleRate: RATE });
    const audio = concatPcm(silence(300, RATE), unknown, silence(1200, RATE));
    const events = await transcribe(audio);

    expect(finals(events).filter(Boolean)).toEqual([]);
    const session = standins().stt.sessions.at(-1)!;
    expect(session.heard).toHaveLength(1);
    expect(session.heard[0]!.transcript).toBe('');
    expect(session.heard[0]!.best!.score).toBeLessThan(0.9);
  });

  it('gives two finals in order for two phrases with a pause between them', async () => {
    const audio = concatPcm(
      silence(300, RATE),
      await speak(KNOWN[1]!, { sampleRate: RATE }),
      silence(1500, RATE),
      await speak(KNOWN[0]!, { sampleRate: RATE }),
      silence(1200, RATE),
    );
    const events = await transcribe(audio);

    expect(finals(events)).toEqual([KNOWN[1], KNOWN[0]]);
    const ends = events.filter((e) => e.type === stt.SpeechEventType.END_OF_SPEECH);
    expect(ends).toHaveLength(2);
  });

  it('records what the plugin asked for and answers CloseStream with Metadata', async () => {
    const before = standins().stt.sessions.length;
    await transcribe(concatPcm(await speak(KNOWN[1]!, { sampleRate: RATE }), silence(1000, RATE)), { utteranceEndMs: 1000 });
    const session = standins().stt.sessions[before]!;

    expect(session.authorization).toBe('Token offline');
    expect(session.params).toMatchObject({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: '16000',
      channels: '1',
      interim_results: 'true',
      vad_events: 'true',
      utterance_end_ms: '1000',
      language: 'en-US',
    });
    expect(session.control).toContain('CloseStream');
    const types = session.sent.map((m) => m.type);
    expect(types[0]).toBe('SpeechStarted');
    expect(types).toContain('UtteranceEnd');
    expect(types.at(-1)).toBe('Metadata');
    expect(session.audioBytes).toBeGreaterThan(16_000 * 2);
  });

  it('ends an utterance when the audio stops arriving, as the plugin gates silence', async () => {
    const stream = plugin().stream();
    // No trailing silence at all: only the wall-clock idle rule can end this utterance.
    // (espeak-ng's own trailing quiet would end it by endpointing.)
    for (const frame of audioFrames(trimToSpeech(await speak(KNOWN[0]!, { sampleRate: RATE }), RATE), RATE)) stream.pushFrame(frame);
    const final = await new Promise<string>((resolve) => {
      void (async () => {
        for await (const event of stream) {
          if (event.type === stt.SpeechEventType.FINAL_TRANSCRIPT) return resolve(event.alternatives?.[0]?.text ?? '');
        }
      })();
    });
    stream.close();
    expect(final).toBe(KNOWN[0]);
    expect(standins().stt.sessions.at(-1)!.heard[0]!.endedBy).toBe('idle');
  });

  it('recognises a whole recording through the prerecorded REST form (recognize)', async () => {
    const audio = concatPcm(silence(200, 16_000), await speak(KNOWN[1]!, { sampleRate: 16_000 }), silence(200, 16_000));
    const event = await plugin().recognize(audioFrames(audio, 16_000));

    expect(event.type).toBe(stt.SpeechEventType.FINAL_TRANSCRIPT);
    expect(event.alternatives?.[0]?.text).toBe(KNOWN[1]);
    expect(standins().stt.prerecorded.at(-1)?.params).toMatchObject({ model: 'nova-3', punctuate: 'true' });
  });
});
