import { LiveKitRoom, RoomAudioRenderer, StartAudio } from '@livekit/components-react';
import { Room } from 'livekit-client';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { ApiError, api, call } from '../../api/client';
import { LoadFailed } from '../../shared/load-failed';
import { Alert, Loading } from '../../ui';
import { reviewPath } from '../sessions';
import { CoachCallStage } from './coach-call-stage';

type Ticket = Awaited<ReturnType<typeof joinRoom>>;
const joinRoom = (sessionId: string) => call(api.api.rooms[':sessionId'].join.$post({ param: { sessionId } }));

/** Connection problems are shown from the room's state, not from LiveKitRoom's errors. */
const ignoreError = () => undefined;

/**
 * The coach's side of a live session (loaded on its own, see call-page.tsx): joins through the API
 * (the first coach to join becomes the session's coach), connects with the microphone on, and hands
 * the connected room to the stage.
 */
export default function CoachCallRoom({ sessionId }: { sessionId: string }) {
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [room] = useState(() => new Room({ adaptiveStream: true, dynacast: true }));

  useEffect(() => {
    let live = true;
    setError(null);
    joinRoom(sessionId).then(
      (t) => live && setTicket(t),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [sessionId, attempt]);

  if (error) {
    if (error instanceof ApiError && error.code === 'CONFLICT') {
      return (
        <section className="hc-card hc-narrow hc-stack" aria-labelledby="over-title">
          <h1 id="over-title">Session ended</h1>
          <Alert tone="info">
            <p>This session is over.</p>
          </Alert>
          <Link to={reviewPath(sessionId)}>Review the session</Link>
        </section>
      );
    }
    return <LoadFailed error={error} what="the call room" retry={() => setAttempt((a) => a + 1)} />;
  }
  if (!ticket) return <Loading label="Joining the session…" />;
  return (
    <LiveKitRoom room={room} serverUrl={ticket.livekitUrl} token={ticket.token} connect audio video={false} onError={ignoreError}>
      <RoomAudioRenderer />
      <StartAudio label="Turn on the call’s sound" className="hc-button hc-button-primary hc-start-audio" />
      <CoachCallStage sessionId={sessionId} room={room} />
    </LiveKitRoom>
  );
}
