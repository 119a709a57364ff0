import { useLocalParticipant, useTrackVolume } from '@livekit/components-react';
import type { LocalAudioTrack } from 'livekit-client';

/** A level meter for the client's own microphone (LiveKit's useTrackVolume on the published track). */
export function MicMeter() {
  const { microphoneTrack, isMicrophoneEnabled } = useLocalParticipant();
  const track = microphoneTrack?.track as LocalAudioTrack | undefined;
  const volume = useTrackVolume(track);
  const percent = Math.round(Math.min(1, volume * 3) * 100);
  return (
    <div className="hc-stack">
      <div
        className="hc-meter"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        data-testid="mic-meter"
      >
        <span style={{ width: `${percent}%` }} />
      </div>
      <p className="hc-muted" aria-live="polite">
        {!track
          ? 'Waiting for your microphone…'
          : !isMicrophoneEnabled
            ? 'Your microphone is muted.'
            : percent > 4
              ? 'We can hear you.'
              : 'Say something: the bar should move.'}
      </p>
    </div>
  );
}
