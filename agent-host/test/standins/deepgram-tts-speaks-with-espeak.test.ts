import { tts } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseWav, speak, startDeepgramTts } from '../../dev/standins/index';
import { openWebSocket, toBuffer } from '../../dev/standins/server';
import { useStandins } from '../helpers';

/** The real Deepgram plugin's streaming synthesis against the espeak-ng stand-in. */

const TEXT = 'Hello there, it is good to see you. Let us take a slow breath together.';
const LATENCY_MS = 120;

const standins = useStandins({ latencyMs: { ttsFirstByteMs: LATENCY_MS } });

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / Math.max(1, samples.length)) / 32768;
}

describe('Deepgram text-to-speech stand-in with the real plugin', () => {
  it('streams real speech for the text, sentence by sentence, and ends on Flushed', async () => {
    const plugin = new deepgram.TTS({ apiKey: 'offline', baseUrl: standins().deepgramBaseUrl, model: 'aura-2-andromeda-en' });
    const stream = plugin.stream();
    stream.pushText(TEXT);
    stream.flush();
    stream.endInput();

    const frames: Int16Array[] = [];
    let sawFinal = false;
    for await (const audio of stream) {
      if (audio === tts.SynthesizeStream.END_OF_STREAM) break;
      expect(audio.frame.sampleRate).toBe(24_000);
      frames.push(audio.frame.data.slice(0, audio.frame.samplesPerChannel));
      sawFinal ||= audio.final;
    }
    const samples = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      samples.set(f, at);
      at += f.length;
    }

    expect(sawFinal).toBe(true);
    expect(rms(samples)).toBeGreaterThan(0.02);
    // As long as espeak-ng takes to say it (each sentence ends with its own short pause).
    const reference = await speak(TEXT, { sampleRate: 24_000 });
    expect(samples.length / reference.length).toBeGreaterThan(0.85);
    expect(samples.length / reference.length).toBeLessThan(1.3);

    const session = standins().tts.sessions.at(-1)!;
    expect(session.authorization).toBe('Token offline');
    expect(session.params).toMatchObject({ model: 'aura-2-andromeda-en', encoding: 'linear16', sample_rate: '24000' });
    expect(session.received.filter((m) => m.type === 'Speak').map((m) => m.text)).toEqual([
      'Hello there, it is good to see you. ',
      'Let us take a slow breath together. ',
    ]);
    // The plugin's own close sends another Flush and a Close, so more may follow.
    expect(session.sent.map((m) => m.type).slice(0, 2)).toEqual(['Metadata', 'Flushed']);
    expect(session.firstByteMs[0]).toBeGreaterThanOrEqual(LATENCY_MS - 5);
  });

  it('honours the sample rate the plugin asks for', async () => {
    const plugin = new deepgram.TTS({ apiKey: 'offline', baseUrl: standins().deepgramBaseUrl, sampleRate: 16_000 });
    const stream = plugin.stream();
    stream.pushText('Breathe in slowly.');
    stream.endInput();
    let samples = 0;
    for await (const audio of stream) {
      if (audio === tts.SynthesizeStream.END_OF_STREAM) break;
      expect(audio.frame.sampleRate).toBe(16_000);
      samples += audio.frame.samplesPerChannel;
    }
    const reference = await speak('Breathe in slowly.', { sampleRate: 16_000 });
    expect(Math.abs(samples - reference.length)).toBeLessThan(16_000 * 0.1);
  });

  it('stops sending audio on Clear and answers Cleared', async () => {
    // Paced at real time, as a listener hears it, so there is something left to clear.
    const paced = await startDeepgramTts({ realtime: true });
    onTestFinished(() => paced.close());
    const url = `${paced.baseUrl.replace(/^http/, 'ws')}/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=24000`;
    const ws = await openWebSocket(url, { Authorization: 'Token offline' });
    const messages: string[] = [];
    let audioBytes = 0;
    let audioAtClear = -1;
    const cleared = new Promise<void>((resolve) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          audioBytes += toBuffer(data).length;
          if (audioAtClear < 0) {
            audioAtClear = audioBytes;
            ws.send(JSON.stringify({ type: 'Clear' }));
          }
          return;
        }
        const type = (JSON.parse(toBuffer(data).toString()) as { type: string }).type;
        messages.push(type);
        if (type === 'Cleared') resolve();
      });
    });
    ws.send(JSON.stringify({ type: 'Speak', text: 'This is a long answer that will be interrupted before it ends. ' }));
    ws.send(JSON.stringify({ type: 'Speak', text: 'And this sentence is never spoken at all. ' }));
    ws.send(JSON.stringify({ type: 'Flush' }));
    await cleared;
    await new Promise((resolve) => setTimeout(resolve, 100));
    ws.close();

    expect(messages).toContain('Cleared');
    // At most a chunk or two already on its way when Clear arrived, of some 5 s of speech.
    expect(audioBytes - audioAtClear).toBeLessThanOrEqual(3 * 24_000 * 2 * 0.1);
  });

  it('refuses a connection without a Deepgram token', async () => {
    const url = `${standins().deepgramBaseUrl.replace(/^http/, 'ws')}/v1/speak?model=aura-2-thalia-en`;
    await expect(openWebSocket(url)).rejects.toThrow('refused with 401');
  });

  it('answers the REST form with a WAV of the speech', async () => {
    const res = await fetch(`${standins().deepgramBaseUrl}/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=24000`, {
      method: 'POST',
      headers: { Authorization: 'Token offline', 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'Breathe in slowly.' }),
    });
    expect(res.status).toBe(200);
    const wav = parseWav(new Uint8Array(await res.arrayBuffer()));
    expect(wav.sampleRate).toBe(24_000);
    expect(rms(wav.samples)).toBeGreaterThan(0.02);
  });
});
