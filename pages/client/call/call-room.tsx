import { LiveKitRoom, RoomAudioRenderer, StartAudio } from '@livekit/components-react';
import { DisconnectReason, MediaDeviceFailure, Room, RoomEvent } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, call, messageOf } from '../../api/client';
import { Alert, Button, Loading } from '../../ui';
import { LoadFailed } from '../../shared/load-failed';
import { loadProfile } from '../profile';
import { CallStage, SessionReference } from './call-stage';

/** What the room needs to connect: from POST /api/rooms (start) or POST /api/rooms/:id/join. */
export interface Ticket {
  sessionId: string;
  token: string;
  livekitUrl: string;
}

/** How many times the room rejoins by itself after an unexpected disconnection before asking. */
const AUTO_REJOINS = 3;

/** Connection problems are shown from the room's state (CallStage), not from LiveKitRoom's errors. */
const ignoreError = () => undefined;

/** What to tell the client about their microphone, by what went wrong. */
export type MicProblem = 'denied' | 'missing' | 'other' | null;

function micProblemOf(failure: MediaDeviceFailure | undefined): MicProblem {
  if (failure === MediaDeviceFailure.PermissionDenied) return 'denied';
  if (failure === MediaDeviceFailure.NotFound) return 'missing';
  return 'other';
}

/**
 * The LiveKit side of the call route (loaded on its own, see call-page.tsx): gets a ticket, connects,
 * publishes the microphone, and rejoins after a dropped connection (LiveKit first tries to resume by
 * itself; when the room is lost, a fresh ticket is fetched, a few times, then the client is asked).
 */
export default function CallRoom({ sessionId, initialTicket }: { sessionId: string; initialTicket: Ticket | undefined }) {
  const navigate = useNavigate();
  const [ticket, setTicket] = useState<Ticket | null>(initialTicket ?? null);
  const [joinError, setJoinError] = useState<unknown>(null);
  const [connection, setConnection] = useState(0);
  const rejoinsRef = useRef(0);
  const rejoinTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [lost, setLost] = useState<{ rejoins: number; gaveUp: boolean }>({ rejoins: 0, gaveUp: false });
  const [elsewhere, setElsewhere] = useState(false);
  const [micProblem, setMicProblem] = useState<MicProblem>(null);
  const [trackUrl, setTrackUrl] = useState<string | null>(null);
  const [ending, setEnding] = useState(false);
  const [endError, setEndError] = useState<string | null>(null);
  const [room] = useState(
    () =>
      new Room({
        adaptiveStream: true,
        dynacast: true,
        audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      }),
  );

  useEffect(() => {
    if (ticket) return;
    let live = true;
    setJoinError(null);
    let retry: ReturnType<typeof setTimeout> | undefined;
    call(api.api.rooms[':sessionId'].join.$post({ param: { sessionId } })).then(
      (t) => live && setTicket(t),
      (err: unknown) => {
        if (!live) return;
        // Rejoining while the network is still down: keep trying for a while before asking.
        const rejoins = rejoinsRef.current;
        if (connection > 0 && err instanceof ApiError && err.code === 'NETWORK_ERROR' && rejoins < AUTO_REJOINS) {
          rejoinsRef.current = rejoins + 1;
          retry = setTimeout(() => setConnection((n) => n + 1), 1000 * 2 ** rejoins);
          return;
        }
        setJoinError(err);
      },
    );
    return () => {
      live = false;
      clearTimeout(retry);
    };
  }, [ticket, sessionId, connection]);

  useEffect(() => {
    loadProfile().then(
      (p) => setTrackUrl(p.favouriteTrackUrl),
      () => undefined, // the calm track plays instead
    );
  }, []);

  // Stable: LiveKitRoom connects again whenever its onError changes.
  const onMediaDeviceFailure = useCallback((failure?: MediaDeviceFailure) => setMicProblem(micProblemOf(failure)), []);

  const finished = useCallback(
    (reason: string) => {
      void room.disconnect();
      navigate(`/sessions/${encodeURIComponent(sessionId)}/rate`, { replace: true, state: { justEnded: true, reason } });
    },
    [navigate, room, sessionId],
  );

  // A room lost for good (not closed by us or by the end of the session) is joined again.
  useEffect(() => {
    const onDisconnected = (reason?: DisconnectReason) => {
      if (reason === DisconnectReason.CLIENT_INITIATED) return;
      // The same client joined from another tab or device: that one has the call now.
      if (reason === DisconnectReason.DUPLICATE_IDENTITY) {
        setElsewhere(true);
        return;
      }
      if (reason === DisconnectReason.ROOM_DELETED || reason === DisconnectReason.ROOM_CLOSED) {
        finished('room_closed');
        return;
      }
      const rejoins = rejoinsRef.current;
      if (rejoins >= AUTO_REJOINS) {
        setLost({ rejoins, gaveUp: true });
        return;
      }
      rejoinsRef.current = rejoins + 1;
      setLost({ rejoins: rejoins + 1, gaveUp: false });
      rejoinTimer.current = setTimeout(() => rejoin(), 1000 * 2 ** rejoins);
    };
    const onConnected = () => {
      // Back in by itself (LiveKitRoom connects again with the same ticket): no rejoin needed.
      clearTimeout(rejoinTimer.current);
      rejoinsRef.current = 0;
      setLost({ rejoins: 0, gaveUp: false });
    };
    room.on(RoomEvent.Disconnected, onDisconnected);
    room.on(RoomEvent.Connected, onConnected);
    return () => {
      clearTimeout(rejoinTimer.current);
      room.off(RoomEvent.Disconnected, onDisconnected);
      room.off(RoomEvent.Connected, onConnected);
    };
  }, [room, finished]);

  function rejoin() {
    if (lost.gaveUp) rejoinsRef.current = 0;
    setLost((prev) => ({ ...prev, gaveUp: false }));
    setTicket(null);
    setConnection((n) => n + 1);
  }

  async function retryMicrophone() {
    try {
      await room.localParticipant.setMicrophoneEnabled(true);
      setMicProblem(null);
    } catch {
      // onMediaDeviceFailure says what is wrong
    }
  }

  async function end() {
    setEnding(true);
    setEndError(null);
    try {
      await call(api.api.rooms[':sessionId'].end.$post({ param: { sessionId } }));
    } catch (err) {
      // Already over (by the timer or the coach) is as good as ended.
      if (!(err instanceof ApiError && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND'))) {
        setEndError(messageOf(err));
        setEnding(false);
        return;
      }
    }
    finished('client');
  }

  if (elsewhere) {
    return (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="elsewhere-title">
        <h1 id="elsewhere-title">Your call moved</h1>
        <Alert tone="info">
          <p>You joined this session from another tab or device, so the call continues there.</p>
        </Alert>
        <div className="hc-row">
          <Button
            onClick={() => {
              setElsewhere(false);
              rejoin();
            }}
          >
            Continue here instead
          </Button>
          <Link to="/dashboard">Back to your dashboard</Link>
        </div>
      </section>
    );
  }
  if (joinError) {
    if (joinError instanceof ApiError && joinError.code === 'CONFLICT') {
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
    return <LoadFailed error={joinError} what="your call room" retry={rejoin} />;
  }
  if (!ticket) return <Loading label={connection > 0 ? 'Reconnecting to your session…' : 'Opening your call room…'} />;

  return (
    <LiveKitRoom
      key={connection}
      room={room}
      serverUrl={ticket.livekitUrl}
      token={ticket.token}
      connect
      audio
      video={false}
      onMediaDeviceFailure={onMediaDeviceFailure}
      onError={ignoreError}
    >
      <RoomAudioRenderer />
      <StartAudio label="Turn on your coach’s voice" className="hc-button hc-button-primary hc-start-audio" />
      <CallStage
        sessionId={sessionId}
        trackUrl={trackUrl}
        micProblem={micProblem}
        onRetryMicrophone={retryMicrophone}
        lostConnection={lost.gaveUp}
        reconnectingAfterLoss={lost.rejoins > 0 && !lost.gaveUp}
        onRejoin={rejoin}
        onEnd={end}
        ending={ending}
        endError={endError}
        onEnded={finished}
      />
    </LiveKitRoom>
  );
}
