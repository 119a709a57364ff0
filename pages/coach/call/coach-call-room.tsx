import { useState } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../../api/client';
import { CallLiveKitRoom } from '../../shared/call-livekit-room';
import { CallMoved } from '../../shared/call-notices';
import type { CallRoomProps } from '../../shared/call-route';
import { LoadFailed } from '../../shared/load-failed';
import { useCallConnection } from '../../shared/use-call-connection';
import { Alert, Loading } from '../../ui';
import { reviewPath } from '../sessions';
import { CoachCallStage } from './coach-call-stage';

/**
 * The coach's side of a live session (loaded on its own, see shared/call-route.tsx): joins through
 * the API (the first coach to join becomes the session's coach) and connects with the microphone on;
 * rejoins a lost room, yields to another tab and explains a failing microphone as the client's room
 * does (useCallConnection); says when the session is over.
 */
export default function CoachCallRoom({ sessionId, initialTicket }: CallRoomProps) {
  const [ended, setEnded] = useState(false);
  const link = useCallConnection(sessionId, initialTicket, () => setEnded(true));

  const over = ended || (link.joinError instanceof ApiError && link.joinError.code === 'CONFLICT');
  if (over) {
    return (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="ended-title">
        <h1 id="ended-title">Session ended</h1>
        <Alert tone="info">
          <p>This session is over.</p>
        </Alert>
        <div>
          <Link className="hc-button hc-button-primary" to={reviewPath(sessionId)}>
            Review the session
          </Link>
        </div>
      </section>
    );
  }
  if (link.elsewhere) return <CallMoved onContinueHere={link.rejoin} />;
  if (link.joinError) return <LoadFailed error={link.joinError} what="the call room" retry={link.rejoin} />;
  if (!link.ticket) return <Loading label={link.connection > 0 ? 'Reconnecting to the session…' : 'Joining the session…'} />;
  return (
    <CallLiveKitRoom link={link} ticket={link.ticket} startAudioLabel="Turn on the call’s sound">
      <CoachCallStage sessionId={sessionId} link={link} onEnded={() => setEnded(true)} />
    </CallLiveKitRoom>
  );
}
