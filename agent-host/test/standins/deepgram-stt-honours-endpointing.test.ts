import { initializeLogger, stt } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioFrames, concatPcm, type Standins, silence, speak, startStandins } from '../../dev/standins/index';
import { windowHeardAt } from '../../dev/standins/listen-session';
import { trimToSpeech } from '../../dev/standins/utterances';

/**
 * Deepgram ends an utterance (speech_final) after `endpointing` ms of silence, plus its fixed processing
 * latency; the stand-in does the same for a whole known phrase, counted in the audio it received, so
 * tuning the agent's endpointing is measurable offline. A pause inside a sentence does not end it early.
 */

const PHRASE = 'I have been feeling anxious all week.';
const RATE = 48_000;
/** The processing latency the latency bench gives the stand-in (bench/agent-latency.ts, `sttFinalMs`). */
const STT_FINAL_MS = 150;
let standins: Standins;
/** The same stand-ins with Deepgram's processing latency. */
let slowStandins: Standins;

beforeAll(async () => {
  initializeLogger({ pretty: false, level: 'warn' });
  standins = await startStandins({ sttPhrases: [PHRASE] });
  slowStandins = await startStandins({ sttPhrases: [PHRASE], latencyMs: { sttFinalMs: STT_FINAL_MS } });
});

afterAll(async () => {
  await Promise.all([standins?.close(), slowStandins?.close()]);
});

/**
 * Streams the audio through the real plugin with `endpointing`; answers the stand-in's session, the
 * finals and when (wall clock) the plugin handed each out. The input ends once the stand-in has the
 * audio, or with `untilFinal` once the first final is in (the plugin stops listening at the next
 * message after its CloseStream, so a final held back by a processing latency would be lost).
 */
async function transcribe(audio: Int16Array, endpointing: number | undefined, { to = standins, untilFinal = false } = {}) {
  const before = to.stt.sessions.length;
  const stream = new deepgram.STT({ apiKey: 'offline', baseUrl: to.deepgramBaseUrl, model: 'nova-3', interimResults: true, endpointing }).stream();
  for (const frame of audioFrames(audio, RATE)) stream.pushFrame(frame);
  while (to.stt.sessions.length <= before) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!untilFinal) stream.endInput();
  const finals: string[] = [];
  const finalsAt: number[] = [];
  for await (const event of stream) {
    if (event.type !== stt.SpeechEventType.FINAL_TRANSCRIPT) continue;
    finals.push(event.alternatives?.[0]?.text ?? '');
    finalsAt.push(Date.now());
    if (untilFinal && finals.length === 1) stream.endInput();
  }
  return { session: to.stt.sessions[before]!, finals, finalsAt };
}

describe('the speech-to-text stand-in honours the endpointing the plugin sends', () => {
  const cases: Array<[number | undefined, string, number, boolean]> = [
    // endpointing (ms), as sent, where the final falls after the speech (ms of audio), speech_final
    // The plugin's default; the stand-in's shortest is 100 ms (MIN_ENDPOINTING_MS).
    [25, '25', 100, true],
    [300, '300', 300, true],
    [900, '900', 900, true],
    // The plugin sends `endpointing=false` for 0: finals then come after the stand-in's own 600 ms, never speech_final.
    [0, 'false', 600, false],
  ];
  it.each(cases)('endpointing %s: the final comes %s ms into the silence after a known phrase', async (endpointing, sent, afterMs, speechFinal) => {
    const audio = concatPcm(silence(300, RATE), await speak(PHRASE, { sampleRate: RATE }), silence(1500, RATE));
    const { session, finals } = await transcribe(audio, endpointing);

    expect(session.params.endpointing).toBe(sent);
    expect(finals).toEqual([PHRASE]);
    const final = session.sent.find((m) => m.type === 'Results' && m.is_final === true)!;
    const decidedAt = (final.start as number) + (final.duration as number);
    // Within one 10 ms frame of the asked-for silence after the last speech frame.
    expect(Math.abs(decidedAt - session.heard[0]!.end - afterMs / 1000)).toBeLessThanOrEqual(0.011);
    expect(final.speech_final).toBe(speechFinal);
  });

  it('times a final from when the asked-for window had arrived, not from its own 100 ms decision', () => {
    // Audio messages of 100 ms at 16 kHz; speech ends at sample 16_000, the plugin asks for 25 ms.
    const arrivals = [1, 2, 3].map((i) => ({ end: 14_400 + i * 1600, at: 1000 + i * 100 }));
    expect(windowHeardAt(arrivals, 16_000 + 400)).toBe(1200);
    expect(windowHeardAt(arrivals, 16_000 + 1600)).toBe(1200);
    expect(windowHeardAt(arrivals, 16_000 + 1601)).toBe(1300);
    expect(windowHeardAt(arrivals, 30_000)).toBeUndefined();
  });

  it('sends the final its fixed processing latency after the endpointing window has ended the phrase', async () => {
    const audio = concatPcm(silence(300, RATE), await speak(PHRASE, { sampleRate: RATE }), silence(1500, RATE));
    const { session, finals, finalsAt } = await transcribe(audio, 300, { to: slowStandins, untilFinal: true });

    expect(finals).toEqual([PHRASE]);
    const heard = session.heard[0]!;
    // Decided at the window's end (as above), then held sttFinalMs, counted from when the window's audio
    // had arrived, before it goes out and reaches the plugin.
    const final = session.sent.find((m) => m.type === 'Results' && m.is_final === true)!;
    expect(Math.abs((final.start as number) + (final.duration as number) - heard.end - 0.3)).toBeLessThanOrEqual(0.011);
    expect(final.speech_final).toBe(true);
    expect(heard.windowAt).toBeLessThanOrEqual(heard.decidedAt!);
    expect(heard.finalAt! - heard.windowAt!).toBeGreaterThanOrEqual(STT_FINAL_MS);
    expect(finalsAt[0]! - heard.windowAt!).toBeGreaterThanOrEqual(STT_FINAL_MS);
  });

  it('does not end a sentence at a pause inside it shorter than the stand-in’s own silence', async () => {
    // The same sentence with 400 ms of quiet after "feeling": not the recording the stand-in knows, so
    // it ends only after the stand-in's 600 ms, whole (and unrecognised), never cut at the pause.
    const head = trimToSpeech(await speak('I have been feeling', { sampleRate: RATE }), RATE);
    const tail = trimToSpeech(await speak('anxious all week.', { sampleRate: RATE }), RATE);
    const audio = concatPcm(silence(300, RATE), head, silence(400, RATE), tail, silence(1500, RATE));
    const { session } = await transcribe(audio, 25);
    expect(session.heard).toHaveLength(1);
    expect(session.heard[0]!.end - session.heard[0]!.start).toBeGreaterThan(1.5);
  });
});
