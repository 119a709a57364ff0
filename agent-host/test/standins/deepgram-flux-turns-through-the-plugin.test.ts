import { initializeLogger, stt } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioFrames, concatPcm, type Standins, silence, speak, startStandins } from '../../dev/standins/index';
import { openWebSocket } from '../../dev/standins/server';
import { trimToSpeech } from '../../dev/standins/utterances';
import { loadAgentConfig } from '../../src/agent/config';
import { createEngines } from '../../src/agent/providers';
import { fullGc, standinAgentEnv, until } from '../helpers';

/**
 * Deepgram Flux (`/v2/listen`) as the plugin's STTv2 speaks it: the stand-in's TurnInfo messages reach
 * agents-js as the events it prepares replies on (an EagerEndOfTurn is a PREFLIGHT_TRANSCRIPT, the
 * EndOfTurn the FINAL_TRANSCRIPT), at Flux's published delays, and a pause mid-sentence gives an eager
 * end that the returning speech withdraws (TurnResumed) before the one final.
 */

const PHRASE = 'I have been feeling anxious all week.';
const PAUSED_TEXT = 'I could not sleep because of the noise outside.';
const RATE = 48_000;
let standins: Standins;
let paused: Int16Array;

beforeAll(async () => {
  initializeLogger({ pretty: false, level: 'warn' });
  // The paused sentence is known whole (as one recording with its pause), not by its halves.
  const head = trimToSpeech(await speak('I could not sleep', { sampleRate: RATE }), RATE);
  const tail = trimToSpeech(await speak('because of the noise outside.', { sampleRate: RATE }), RATE);
  paused = concatPcm(head, silence(400, RATE), tail);
  standins = await startStandins({ sttPhrases: [PHRASE, { text: PAUSED_TEXT, samples: paused, sampleRate: RATE }] });
});

afterAll(async () => {
  await standins?.close();
});

/** Streams the audio through the real STTv2 plugin (or `engine`); answers the stand-in's session and the plugin's events. */
async function transcribe(audio: Int16Array, opts: { eagerEotThreshold?: number } = {}, engine?: stt.STT) {
  const before = standins.stt.sessions.length;
  const stream = (engine ?? new deepgram.STTv2({ apiKey: 'offline', endpointUrl: `${standins.deepgramBaseUrl}/v2/listen`, ...opts })).stream();
  for (const frame of audioFrames(audio, RATE)) stream.pushFrame(frame);
  while (standins.stt.sessions.length <= before) await new Promise((resolve) => setTimeout(resolve, 5));
  stream.endInput();
  const events: Array<[string, string]> = [];
  for await (const event of stream) {
    if (event.type === stt.SpeechEventType.RECOGNITION_USAGE || event.type === stt.SpeechEventType.INTERIM_TRANSCRIPT) {
      if (event.type === stt.SpeechEventType.INTERIM_TRANSCRIPT) events.push(['interim', event.alternatives?.[0]?.text ?? '']);
      continue;
    }
    events.push([stt.SpeechEventType[event.type] ?? String(event.type), event.alternatives?.[0]?.text ?? '']);
  }
  const session = standins.stt.sessions[before]!;
  const turnEvents = session.sent.filter((m) => m.type === 'TurnInfo' && m.event !== 'Update');
  return { session, events: events.filter(([type]) => type !== 'interim'), all: events, turnEvents };
}

/** A full collection, without starting the test process with --expose-gc. */
/** Seconds of silence after the last speech when a TurnInfo event was sent. */
const silenceAt = (message: Record<string, unknown>, speechEnd: number) => Math.round(((message.audio_window_end as number) - speechEnd) * 1000);

describe('the Flux stand-in speaks /v2/listen to the real STTv2 plugin', () => {
  it('sends an eager end of turn 100 ms into the silence and the end of turn at 260 ms, which agents-js gets as preflight and final', async () => {
    const audio = concatPcm(silence(300, RATE), await speak(PHRASE, { sampleRate: RATE }), silence(1000, RATE));
    const { session, events, turnEvents } = await transcribe(audio, { eagerEotThreshold: 0.4 });

    expect(session.params).toMatchObject({ model: 'flux-general-en', encoding: 'linear16', sample_rate: '16000', eager_eot_threshold: '0.4' });
    expect(session.sent[0]).toMatchObject({ type: 'Connected', sequence_id: 0, request_id: session.requestId });
    expect(session.sent.map((m) => m.sequence_id)).toEqual(session.sent.map((_, i) => i));
    expect(turnEvents.map((m) => m.event)).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'EndOfTurn']);
    const [, eager, end] = turnEvents;
    const speechEnd = session.heard[0]!.end;
    expect(silenceAt(eager!, speechEnd)).toBe(100);
    expect(silenceAt(end!, speechEnd)).toBe(260);
    expect(end).toMatchObject({ transcript: PHRASE, turn_index: 0 });
    expect(eager!.words).toEqual(PHRASE.split(' ').map((word) => ({ word, confidence: expect.any(Number) })));
    expect(events).toEqual([
      ['START_OF_SPEECH', ''],
      ['PREFLIGHT_TRANSCRIPT', PHRASE],
      ['FINAL_TRANSCRIPT', PHRASE],
      ['END_OF_SPEECH', ''],
    ]);
    // CloseStream: the connection closes with no EndOfTurn of its own.
    expect(session.control).toEqual(['CloseStream']);
  });

  it('withdraws an eager end at a pause mid-sentence (TurnResumed) and ends the turn once, on the whole sentence', async () => {
    const audio = concatPcm(silence(300, RATE), paused, silence(1000, RATE));
    const { session, events, all, turnEvents } = await transcribe(audio, { eagerEotThreshold: 0.4 });

    expect(turnEvents.map((m) => m.event)).toEqual(['StartOfTurn', 'EagerEndOfTurn', 'TurnResumed', 'EagerEndOfTurn', 'EndOfTurn']);
    const early = turnEvents[1]!.transcript as string;
    expect(early.length).toBeGreaterThan(0);
    expect(PAUSED_TEXT.startsWith(early)).toBe(true);
    expect(early).not.toBe(PAUSED_TEXT);
    expect(turnEvents.every((m) => m.turn_index === 0)).toBe(true);
    expect(session.heard.map((h) => h.transcript)).toEqual([PAUSED_TEXT]);
    expect(events).toEqual([
      ['START_OF_SPEECH', ''],
      ['PREFLIGHT_TRANSCRIPT', early],
      ['PREFLIGHT_TRANSCRIPT', PAUSED_TEXT],
      ['FINAL_TRANSCRIPT', PAUSED_TEXT],
      ['END_OF_SPEECH', ''],
    ]);
    // TurnResumed reaches agents-js as an interim transcript (the eager words), right after the first preflight.
    const firstPreflight = all.findIndex(([type]) => type === 'PREFLIGHT_TRANSCRIPT');
    expect(all[firstPreflight + 1]).toEqual(['interim', early]);
  });

  it('sends no eager end of turn unless the plugin asks for one', async () => {
    const audio = concatPcm(silence(300, RATE), await speak(PHRASE, { sampleRate: RATE }), silence(1000, RATE));
    const { session, events, turnEvents } = await transcribe(audio);

    expect(session.params.eager_eot_threshold).toBeUndefined();
    expect(turnEvents.map((m) => m.event)).toEqual(['StartOfTurn', 'EndOfTurn']);
    expect(events.map(([type]) => type)).toEqual(['START_OF_SPEECH', 'FINAL_TRANSCRIPT', 'END_OF_SPEECH']);
  });

  it("is what the agent uses by default, with an eager end of turn; DEEPGRAM_STT_MODEL=nova-3 is the plugin's STT on /v1/listen", async () => {
    const env = standinAgentEnv(standins);
    expect(createEngines(loadAgentConfig({ ...env, DEEPGRAM_STT_MODEL: 'nova-3' })).stt).toBeInstanceOf(deepgram.STT);
    const flux = createEngines(loadAgentConfig(env)).stt;
    expect(flux).toBeInstanceOf(deepgram.STTv2);
    const audio = concatPcm(silence(300, RATE), await speak(PHRASE, { sampleRate: RATE }), silence(1000, RATE));
    const { session, events } = await transcribe(audio, {}, flux);

    expect(session.params).toMatchObject({ model: 'flux-general-en', eager_eot_threshold: '0.4' });
    expect(events.map(([type]) => type)).toEqual(['START_OF_SPEECH', 'PREFLIGHT_TRANSCRIPT', 'FINAL_TRANSCRIPT', 'END_OF_SPEECH']);
  });

  it('lets go of the audio it has sent: a session does not hold its frames until it ends (patches/)', async () => {
    // 20 s of a session, at the agent's input rate (16 kHz: the plugin gets these very frames, not resampled ones).
    const frames = audioFrames(concatPcm(await speak(PHRASE, { sampleRate: 16_000 }), silence(20_000, 16_000)), 16_000);
    const sent = new Set(frames.map((f) => new WeakRef(f)));
    const bytes = frames.reduce((n, f) => n + f.data.byteLength, 0);
    const before = standins.stt.sessions.length;
    const stream = new deepgram.STTv2({ apiKey: 'offline', endpointUrl: `${standins.deepgramBaseUrl}/v2/listen` }).stream();
    for (const frame of frames.splice(0)) stream.pushFrame(frame);
    // The plugin sends 50 ms chunks (1,600 bytes); the last part of one waits for more audio or the end.
    await until('the stand-in to receive every whole chunk', () => standins.stt.sessions[before]?.audioBytes === bytes - (bytes % 1600));
    // Still open, as a room's stream is: what it holds now, it would hold for the rest of the session.
    await new Promise((resolve) => setImmediate(resolve));
    fullGc();
    const held = [...sent].filter((ref) => ref.deref() !== undefined).length;
    stream.close();
    // Unpatched, every frame stays reachable from the reconnect event's waiters (2,000+ here).
    expect(held).toBeLessThan(10);
  });

  it('still reconnects when its options change mid-session, and the new connection hears the whole phrase', async () => {
    const before = standins.stt.sessions.length;
    const engine = new deepgram.STTv2({ apiKey: 'offline', endpointUrl: `${standins.deepgramBaseUrl}/v2/listen` });
    const stream = engine.stream();
    for (const frame of audioFrames(silence(500, RATE), RATE)) stream.pushFrame(frame);
    await until('the first connection to carry audio', () => (standins.stt.sessions[before]?.audioBytes ?? 0) > 0);
    // The plugin hands new options to its open streams, which reconnect with them.
    engine.updateOptions({ keyterms: ['anxious'] });
    await until('the plugin to reconnect', () => standins.stt.sessions.length > before + 1);
    for (const frame of audioFrames(concatPcm(await speak(PHRASE, { sampleRate: RATE }), silence(1000, RATE)), RATE)) stream.pushFrame(frame);
    stream.endInput();
    const finals: string[] = [];
    for await (const event of stream) {
      if (event.type === stt.SpeechEventType.FINAL_TRANSCRIPT) finals.push(event.alternatives?.[0]?.text ?? '');
    }
    const [first, second] = standins.stt.sessions.slice(before);
    expect(first!.heard).toEqual([]);
    expect(second!.params.keyterm).toBe('anxious');
    expect(second!.heard.map((h) => h.transcript)).toEqual([PHRASE]);
    expect(finals).toEqual([PHRASE]);
  });

  it('refuses a model or a threshold Flux does not take, as Deepgram does', async () => {
    const url = (query: string) => `${standins.deepgramBaseUrl.replace(/^http/, 'ws')}/v2/listen?${query}`;
    const auth = { Authorization: 'Token offline' };
    await expect(openWebSocket(url('model=nova-3&encoding=linear16&sample_rate=16000'), auth)).rejects.toThrow(/400/);
    await expect(openWebSocket(url('model=flux-general-en&eager_eot_threshold=0.2'), auth)).rejects.toThrow(/400/);
    await expect(openWebSocket(url('model=flux-general-en&eager_eot_threshold=0.8&eot_threshold=0.6'), auth)).rejects.toThrow(/400/);
    await expect(openWebSocket(url('model=flux-general-en&encoding=linear16&sample_rate=16000'), {})).rejects.toThrow(/401/);
  });
});
