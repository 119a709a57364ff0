/**
 * The transport floor under the AI coach's latency, `npx tsx bench/webrtc-floor.ts`.
 *
 * Two rtc-node participants in a real livekit-server (scripts/livekit.mjs, as the e2e stack starts it),
 * nothing else: one publishes a 300 ms tone through an AudioSource, the other listens through an
 * AudioStream and notes its first audible frame (RMS above 100, as bench/agent-latency.ts's Ear). Each
 * repetition is timed from the publisher's captureFrame of the first audible frame (and, where the
 * source queues audio ahead of playout, from the moment that frame's turn comes: the call plus the
 * source's queuedDuration, as e2e/voice.ts's Microphone dates its speech) to that first audible frame
 * received. Between repetitions the publisher is quiet 300–350 ms (a random part, so onsets do not
 * keep one phase against the 10 and 20 ms clocks of the audio path).
 *
 * The variants change one thing each against the baseline, which publishes as agents-js's
 * ParticipantAudioOutput does with the Deepgram voice plugin (24 kHz, `new AudioSource(24000, 1, 200)`,
 * 100 ms frames, nothing captured between replies) and listens as the bench's Ear (48 kHz): the
 * source's queue (queueSizeMs 0, frames paced by this script every 10 ms), the first frame's length,
 * the source's rate, digital silence sent continuously instead of nothing, the listener's rate; and the
 * client's microphone as e2e/voice.ts publishes it (16 kHz, a 1 s queue, never silent) heard as the
 * agent subscribes (24 kHz). Prints p50/p90 and the ratio to the baseline measured in the same run;
 * never asserts. Each variant publishes a track of its own, and a track keeps one alignment of its
 * 10 ms and 20 ms clocks for its life: p90 stays near p50 within a variant, but a difference of 10–20 ms
 * between two variants can be that alignment (two runs on 2026-12-05 put "48k source" at 52 and 32 ms);
 * believe a difference only when runs agree. Then the client's end of speech as e2e/voice.ts's
 * Microphone dates it, both ways (`queue`: rtc-node's estimate of its 1 s queue; `clock`: no queue,
 * frames paced by the clock, the end read at the last capture), in MIC_PAIRS fresh pairs taking turns,
 * against references common to both: the moment WebRTC's sender was handed the last frame (an
 * AudioStream on the microphone's own track, fed by the same native call) and the end heard in the
 * room. The hand-off is the sound reference (same event, no track alignment): on 2026-12-05 the queue's
 * estimate came 10–15 ms after it (each microphone its own offset, set when it starts; 1–9 ms in an
 * idle process) and the clock 0–1 ms. From the hand-off, the clock microphone's audio was heard
 * sooner too: 47 ms p50 against the queue microphone's 62 (4 pairs each, two runs; not explained: no
 * drift in the queue's 10 ms tick). Last, how far agents-js's resampler lags (no clock).
 *
 *   HC_BENCH_REPS (default 25) timed repetitions per variant (after 3 not timed);
 *   HC_BENCH_LIVEKIT_PORT (default 7940) livekit-server's port (it also takes +1 tcp and +2 udp);
 *   HC_BENCH_MIC_ONLY=1 only the microphone's two clocks (no variants, no resampler).
 */

import {
  AudioFrame,
  AudioResampler,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  type RemoteTrack,
  Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
} from '@livekit/rtc-node';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { MIC_RATE, Microphone, type MicrophonePacing } from '../e2e/voice';
import { startLivekitServer } from '../scripts/livekit.mjs';
import { isPortFree } from '../scripts/ports.mjs';
import { AUDIBLE_RMS, AudibleEnds, rms } from './audible';
import { machineLine, printTable, quantile } from './common';

const REPS = Number(process.env.HC_BENCH_REPS ?? 25);
const WARMUP = 3;
const MIC_ONLY = process.env.HC_BENCH_MIC_ONLY === '1';
const PORT = Number(process.env.HC_BENCH_LIVEKIT_PORT ?? 7940);
const TONE_MS = 300;
/** Fresh pairs of microphones (queue and clock) for the end-of-speech clocks: a queue's error is set when it starts. */
const MIC_PAIRS = 4;

interface Variant {
  label: string;
  sourceRate: number;
  /** The AudioSource's queueSizeMs; 0: no queue, this script paces 10 ms frames by the clock. */
  queueMs: number;
  firstFrameMs: number;
  frameMs: number;
  /** Between tones: nothing captured, or digital silence in 10 ms frames all along. */
  between: 'nothing' | 'silence';
  listenRate: number;
}

const BASE: Variant = {
  label: 'agent output: 24k, queue 200, 100 ms frames, ear 48k',
  sourceRate: 24_000,
  queueMs: 200,
  firstFrameMs: 100,
  frameMs: 100,
  between: 'nothing',
  listenRate: 48_000,
};
const VARIANTS: Variant[] = [
  BASE,
  { ...BASE, label: 'first frame 10 ms, then 100 ms', firstFrameMs: 10 },
  { ...BASE, label: '10 ms frames', firstFrameMs: 10, frameMs: 10 },
  { ...BASE, label: 'queue 0, paced 10 ms frames', queueMs: 0, firstFrameMs: 10, frameMs: 10 },
  { ...BASE, label: '48k source', sourceRate: 48_000 },
  { ...BASE, label: '48k source, queue 0, paced 10 ms', sourceRate: 48_000, queueMs: 0, firstFrameMs: 10, frameMs: 10 },
  { ...BASE, label: 'queue 0, paced 10 ms, silence between', queueMs: 0, firstFrameMs: 10, frameMs: 10, between: 'silence' },
  { ...BASE, label: 'queue 200, 10 ms frames, silence between', firstFrameMs: 10, frameMs: 10, between: 'silence' },
  { ...BASE, label: 'ear 24k', listenRate: 24_000 },
  { ...BASE, label: 'ear 16k', listenRate: 16_000 },
  {
    label: 'client mic (e2e): 16k, queue 1000, silence between, ear 24k',
    sourceRate: 16_000,
    queueMs: 1000,
    firstFrameMs: 10,
    frameMs: 10,
    between: 'silence',
    listenRate: 24_000,
  },
  { label: 'client mic, queue 0, paced 10 ms, ear 24k', sourceRate: 16_000, queueMs: 0, firstFrameMs: 10, frameMs: 10, between: 'silence', listenRate: 24_000 },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function tone(rate: number, ms: number): Int16Array {
  const out = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return out;
}

/** The listener: each onset (an audible frame after an inaudible one), by performance.now(). */
class Listener {
  readonly onsets: number[] = [];
  lastAudibleAt = 0;
  private readonly stream: AudioStream;
  constructor(track: RemoteTrack, rate: number) {
    const stream = new AudioStream(track, { sampleRate: rate, numChannels: 1 });
    this.stream = stream;
    void (async () => {
      let was = false;
      for await (const frame of stream) {
        const audible = rms(frame.data) > AUDIBLE_RMS;
        const at = now();
        if (audible) {
          if (!was) this.onsets.push(at);
          this.lastAudibleAt = at;
        }
        was = audible;
      }
    })();
  }
  async onsetAfter(t: number, timeoutMs = 3000): Promise<number> {
    const until = now() + timeoutMs;
    for (;;) {
      const found = this.onsets.find((o) => o > t);
      if (found !== undefined) return found;
      if (now() > until) throw new Error('no audible frame within 3 s');
      await sleep(1);
    }
  }
  async quiet(ms: number): Promise<void> {
    while (now() - this.lastAudibleAt < ms) await sleep(10);
  }
  close(): void {
    void this.stream.cancel().catch(() => undefined);
  }
}

/** Feeds one AudioSource: tones when asked, silence or nothing between, paced by the source's queue or (queue 0) by the clock. */
class Feeder {
  private pending: Int16Array[] = [];
  private running = true;
  private wake: (() => void) | undefined;
  private onFirst: ((at: { call: number; playout: number }) => void) | undefined;
  readonly done: Promise<void>;
  constructor(
    private readonly source: AudioSource,
    private readonly v: Variant,
  ) {
    this.done = this.loop();
  }
  /** Queues a tone; answers when its first frame was captured (the call, and when its turn to play comes). */
  play(samples: Int16Array): Promise<{ call: number; playout: number }> {
    const first = Math.round((this.v.sourceRate * this.v.firstFrameMs) / 1000);
    const size = Math.round((this.v.sourceRate * this.v.frameMs) / 1000);
    this.pending.push(samples.subarray(0, first));
    for (let at = first; at < samples.length; at += size) this.pending.push(samples.subarray(at, at + size));
    const started = new Promise<{ call: number; playout: number }>((resolve) => {
      this.onFirst = resolve;
    });
    this.wake?.();
    return started;
  }
  stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    return this.done;
  }
  private async loop(): Promise<void> {
    const silence = new Int16Array(this.v.sourceRate / 100);
    let next = now();
    while (this.running) {
      let chunk = this.pending.shift();
      if (!chunk && this.v.between === 'nothing') {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        this.wake = undefined;
        next = now();
        continue;
      }
      chunk ??= silence;
      if (this.v.queueMs === 0) {
        // No queue: the frames must arrive in real time, as a sound card would deliver them.
        const wait = next - now();
        if (wait > 0) await sleep(wait);
        else if (wait < -50) next = now(); // a stall: start the clock again rather than burst
        next += (chunk.length / this.v.sourceRate) * 1000;
      }
      const first = this.onFirst;
      this.onFirst = undefined;
      const call = now();
      const playout = call + this.source.queuedDuration;
      await this.source.captureFrame(new AudioFrame(chunk, this.v.sourceRate, 1, chunk.length));
      first?.({ call, playout });
    }
  }
}

interface Result {
  v: Variant;
  fromCall: number[];
  fromPlayout: number[];
}

async function measure(publisher: Room, listenerRoom: Room, v: Variant, index: number): Promise<Result> {
  const source = new AudioSource(v.sourceRate, 1, v.queueMs);
  const name = `variant-${index}`;
  const track = LocalAudioTrack.createAudioTrack(name, source);
  const subscribed = new Promise<RemoteTrack>((resolve) => {
    const on = (t: RemoteTrack) => {
      if (t.name === name) {
        listenerRoom.off(RoomEvent.TrackSubscribed, on);
        resolve(t);
      }
    };
    listenerRoom.on(RoomEvent.TrackSubscribed, on);
  });
  const publication = await publisher.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  const listener = new Listener(await subscribed, v.listenRate);
  const feeder = new Feeder(source, v);
  const samples = tone(v.sourceRate, TONE_MS);
  const result: Result = { v, fromCall: [], fromPlayout: [] };
  try {
    await sleep(500);
    for (let rep = 0; rep < WARMUP + REPS; rep++) {
      await listener.quiet(300);
      await sleep(Math.random() * 50);
      const { call, playout } = await feeder.play(samples);
      const heard = await listener.onsetAfter(call);
      if (rep >= WARMUP) {
        result.fromCall.push(heard - call);
        result.fromPlayout.push(heard - playout);
      }
      await sleep(TONE_MS);
    }
  } finally {
    await feeder.stop();
    listener.close();
    await publisher.localParticipant!.unpublishTrack(publication.sid!);
    await source.close();
  }
  return result;
}

interface MicClock {
  pacing: MicrophonePacing;
  /** The microphone's dated end of each tone → its last frame handed to WebRTC (a local tap on its track). */
  handedOff: number[];
  /** The dated end → the tone's end heard by the other participant at 16 kHz (as the agent hears the client). */
  heard: number[];
  late: { frames: number; worstMs: number };
}

/**
 * The end of speech as e2e/voice.ts's Microphone dates it, both ways (`queue`: rtc-node's estimate of
 * a 1 s queue, what bench/agent-latency.ts used until 2026-12-05; `clock`: no queue, frames paced by
 * the clock, the end read at the last frame's capture), against two references common to both: the
 * moment WebRTC's sender was handed the tone's last frame (an AudioStream on the microphone's own
 * track: the native sink call that feeds WebRTC feeds it too) and the end heard in the room. One new
 * microphone of each kind (a queue's estimate is off by an amount set when it starts), taking turns,
 * a 300 ms tone each.
 */
async function micClocks(publisher: Room, listenerRoom: Room, pair: number, reps: number): Promise<MicClock[]> {
  const pacings: MicrophonePacing[] = ['queue', 'clock'];
  const name = (pacing: MicrophonePacing) => `mic-${pacing}-${pair}`;
  const heardTracks = new Map<string, RemoteTrack>();
  const subscribed = new Promise<void>((resolve) => {
    const on = (t: RemoteTrack) => {
      if (pacings.some((p) => t.name === name(p))) heardTracks.set(t.name!, t);
      if (heardTracks.size === pacings.length) {
        listenerRoom.off(RoomEvent.TrackSubscribed, on);
        resolve();
      }
    };
    listenerRoom.on(RoomEvent.TrackSubscribed, on);
  });
  const mics = await Promise.all(pacings.map((pacing) => Microphone.publish(publisher, name(pacing), { pacing })));
  await subscribed;
  const taps = mics.map((mic) => new AudibleEnds(mic.track, { sampleRate: MIC_RATE, minRms: 0 }));
  const ears = pacings.map((pacing) => new AudibleEnds(heardTracks.get(name(pacing))!, { sampleRate: 16_000 }));
  const results: MicClock[] = pacings.map((pacing) => ({ pacing, handedOff: [], heard: [], late: { frames: 0, worstMs: 0 } }));
  const samples = tone(MIC_RATE, TONE_MS);
  try {
    await sleep(1500); // the queue microphone's 1 s queue fills first
    for (let rep = 0; rep < 1 + reps; rep++) {
      for (const [i, mic] of mics.entries()) {
        await sleep(300 + Math.random() * 50);
        const end = await mic.playTimed(samples);
        const handedOff = await taps[i]!.lastEndBefore(end + 200);
        const heard = await ears[i]!.lastEndBefore(end + 400);
        if (handedOff === undefined || heard === undefined) throw new Error(`no end of the tone found (${pacings[i]} microphone)`);
        if (rep >= 1) {
          results[i]!.handedOff.push(handedOff - end);
          results[i]!.heard.push(heard - end);
        }
      }
    }
  } finally {
    for (const [i, mic] of mics.entries()) {
      results[i]!.late = { ...mic.late };
      mic.stop();
      taps[i]!.close();
      ears[i]!.close();
      await publisher.localParticipant!.unpublishTrack(mic.track.sid!);
    }
  }
  return results;
}

/**
 * How far behind its input an AudioResampler's output runs when fed 10 ms frames, as agents-js's STT
 * and VAD streams feed theirs: audio in minus audio out after each frame (no clock involved), its mean
 * and range over 2 s, and the blocks it releases.
 */
function resamplerLag(from: number, to: number): { meanMs: number; minMs: number; maxMs: number; blockMs: number } {
  const resampler = new AudioResampler(from, to, 1);
  let out = 0;
  let block = 0;
  const lags: number[] = [];
  for (let i = 1; i <= 200; i++) {
    for (const f of resampler.push(new AudioFrame(tone(from, 10), from, 1, from / 100))) {
      out += f.samplesPerChannel;
      block = Math.max(block, f.samplesPerChannel);
    }
    if (i > 20) lags.push(i * 10 - (out / to) * 1000);
  }
  resampler.close();
  return { meanMs: lags.reduce((sum, x) => sum + x, 0) / lags.length, minMs: Math.min(...lags), maxMs: Math.max(...lags), blockMs: (block / to) * 1000 };
}

async function join(url: string, identity: string, roomName: string): Promise<Room> {
  const at = new AccessToken('devkey', 'secret', { identity });
  at.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: true });
  const room = new Room();
  await room.connect(url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  return room;
}

if (!(await isPortFree({ tcp: PORT }))) throw new Error(`port ${PORT} is taken: set HC_BENCH_LIVEKIT_PORT`);
const server = await startLivekitServer({ port: PORT, rtcTcpPort: PORT + 1, udpPort: PORT + 2 });
const rooms: Room[] = [];
try {
  console.log('WebRTC alone: first audible frame captured → first audible frame heard, two rtc-node participants in livekit-server');
  console.log(`${machineLine()}; ${REPS} repetitions per variant\n`);
  // auto_create is off (scripts/livekit.mjs): the room exists before anyone joins, as the Worker does it.
  await new RoomServiceClient(server.httpUrl, 'devkey', 'secret').createRoom({ name: 'floor', emptyTimeout: 60 });
  rooms.push(await join(server.url, 'speaker', 'floor'), await join(server.url, 'ear', 'floor'));
  const [publisher, ear] = rooms as [Room, Room];
  const f = (x: number) => x.toFixed(0);
  const results: Result[] = [];
  for (const [i, v] of (MIC_ONLY ? [] : VARIANTS).entries()) {
    process.stderr.write(`webrtc-floor: ${v.label}\n`);
    results.push(await measure(publisher, ear, v, i));
  }
  if (!MIC_ONLY) {
    const base = quantile(results[0]!.fromCall, 0.5);
    printTable(
      ['variant', 'rate', 'queue', 'frames', 'between', 'ear', 'p50', 'p90', 'from playout p50', 'p90', 'p50/baseline'],
      results.map(({ v, fromCall, fromPlayout }) => [
        v.label,
        String(v.sourceRate / 1000),
        String(v.queueMs),
        v.firstFrameMs === v.frameMs ? String(v.frameMs) : `${v.firstFrameMs}+${v.frameMs}`,
        v.between,
        String(v.listenRate / 1000),
        f(quantile(fromCall, 0.5)),
        f(quantile(fromCall, 0.9)),
        f(quantile(fromPlayout, 0.5)),
        f(quantile(fromPlayout, 0.9)),
        `${(quantile(fromCall, 0.5) / base).toFixed(2)}x`,
      ]),
      new Set([1, 2, 5, 6, 7, 8, 9, 10]),
    );
  }
  // The microphone's two clocks: MIC_PAIRS fresh pairs, the tones shared out among them.
  const pairs: MicClock[][] = [];
  for (let pair = 0; pair < MIC_PAIRS; pair++) {
    process.stderr.write(`webrtc-floor: the microphone's two clocks, pair ${pair + 1} of ${MIC_PAIRS}\n`);
    pairs.push(await micClocks(publisher, ear, pair, Math.ceil(REPS / MIC_PAIRS)));
  }
  const pooled = (i: number, key: 'handedOff' | 'heard') => pairs.flatMap((p) => p[i]![key]);
  // The audio's own way from the hand-off, tone by tone: does a microphone paced by this process's timers travel slower?
  const wayFromHandOff = (i: number) => pairs.flatMap((p) => p[i]!.heard.map((h, k) => h - p[i]!.handedOff[k]!));
  const perPair = (i: number, key: 'handedOff' | 'heard') => pairs.map((p) => f(quantile(p[i]![key], 0.5))).join(', ');
  console.log("\nthe client's end of speech as e2e/voice.ts's Microphone dates it, against two references common to both ways (ms):");
  printTable(
    [
      'microphone',
      'dated end → handed to WebRTC p50',
      'p90',
      'p50 per microphone',
      '→ heard in the room (16k) p50',
      'p90',
      'p50 per microphone',
      'hand-off → heard p50',
      'p90',
      'frames late',
    ],
    ['queue', 'clock'].map((pacing, i) => [
      pacing === 'queue' ? "queue: 1 s queue, end = call + rtc-node's queuedDuration" : 'clock: no queue, paced 10 ms frames, end = last capture',
      f(quantile(pooled(i, 'handedOff'), 0.5)),
      f(quantile(pooled(i, 'handedOff'), 0.9)),
      perPair(i, 'handedOff'),
      f(quantile(pooled(i, 'heard'), 0.5)),
      f(quantile(pooled(i, 'heard'), 0.9)),
      perPair(i, 'heard'),
      f(quantile(wayFromHandOff(i), 0.5)),
      f(quantile(wayFromHandOff(i), 0.9)),
      String(pairs.reduce((sum, p) => sum + p[i]!.late.frames, 0)),
    ]),
    new Set([1, 2, 4, 5, 7, 8, 9]),
  );
  const later = (key: 'handedOff' | 'heard') => quantile(pooled(1, key), 0.5) - quantile(pooled(0, key), 0.5);
  console.log(
    `the queue's estimate dates the end ${f(later('handedOff'))} ms later than the clock does (p50, by the hand-off to WebRTC; ` +
      `${f(later('heard'))} ms by the room, where each track's own clock alignment adds up to 10–20 ms): latencies timed from it read that much low`,
  );
  if (!MIC_ONLY) {
    for (const [from, to] of [
      [24_000, 16_000],
      [48_000, 16_000],
      [24_000, 48_000],
    ] as const) {
      const lag = resamplerLag(from, to);
      console.log(
        `${from === 24_000 && to === 16_000 ? '\n' : ''}an AudioResampler ${from / 1000}k → ${to / 1000}k fed 10 ms frames releases ${lag.blockMs.toFixed(0)} ms blocks: ` +
          `its output runs ${lag.meanMs.toFixed(1)} ms behind its input on average (${lag.minMs.toFixed(1)}–${lag.maxMs.toFixed(1)})`,
      );
    }
    console.log("(agents-js's STT and VAD streams resample the room's audio to their 16k this way when it arrives at another rate)");
    console.log(
      '\nms from the first audible frame\'s captureFrame call; "from playout": from when its turn in the source\'s queue came ' +
        "(the call + rtc-node's queuedDuration, its own estimate of the queue, as e2e/voice.ts dates its speech)",
    );
  }
} finally {
  for (const r of rooms) await r.disconnect();
  await server.stop();
}
// rtc-node's native handles keep the event loop alive after the rooms are closed.
process.exit(process.exitCode ?? 0);
