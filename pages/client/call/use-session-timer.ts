import { PACKET_TOPICS, readPacket, type TimerPacket } from '@hybrid-coach/shared/room-packets';
import { useDataChannel } from '@livekit/components-react';
import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useReducer, useState } from 'react';
import { loadRoomState } from '../../shared/queries';
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

/** What the server said of the clock, by packet or WebSocket event (they share one shape): the latest of each. */
interface ClockNews {
  startedAt: number | null;
  capMinutes: number | null;
  warning: 5 | 1 | null;
  /** The cap's instant as the Worker computed it (with a warning): corrects a drifting local clock. */
  endsAt: number | null;
  ended: SessionTimer['ended'];
}

function withNews(news: ClockNews, told: TimerPacket): ClockNews {
  if (told.type === 'started') return { ...news, startedAt: told.startedAt, capMinutes: told.capMinutes };
  if (told.type === 'warning') return { ...news, warning: told.minutesLeft <= 1 ? 1 : 5, endsAt: told.endsAt };
  return { ...news, ended: { reason: told.reason, at: told.endedAt } };
}

const NO_NEWS: ClockNews = { startedAt: null, capMinutes: null, warning: null, endsAt: null, ended: null };

/**
 * The session clock: started/warning/ended packets on `hc.timer` (sent by the server, so participants
 * cannot forge them) and the same news over the Worker's WebSocket, whichever arrives first; GET
 * /api/rooms/:id is the source of truth on joining, on reconnecting (`refreshKey`) and every 10 s
 * until the clock has started (a packet sent before we joined is not replayed).
 */
export function useSessionTimer(sessionId: string, refreshKey: unknown): [SessionTimer, (event: RoomEvent) => void] {
  const [news, tell] = useReducer(withNews, NO_NEWS);
  const [now, setNow] = useState(() => Date.now());

  useDataChannel(
    PACKET_TOPICS.timer,
    useCallback((msg: { payload: Uint8Array; from?: unknown }) => {
      // Only the server's own packets count (no participant attached; no participant can send one).
      if (msg.from) return;
      const packet = readPacket(PACKET_TOPICS.timer, msg.payload);
      if (packet) tell(packet);
      else console.warn('timer packet ignored: not in the contract');
    }, []),
  );

  const onRoomEvent = useCallback((event: RoomEvent) => {
    if (event.type === 'started' || event.type === 'warning' || event.type === 'ended') tell(event);
    else if (event.type === 'state') {
      const { timer, end } = event.state;
      if (timer.startedAt !== null) tell({ type: 'started', startedAt: timer.startedAt, capMinutes: timer.capMinutes });
      if (end) tell({ type: 'ended', reason: end.reason, endedAt: end.at });
    }
  }, []);

  const polled = useQuery({
    queryKey: ['room-state', sessionId, refreshKey],
    queryFn: () => loadRoomState(sessionId),
    // The packets still arrive meanwhile; a failed read is tried again on the next round.
    refetchInterval: (q) => (q.state.data && (q.state.data.timer.startedAt !== null || q.state.data.end) ? false : 10_000),
    refetchIntervalInBackground: true,
  }).data;

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  const startedAt = news.startedAt ?? polled?.timer.startedAt ?? null;
  const capMinutes = news.capMinutes ?? polled?.timer.capMinutes ?? null;
  const ended = news.ended ?? (polled?.end ? { reason: polled.end.reason, at: polled.end.at } : null);
  const { endsAt, warning: packetWarning } = news;
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
