/**
 * When a track's audio stops being audible, as an rtc-node AudioStream receives it: a remote track
 * as a participant hears it, or a microphone's own LocalAudioTrack, whose stream is fed by the same
 * native sink call that hands each 10 ms frame to WebRTC's sender (the moment the audio leaves the
 * microphone, with no estimate in between).
 */

import { AudioStream, type LocalAudioTrack, type RemoteTrack } from '@livekit/rtc-node';

/** Int16 RMS above which a frame is audible (about -50 dBFS): the benches' one threshold. */
export const AUDIBLE_RMS = 100;

/** The RMS of Int16 samples (a frame's `data`, or a window of a recording). */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const x of samples) sum += x * x;
  return Math.sqrt(sum / samples.length);
}

export class AudibleEnds {
  /** Each end: when the last audible frame before an inaudible one arrived (Date.now()). */
  readonly ends: number[] = [];
  private readonly stream: AudioStream;

  /**
   * `minRms`: the Int16 RMS a 10 ms frame must exceed to be audible; 0 on a local track (exact
   * digital silence between phrases, so a phrase's last few samples still count).
   */
  constructor(track: LocalAudioTrack | RemoteTrack, { sampleRate = 16_000, minRms = AUDIBLE_RMS }: { sampleRate?: number; minRms?: number } = {}) {
    const stream = new AudioStream(track, { sampleRate, numChannels: 1 });
    this.stream = stream;
    void (async () => {
      let lastAudibleAt: number | undefined;
      for await (const frame of stream) {
        const at = Date.now();
        if (rms(frame.data) > minRms) lastAudibleAt = at;
        else if (lastAudibleAt !== undefined) {
          this.ends.push(lastAudibleAt);
          lastAudibleAt = undefined;
          if (this.ends.length > 5000) this.ends.splice(0, 2500);
        }
      }
    })();
  }

  /** The last end at or before `t`, once `t` has passed (undefined if none within `t - 5 s`). */
  async lastEndBefore(t: number): Promise<number | undefined> {
    // An end is known one frame after it (the first inaudible frame): wait for that frame too.
    while (Date.now() < t + 30) await new Promise((resolve) => setTimeout(resolve, Math.max(1, t + 30 - Date.now())));
    return this.ends.findLast((e) => e <= t && e > t - 5000);
  }

  close(): void {
    void this.stream.cancel().catch(() => undefined);
  }
}
