/**
 * The second listener: agents-js links an AgentSession to one participant's audio (the client's), so
 * the coach gets a speech-to-text stream of their own, fed from their audio track. Every coach
 * utterance is transcribed; it reaches the model only when the coach was not muted from the AI at any
 * moment of it. Unsubscribing from the track is not an option: the coach must still be transcribed.
 */
import { stt } from '@livekit/agents';
import { AudioStream, type RemoteTrack } from '@livekit/rtc-node';

export interface CoachUtterance {
  text: string;
  startedAt: number;
  endedAt: number;
  /** False when the coach was muted from the AI at any moment between start and end. */
  heardByAi: boolean;
}

export class CoachListener {
  private muted: boolean;
  private utterance: { startedAt: number; mutedDuring: boolean } | null = null;
  private readonly stream: stt.SpeechStream;
  private closed = false;

  constructor(
    sttEngine: stt.STT,
    track: RemoteTrack,
    muted: boolean,
    private readonly onUtterance: (u: CoachUtterance) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.muted = muted;
    this.stream = sttEngine.stream();
    void this.pump(new AudioStream(track, { sampleRate: 16_000, numChannels: 1 }));
    void this.read();
  }

  /** The coach's mute-from-AI changed: an utterance in progress is not heard if muted at any moment. */
  setMuted(muted: boolean): void {
    this.muted = muted;
    if (muted && this.utterance) this.utterance.mutedDuring = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
  }

  private async pump(audio: AudioStream): Promise<void> {
    try {
      const reader = audio.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.closed) break;
        this.stream.pushFrame(value);
      }
      reader.releaseLock();
      if (!this.closed) this.stream.endInput();
    } catch (err) {
      if (!this.closed) this.onError(err);
    }
  }

  private async read(): Promise<void> {
    try {
      for await (const ev of this.stream) {
        if (ev.type === stt.SpeechEventType.START_OF_SPEECH) {
          this.utterance = { startedAt: Date.now(), mutedDuring: this.muted };
        } else if (ev.type === stt.SpeechEventType.FINAL_TRANSCRIPT) {
          const text = ev.alternatives?.[0]?.text.trim() ?? '';
          const now = Date.now();
          const u = this.utterance ?? { startedAt: now, mutedDuring: this.muted };
          this.utterance = null;
          if (text) this.onUtterance({ text, startedAt: u.startedAt, endedAt: now, heardByAi: !u.mutedDuring && !this.muted });
        }
      }
    } catch (err) {
      if (!this.closed) this.onError(err);
    }
  }
}
