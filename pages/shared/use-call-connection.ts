import { useQuery } from '@tanstack/react-query';
import { DisconnectReason, MediaDeviceFailure, Room, RoomEvent } from 'livekit-client';
import { useCallback, useEffect, useEffectEvent, useRef, useState } from 'react';
import { ApiError, api, call } from '../api/client';

/** What the room needs to connect: from POST /api/rooms (start) or POST /api/rooms/:id/join. */
export interface Ticket {
  sessionId: string;
  token: string;
  livekitUrl: string;
}

/** What to tell the user about their microphone, by what went wrong. */
export type MicProblem = 'denied' | 'missing' | 'other' | null;

/** How many times the room rejoins by itself after an unexpected disconnection before asking. */
const AUTO_REJOINS = 3;

const joinRoom = (sessionId: string): Promise<Ticket> => call(api.api.rooms[':sessionId'].join.$post({ param: { sessionId } }));

function micProblemOf(failure: MediaDeviceFailure | undefined): MicProblem {
  if (failure === MediaDeviceFailure.PermissionDenied) return 'denied';
  if (failure === MediaDeviceFailure.NotFound) return 'missing';
  return 'other';
}

/**
 * A call room's connection, for the client's and the coach's room alike: gets a ticket (the one the
 * navigation brought, else POST /api/rooms/:id/join), and after a dropped connection joins again
 * (LiveKit first tries to resume by itself; when the room is lost, a fresh ticket is fetched a few
 * times with backoff, then the user is asked). The same user joining from another tab or device
 * takes the call over (`elsewhere`); a room closed by the server ends it (`onClosed`). The
 * microphone's failure is kept for the page to explain, with a way to try again.
 *
 * Render `<CallLiveKitRoom link={…} ticket={ticket}>` (call-livekit-room.tsx) once `ticket` is there.
 */
export function useCallConnection(sessionId: string, initialTicket: Ticket | undefined, onClosed: () => void) {
  /** One per (re)join: a new number fetches a new ticket and connects LiveKitRoom afresh. */
  const [connection, setConnection] = useState(0);
  const rejoinsRef = useRef(0);
  const rejoinTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const [lost, setLost] = useState<{ rejoins: number; gaveUp: boolean }>({ rejoins: 0, gaveUp: false });
  const [elsewhere, setElsewhere] = useState(false);
  const [micProblem, setMicProblem] = useState<MicProblem>(null);
  const [room] = useState(
    () =>
      new Room({
        adaptiveStream: true,
        dynacast: true,
        audioCaptureDefaults: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      }),
  );

  const given = connection === 0 ? initialTicket : undefined;
  const join = useQuery({
    queryKey: ['room-join', sessionId, connection],
    queryFn: () => joinRoom(sessionId),
    enabled: given === undefined,
    // A ticket is used once: never fetched again behind the page's back.
    staleTime: Number.POSITIVE_INFINITY,
    // Rejoining while the network is still down: keep trying for a while before asking.
    retry: (failures, err) => connection > 0 && err instanceof ApiError && err.code === 'NETWORK_ERROR' && rejoinsRef.current + failures < AUTO_REJOINS,
    retryDelay: (failures) => 1000 * 2 ** (rejoinsRef.current + failures),
  });
  const ticket = given ?? join.data ?? null;
  const joinError = join.isError && !join.isFetching ? join.error : null;

  const rejoin = useCallback(() => {
    setLost((prev) => ({ ...prev, gaveUp: false }));
    setConnection((n) => n + 1);
  }, []);

  /** The user asks to join again (after the automatic rejoins gave up, a failed join, or from another tab). */
  const rejoinNow = () => {
    if (lost.gaveUp) rejoinsRef.current = 0;
    setElsewhere(false);
    rejoin();
  };

  const closed = useEffectEvent(onClosed);

  // A room lost for good (not closed by us or by the end of the session) is joined again.
  useEffect(() => {
    const onDisconnected = (reason?: DisconnectReason) => {
      if (reason === DisconnectReason.CLIENT_INITIATED) return;
      // The same user joined from another tab or device: that one has the call now.
      if (reason === DisconnectReason.DUPLICATE_IDENTITY) {
        setElsewhere(true);
        return;
      }
      if (reason === DisconnectReason.ROOM_DELETED || reason === DisconnectReason.ROOM_CLOSED) {
        closed();
        return;
      }
      const rejoins = rejoinsRef.current;
      if (rejoins >= AUTO_REJOINS) {
        setLost({ rejoins, gaveUp: true });
        return;
      }
      rejoinsRef.current = rejoins + 1;
      setLost({ rejoins: rejoins + 1, gaveUp: false });
      rejoinTimer.current = setTimeout(rejoin, 1000 * 2 ** rejoins);
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
  }, [room, rejoin]);

  // Stable: LiveKitRoom connects again whenever its onError changes.
  const onMediaDeviceFailure = useCallback((failure?: MediaDeviceFailure) => setMicProblem(micProblemOf(failure)), []);

  async function retryMicrophone() {
    try {
      await room.localParticipant.setMicrophoneEnabled(true);
      setMicProblem(null);
    } catch {
      // onMediaDeviceFailure says what is wrong
    }
  }

  return {
    room,
    connection,
    ticket,
    joinError,
    /** The automatic rejoins gave up: the user is asked to rejoin. */
    lostConnection: lost.gaveUp,
    /** The room was lost and is being joined again. */
    reconnectingAfterLoss: lost.rejoins > 0 && !lost.gaveUp,
    elsewhere,
    micProblem,
    rejoin: rejoinNow,
    retryMicrophone,
    onMediaDeviceFailure,
  };
}

/** A call room's connection as useCallConnection gives it, for the room and the notices about it. */
export type CallConnection = ReturnType<typeof useCallConnection>;
