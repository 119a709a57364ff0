import { AudioFrame } from '@livekit/rtc-node';

/**
 * Mono PCM cut into LiveKit AudioFrames of `frameMs` (10 ms, as rooms deliver them), for pushing a
 * recording into an STT stream or an AudioSource.
 */
export function audioFrames(samples: Int16Array, sampleRate: number, frameMs = 10): AudioFrame[] {
  const size = Math.max(1, Math.round((sampleRate * frameMs) / 1000));
  const frames: AudioFrame[] = [];
  for (let at = 0; at < samples.length; at += size) {
    const chunk = samples.slice(at, Math.min(samples.length, at + size));
    frames.push(new AudioFrame(chunk, sampleRate, 1, chunk.length));
  }
  return frames;
}

/** The samples of mono AudioFrames joined end to end. */
export function framesToPcm(frames: AudioFrame[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.samplesPerChannel * f.channels, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame.data.subarray(0, frame.samplesPerChannel * frame.channels), at);
    at += frame.samplesPerChannel * frame.channels;
  }
  return out;
}
