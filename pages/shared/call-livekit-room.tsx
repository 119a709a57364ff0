import { LiveKitRoom, RoomAudioRenderer, StartAudio } from '@livekit/components-react';
import type { ReactNode } from 'react';
import type { CallConnection, Ticket } from './use-call-connection';

/** Connection problems are shown from the room's state (the call stages), not from LiveKitRoom's errors. */
const ignoreError = () => undefined;

/**
 * The LiveKit room of a call's connection (useCallConnection), once it has its ticket: microphone
 * on, no camera, connected afresh on every rejoin; plays the room's audio and offers the button a
 * browser needs before it plays sound (`startAudioLabel`). The call stage is `children`.
 */
export function CallLiveKitRoom({
  link,
  ticket,
  startAudioLabel,
  children,
}: {
  link: CallConnection;
  ticket: Ticket;
  startAudioLabel: string;
  children: ReactNode;
}) {
  return (
    <LiveKitRoom
      key={link.connection}
      room={link.room}
      serverUrl={ticket.livekitUrl}
      token={ticket.token}
      connect
      audio
      video={false}
      onMediaDeviceFailure={link.onMediaDeviceFailure}
      onError={ignoreError}
    >
      <RoomAudioRenderer />
      <StartAudio label={startAudioLabel} className="hc-button hc-button-primary hc-start-audio" />
      {children}
    </LiveKitRoom>
  );
}
