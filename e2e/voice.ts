/** Voices for the end-to-end tests: a participant's microphone playing espeak-ng speech, and the AI agent process. */
import { AudioFrame, AudioSource, LocalAudioTrack, type Room, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { speak } from '../agent-host/src/standins/audio';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RATE = 16_000;
const FRAME = RATE / 100; // 10 ms

/**
 * A microphone that never stops: silence, and the speech queued by `say()`, in real time (the
 * AudioSource's queue paces captureFrame), as a browser publishes a live microphone.
 */
export class Microphone {
  private readonly source = new AudioSource(RATE, 1, 200);
  private queue: Int16Array[] = [];
  private running = true;
  private drainWaiters: (() => void)[] = [];

  private constructor() {}

  static async publish(room: Room, name = 'microphone'): Promise<Microphone> {
    const mic = new Microphone();
    const track = LocalAudioTrack.createAudioTrack(name, mic.source);
    const options = new TrackPublishOptions();
    options.source = TrackSource.SOURCE_MICROPHONE;
    await room.localParticipant!.publishTrack(track, options);
    void mic.loop();
    return mic;
  }

  /** Speaks `text` (espeak-ng, the voice the speech-to-text stand-in knows); resolves when it has been played. */
  async say(text: string): Promise<void> {
    this.queue.push(await speak(text, { sampleRate: RATE }));
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  stop(): void {
    this.running = false;
  }

  private async loop(): Promise<void> {
    let current: Int16Array | null = null;
    let at = 0;
    while (this.running) {
      const frame = new Int16Array(FRAME);
      if (!current && this.queue.length > 0) {
        current = this.queue.shift()!;
        at = 0;
      }
      if (current) {
        frame.set(current.subarray(at, at + FRAME));
        at += FRAME;
        if (at >= current.length) {
          current = null;
          if (this.queue.length === 0) for (const w of this.drainWaiters.splice(0)) w();
        }
      }
      try {
        await this.source.captureFrame(new AudioFrame(frame, RATE, 1, FRAME));
      } catch {
        return; // the room closed
      }
    }
  }
}

/** The agent-host's AI coach worker as its own process (tsx), with its output kept for the error message. */
export class AgentProcess {
  readonly output: string[] = [];
  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 2000) this.output.splice(0, 1000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static start(env: Record<string, string>): AgentProcess {
    const require = createRequire(import.meta.url);
    const tsxManifest = require.resolve('tsx/package.json');
    const child = spawn(process.execPath, [join(dirname(tsxManifest), 'dist/cli.mjs'), join(ROOT, 'agent-host/src/agent/main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AgentProcess(child);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Lines of output that mention `text`. */
  mentions(text: string): boolean {
    return this.output.join('').includes(text);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
