/** Voices for the end-to-end tests: a participant's microphone playing espeak-ng speech, and the AI agent process. */

import type { ChildProcess } from 'node:child_process';
import { AudioFrame, AudioSource, LocalAudioTrack, type Room, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { inject } from 'vitest';
import { spawnCompiled, spawnSource } from '../agent-host/dev/spawn-source';
import type { Standins } from '../agent-host/dev/standins';
import { speak } from '../agent-host/dev/standins/audio';
import { apiOk, eventually, login, type RoomTicket, TestParticipant } from './helpers';
import type { Stack } from './stack';

/** The microphone's sample rate. */
export const MIC_RATE = 16_000;
const RATE = MIC_RATE;
const FRAME = RATE / 100; // 10 ms
/**
 * Speech-to-text matching for tests whose phrases are all different sentences (unrelated speech scores
 * about 0.5): accept from 0.8 rather than the stand-in's 0.9, which is meant to tell apart sentences
 * one word apart. On a loaded 2-core machine, audio through livekit-server and Opus now and then
 * scored 0.88 to 0.9 against its own recording, and a test failed for no fault of the agent.
 */
export const DISTINCT_PHRASES = { match: { minScore: 0.8, minDurationRatio: 0.8 } };

/** About -36 dBFS: quieter samples at the end of a recording are its trailing silence. */
const AUDIBLE = 500;

/**
 * How far ahead of playout the microphone queues audio. A full second: on a loaded 2-core machine this
 * process's event loop can stall for a few hundred milliseconds, and a shorter queue then ran dry in the
 * middle of a sentence, so the room heard a gap the speech-to-text stand-in no longer recognised
 * (e2e agent-conversation, best score 0.76 against its own recording).
 */
const QUEUE_MS = 1000;

/**
 * How a {@link Microphone} paces its frames, and so how it dates the end of what it says.
 * - `queue` (the default, the e2e tests'): a 1 s rtc-node queue (QUEUE_MS) paces captureFrame and
 *   rides out this process's stalls; the end is estimated as the call plus rtc-node's `queuedDuration`,
 *   its own estimate of the native queue.
 * - `clock`: no queue (queueSizeMs 0: rtc-node hands each 10 ms frame to WebRTC inside captureFrame),
 *   the frames paced by the wall clock against the microphone's start, as a sound card delivers them;
 *   the end is the moment the last frame was captured, read directly. A stall delays frames (they
 *   then go out back to back, nothing dropped); `late` counts them.
 */
export type MicrophonePacing = 'queue' | 'clock';

/**
 * A microphone that never stops: silence, and the speech queued by `say()`, in real time, as a
 * browser publishes a live microphone.
 */
export class Microphone {
  private readonly source: AudioSource;
  private queue: Int16Array[] = [];
  private running = true;
  private drainWaiters: ((capturedAt: number) => void)[] = [];
  /** The track it publishes (a bench can listen to what WebRTC is handed). */
  readonly track: LocalAudioTrack;
  /** `clock` pacing: frames captured more than a frame late (this process stalled), and the worst lateness (ms). */
  readonly late = { frames: 0, worstMs: 0 };

  private constructor(
    name: string,
    private readonly pacing: MicrophonePacing,
  ) {
    this.source = new AudioSource(RATE, 1, pacing === 'clock' ? 0 : QUEUE_MS);
    this.track = LocalAudioTrack.createAudioTrack(name, this.source);
  }

  static async publish(room: Room, name = 'microphone', { pacing = 'queue' }: { pacing?: MicrophonePacing } = {}): Promise<Microphone> {
    const mic = new Microphone(name, pacing);
    const options = new TrackPublishOptions();
    options.source = TrackSource.SOURCE_MICROPHONE;
    await room.localParticipant!.publishTrack(mic.track, options);
    void mic.loop();
    return mic;
  }

  /** Speaks `text` (espeak-ng, the voice the speech-to-text stand-in knows); resolves when it has been played. */
  async say(text: string): Promise<void> {
    this.queue.push(await speak(text, { sampleRate: RATE }));
    await new Promise<number>((resolve) => this.drainWaiters.push(resolve));
    // Its last frame is queued; the room hears it once what is queued before it has played.
    if (this.pacing === 'queue') await new Promise((resolve) => setTimeout(resolve, this.source.queuedDuration));
  }

  /**
   * Speaks `text` cut at its last audible sample, and answers the wall-clock moment (Date.now()) its
   * last sample leaves this microphone: the end of the user's speech, for latency benches.
   */
  async sayTimed(text: string): Promise<number> {
    const samples = await speak(text, { sampleRate: RATE });
    let last = samples.length - 1;
    while (last > 0 && Math.abs(samples[last]!) < AUDIBLE) last--;
    return this.playTimed(samples.subarray(0, last + 1));
  }

  /** Plays 16 kHz `samples` as they are; answers the moment their last sample leaves this microphone. */
  async playTimed(samples: Int16Array): Promise<number> {
    this.queue.push(samples);
    const capturedAt = await new Promise<number>((resolve) => this.drainWaiters.push(resolve));
    // `queue`: the drain fires once the last frame is in the source's queue: it plays after what is queued.
    return this.pacing === 'clock' ? capturedAt : Date.now() + this.source.queuedDuration;
  }

  stop(): void {
    this.running = false;
  }

  private async loop(): Promise<void> {
    let current: Int16Array | null = null;
    let at = 0;
    const start = performance.now();
    for (let n = 0; this.running; n++) {
      const frame = new Int16Array(FRAME);
      if (!current && this.queue.length > 0) {
        current = this.queue.shift()!;
        at = 0;
      }
      if (current) {
        frame.set(current.subarray(at, at + FRAME));
        at += FRAME;
      }
      if (this.pacing === 'clock') {
        // Frame n is due n × 10 ms after the start (a schedule, not chained sleeps: no drift).
        const due = start + n * 10;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        else if (wait < -10) {
          this.late.frames++;
          this.late.worstMs = Math.max(this.late.worstMs, -wait);
        }
      }
      const capturedAt = Date.now();
      try {
        await this.source.captureFrame(new AudioFrame(frame, RATE, 1, FRAME));
      } catch {
        return; // the room closed
      }
      if (current && at >= current.length) {
        current = null;
        if (this.queue.length === 0) for (const w of this.drainWaiters.splice(0)) w(capturedAt);
      }
    }
  }
}

/** A client talking in a session room of their own: a participant in it and its microphone. */
export interface LiveSession {
  email: string;
  /** The client's API token. */
  token: string;
  sessionId: string;
  roomName: string;
  participant: TestParticipant;
  mic: Microphone;
}

/** Signs `email` in, starts a session room and joins it with a microphone that speaks when told. */
export async function joinWithMicrophone(email: string): Promise<LiveSession> {
  const token = await login(email);
  const ticket = await apiOk<RoomTicket>('POST', '/api/rooms', { token }, 201);
  const participant = await new TestParticipant(email).connect(ticket.livekitUrl, ticket.token);
  const mic = await Microphone.publish(participant.room);
  return { email, token, sessionId: ticket.sessionId, roomName: ticket.roomName, participant, mic };
}

/** Which agent worker runs: the compiled one (`build`, as the image runs it) or the TypeScript under tsx (`source`, `npm run dev`). */
export type AgentForm = 'build' | 'source';

/** The agent-host's AI coach worker as its own process, with its output kept for the error message. */
export class AgentProcess {
  readonly output: string[] = [];
  /** Chunks of output no longer in `output` (it keeps the last 1000-2000): 0 means `output` is all of it. */
  outputDropped = 0;
  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 2000) {
        this.output.splice(0, 1000);
        this.outputDropped += 1000;
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /**
   * Starts the worker against the e2e livekit-server and the stand-ins, reaching the Worker at `apiUrl`
   * (the stack's, or a proxy to it), and resolves once it has registered with livekit-server.
   */
  static startOffline(standins: Standins, outboxDir: string, apiUrl = inject('apiOrigin')): Promise<AgentProcess> {
    return AgentProcess.startOfflineAt(standins, outboxDir, {
      apiOrigin: apiUrl,
      livekitUrl: inject('livekitUrl'),
      livekitApiKey: inject('livekitApiKey'),
      livekitApiSecret: inject('livekitApiSecret'),
      agentHostSecret: inject('agentHostSecret'),
    });
  }

  /** The same against a stack given outright (benches, outside vitest). */
  static async startOfflineAt(
    standins: Pick<Standins, 'deepgramBaseUrl' | 'openaiBaseUrl'>,
    outboxDir: string,
    stack: Pick<Stack, 'apiOrigin' | 'livekitUrl' | 'livekitApiKey' | 'livekitApiSecret' | 'agentHostSecret'>,
    form: AgentForm = 'build',
  ): Promise<AgentProcess> {
    const agent = AgentProcess.start(
      {
        LIVEKIT_URL: stack.livekitUrl,
        LIVEKIT_API_KEY: stack.livekitApiKey,
        LIVEKIT_API_SECRET: stack.livekitApiSecret,
        API_URL: stack.apiOrigin,
        AGENT_HOST_SECRET: stack.agentHostSecret,
        AI_PROVIDERS: 'standin',
        DEEPGRAM_BASE_URL: standins.deepgramBaseUrl,
        OPENAI_BASE_URL: standins.openaiBaseUrl,
        AGENT_OUTBOX_DIR: outboxDir,
      },
      form,
    );
    await eventually(
      'the agent worker to register with livekit-server',
      () => agent.mentions('registered worker') || (agent.exited ? Promise.reject(new Error(agent.output.join(''))) : false),
      { timeoutMs: 45_000, describe: () => agent.output.join('') },
    );
    return agent;
  }

  /**
   * The compiled agent worker, as the image runs it (plain Node, no wrapper process; built by
   * e2e/global-setup.ts or the bench), or with `form` 'source' the TypeScript under tsx; in its own
   * process group: stop() reaches its job processes too.
   */
  static start(env: Record<string, string>, form: AgentForm = 'build'): AgentProcess {
    return new AgentProcess(form === 'build' ? spawnCompiled('agent/main.js', env) : spawnSource('agent-host/src/agent/main.ts', env));
  }

  /** The worker process; its job processes share its process group. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Lines of output that mention `text`. */
  mentions(text: string): boolean {
    return this.output.join('').includes(text);
  }

  /** SIGTERM drains as in production; SIGKILL is a crash of the whole host (worker and job processes). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const group = -this.child.pid;
    process.kill(group, signal);
    const timer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
    if (signal === 'SIGKILL') {
      try {
        process.kill(group, 'SIGKILL'); // job processes left behind
      } catch {
        // none
      }
    }
  }
}
