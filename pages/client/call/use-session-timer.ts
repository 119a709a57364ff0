import { useDataChannel } from '@livekit/components-react';
import { useCallback, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { PACKET_TOPICS, readPacket } from '@hybrid-coach/shared/room-packets';
import type { RoomEvent } from '../../shared/use-room-events';

export interface SessionTimer {
  /** When the session began (both client and AI in the room); null while waiting. */
  startedAt: number | null;
  capMinutes: number | null;
  /** The latest warning: 5 or 1 minutes left (from the Worker's packet, or the clock when it is missed). */
  warning: 5 | 1 | null;
  ended: { reason: string; at: number } | null;
  /** Seconds since start, and left before the cap (null: no cap), at the last tick. */
  elapsedSeconds: number;
  remainingSeconds: number | null;
}

/**
 * The session clock: started/warning/ended packets on `hc.timer` (sent by the server, so participants
 * cannot forge them), with GET /api/rooms/:id as the source of truth on joining, on reconnecting and
 * every 10 s until the clock has started (a packet sent before we joined is not replayed).
 */
export function useSessionTimer(sessionId: string, refreshKey: unknown): [SessionTimer, (event: RoomEvent) => void] {
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const [capMinutes, setCapMinutes] = useState<number | null>(null);
  const [packetWarning, setPacketWarning] = useState<5 | 1 | null>(null);
  /** The cap's instant as the Worker computed it (with a warning): corrects a drifting local clock. */
  const [endsAt, setEndsAt] = useState<number | null>(null);
  const [ended, setEnded] = useState<SessionTimer['ended']>(null);
  const [now, setNow] = useState(() => Date.now());

  useDataChannel(
    PACKET_TOPICS.timer,
    useCallback((msg: { payload: Uint8Array; from?: unknown }) => {
      // Only the server's own packets count (no participant attached; no participant can send one).
      if (msg.from) return;
      const packet = readPacket(PACKET_TOPICS.timer, msg.payload);
      if (!packet) return;
      if (packet.type === 'started') {
        setStartedAt(packet.startedAt);
        setCapMinutes(packet.capMinutes);
      } else if (packet.type === 'warning') {
        setPacketWarning(packet.minutesLeft <= 1 ? 1 : 5);
        setEndsAt(packet.endsAt);
      } else if (packet.type === 'ended') {
        setEnded({ reason: packet.reason, at: packet.endedAt });
      }
    }, []),
  );

  // The same news over the Worker's WebSocket (useRoomEvents): whichever arrives first counts.
  const onRoomEvent = useCallback((event: RoomEvent) => {
    if (event.type === 'started') {
      setStartedAt(event.startedAt);
      setCapMinutes(event.capMinutes);
    } else if (event.type === 'warning') {
      setPacketWarning(event.minutesLeft <= 1 ? 1 : 5);
      setEndsAt(event.endsAt);
    } else if (event.type === 'ended') {
      setEnded({ reason: event.reason, at: event.endedAt });
    } else if (event.type === 'state') {
      setCapMinutes(event.state.timer.capMinutes);
      if (event.state.timer.startedAt !== null) setStartedAt(event.state.timer.startedAt);
      if (event.state.end) setEnded({ reason: event.state.end.reason, at: event.state.end.at });
    }
  }, []);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const state = await call(api.api.rooms[':sessionId'].$get({ param: { sessionId } }));
        if (!live) return;
        setCapMinutes(state.timer.capMinutes);
        if (state.timer.startedAt !== null) setStartedAt(state.timer.startedAt);
        if (state.end) setEnded({ reason: state.end.reason, at: state.end.at });
        if (state.timer.startedAt !== null || state.end) return;
      } catch {
        // The packets still arrive; try again on the next round.
      }
      if (live) timer = setTimeout(poll, 10_000);
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [sessionId, refreshKey]);

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  const elapsedSeconds = startedAt === null ? 0 : Math.max(0, Math.floor((now - startedAt) / 1000));
  const remainingSeconds =
    startedAt === null || capMinutes === null
      ? null
      : endsAt !== null
        ? Math.max(0, Math.ceil((endsAt - now) / 1000))
        : Math.max(0, capMinutes * 60 - elapsedSeconds);
  const clockWarning: 5 | 1 | null = remainingSeconds === null ? null : remainingSeconds <= 60 ? 1 : remainingSeconds <= 300 ? 5 : null;
  const warning = packetWarning === 1 || clockWarning === 1 ? 1 : (packetWarning ?? clockWarning);
  return [{ startedAt, capMinutes, warning, ended, elapsedSeconds, remainingSeconds }, onRoomEvent];
}
