import { useQuery } from '@tanstack/react-query';
import { useCallback } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, call } from '../../api/client';
import { useAction } from '../../shared/action';
import { CallLiveKitRoom } from '../../shared/call-livekit-room';
import { CallMoved } from '../../shared/call-notices';
import type { CallRoomProps } from '../../shared/call-route';
import { LoadFailed } from '../../shared/load-failed';
import { useCallConnection } from '../../shared/use-call-connection';
import { Alert, Loading } from '../../ui';
import { profileQuery } from '../profile';
import { CallStage, SessionReference } from './call-stage';

/**
 * The LiveKit side of the client's call route (loaded on its own, see shared/call-route.tsx): the
 * connection (useCallConnection: ticket, rejoin, another tab, the microphone), the favourite track
 * for the waiting room, and ending the session.
 */
export default function CallRoom({ sessionId, initialTicket }: CallRoomProps) {
  const navigate = useNavigate();
  // The calm track plays when there is no favourite (or the profile does not load).
  const trackUrl = useQuery(profileQuery).data?.favouriteTrackUrl ?? null;

  const finished = useCallback(
    (reason: string) => navigate(`/sessions/${encodeURIComponent(sessionId)}/rate`, { replace: true, state: { justEnded: true, reason } }),
    [navigate, sessionId],
  );
  const link = useCallConnection(sessionId, initialTicket, () => finished('room_closed'));
  const { room } = link;
  const leave = useCallback(
    (reason: string) => {
      void room.disconnect();
      finished(reason);
    },
    [room, finished],
  );

  const end = useAction(async () => {
    try {
      await call(api.api.rooms[':sessionId'].end.$post({ param: { sessionId } }));
    } catch (err) {
      // Already over (by the timer or the coach) is as good as ended.
      if (!(err instanceof ApiError && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND'))) throw err;
    }
    leave('client');
  });

  if (link.elsewhere) return <CallMoved onContinueHere={link.rejoin} />;
  if (link.joinError) {
    if (link.joinError instanceof ApiError && link.joinError.code === 'CONFLICT') {
      return (
        <section className="hc-card hc-narrow hc-stack" aria-labelledby="over-title">
          <h1 id="over-title">Session ended</h1>
          <Alert tone="info">
            <p>This session is over. You can still rate it.</p>
          </Alert>
          <div className="hc-row">
            <Link className="hc-button hc-button-primary" to={`/sessions/${encodeURIComponent(sessionId)}/rate`}>
              Rate this session
            </Link>
            <Link to="/dashboard">Back to your dashboard</Link>
          </div>
          <SessionReference sessionId={sessionId} />
        </section>
      );
    }
    return <LoadFailed error={link.joinError} what="your call room" retry={link.rejoin} />;
  }
  if (!link.ticket) return <Loading label={link.connection > 0 ? 'Reconnecting to your session…' : 'Opening your call room…'} />;

  return (
    <CallLiveKitRoom link={link} ticket={link.ticket} startAudioLabel="Turn on your coach’s voice">
      <CallStage sessionId={sessionId} link={link} trackUrl={trackUrl} onEnd={() => end.run()} ending={end.busy} endError={end.error} onEnded={leave} />
    </CallLiveKitRoom>
  );
}
