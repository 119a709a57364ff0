import { useConnectionState, useLocalParticipant, useTracks } from '@livekit/components-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ConnectionState, Track } from 'livekit-client';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, api, call, messageOf } from '../../api/client';
import { useAction } from '../../shared/action';
import { ConnectionAlert, MicAlert } from '../../shared/call-notices';
import { Orb } from '../../shared/orb';
import { type RoomState, roomStateQuery, sessionQuery } from '../../shared/queries';
import type { CallConnection } from '../../shared/use-call-connection';
import { type RoomEvent, useRoomEvents } from '../../shared/use-room-events';
import { Alert, Button, formatClock, Notice, TextArea } from '../../ui';
import { ClientSidebar } from '../client-sidebar';
import { useCoach } from '../coach-only';
import { reviewPath } from '../sessions';
import { type LiveLine, LiveTranscript } from './live-transcript';

/** How often the room's state is read again (time left, whether the AI applied a mute). */
const STATE_POLL_MS = 2_000;

/** Lines in the order they were spoken, each once (a line may come from the load and the WebSocket both). */
function merged(...parts: LiveLine[][]): LiveLine[] {
  const byId = new Map(parts.flat().map((l) => [l.id, l]));
  return [...byId.values()].sort((a, b) => a.spokenAt - b.spokenAt);
}

/**
 * The connected coach: the AI control panel (hear / not hear, whisper), the live transcript with a
 * mark on each line the AI did not hear, the client data sidebar beside it, who is in the room and
 * the time left; leave without ending, or end the session for everyone. Connection and microphone
 * problems are shown above it all (from useCallConnection, as in the client's room).
 */
export function CoachCallStage(props: { sessionId: string; link: CallConnection; onEnded: () => void }) {
  const { sessionId, link, onEnded } = props;
  const { room } = link;
  const coach = useCoach();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const connection = useConnectionState();
  const { localParticipant, isMicrophoneEnabled } = useLocalParticipant();
  // What was said before this page opened (whispers and heard-marks included: the coach's view).
  const session = useQuery(sessionQuery(sessionId)).data;
  const state = useQuery({ ...roomStateQuery(sessionId), refetchInterval: STATE_POLL_MS, refetchIntervalInBackground: true }).data ?? null;
  const setState = useCallback(
    (change: (s: RoomState) => RoomState) => queries.setQueryData(roomStateQuery(sessionId).queryKey, (s) => (s ? change(s) : s)),
    [queries, sessionId],
  );
  const [pushed, setPushed] = useState<LiveLine[]>([]);
  const [pushedFlag, setFlag] = useState<string | null>(null);
  const agentTrack = useTracks([Track.Source.Microphone, Track.Source.Unknown], { onlySubscribed: true }).find(
    (t) => t.participant.isAgent && t.publication.kind === Track.Kind.Audio,
  );

  const loaded: LiveLine[] = (session?.transcript ?? []).map((l) => ({
    id: l.id,
    speakerRole: l.speakerRole,
    speakerIdentity: l.speakerIdentity,
    text: l.text,
    heardByAi: l.heardByAi,
    whisper: l.kind === 'whisper',
    spokenAt: Date.parse(l.spokenAt),
  }));
  const lines = merged(pushed, loaded);
  const flag = pushedFlag ?? session?.flag?.reason ?? null;
  const clientId = session?.clientId ?? null;
  const addLines = useCallback((more: LiveLine[]) => setPushed((prev) => [...prev, ...more]), []);

  const completed = state?.status === 'COMPLETED';
  useEffect(() => {
    if (completed) onEnded();
  }, [completed, onEnded]);

  const onEvent = useCallback(
    (event: RoomEvent) => {
      if (event.type === 'transcript') {
        const l = event.line;
        addLines([
          {
            id: l.id,
            speakerRole: l.speakerRole,
            speakerIdentity: l.speakerIdentity ?? '',
            text: l.text,
            heardByAi: l.heardByAi ?? true,
            whisper: l.kind === 'whisper',
            spokenAt: l.spokenAt,
          },
        ]);
      } else if (event.type === 'mute') {
        setState((s) => ({ ...s, coachMutedFromAi: event.muted, muteAppliedByAi: false }));
      } else if (event.type === 'flagged') {
        setFlag(event.reason);
      } else if (event.type === 'ended') {
        onEnded();
      }
    },
    [addLines, setState, onEnded],
  );
  useRoomEvents(sessionId, onEvent);

  const mute = useAction(async (muted: boolean) => {
    const next = await call(api.api.rooms[':sessionId']['mute-ai'].$post({ param: { sessionId }, json: { muted } }));
    setState(() => next);
  });
  const end = useAction(async () => {
    try {
      await call(api.api.rooms[':sessionId'].end.$post({ param: { sessionId } }));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONFLICT')) throw err;
    }
    void room.disconnect();
    navigate(reviewPath(sessionId), { replace: true });
  });
  // One line of trouble: whichever change was tried last.
  const error = mute.error ?? end.error;

  function leave() {
    void room.disconnect();
    navigate('/dashboard');
  }

  const muted = state?.coachMutedFromAi ?? false;
  const aiInRoom = state?.participants.some((p) => p.role === 'ai') ?? false;
  const clientInRoom = state?.participants.some((p) => p.role === 'client') ?? false;

  return (
    <div className="hc-stack">
      <div className="hc-row hc-row-between">
        <h1>Live session</h1>
        <span className="hc-row hc-muted" data-testid="call-status">
          <span>{connection === ConnectionState.Connected ? 'Connected' : connection === ConnectionState.Connecting ? 'Connecting…' : 'Reconnecting…'}</span>
          <span>· Client {clientInRoom ? 'in the room' : 'not in the room'}</span>
          <span>· AI {aiInRoom ? 'in the room' : 'not in the room'}</span>
          {state?.timer.remainingSeconds != null && <span className="hc-timer-small">· {formatClock(state.timer.remainingSeconds)} left</span>}
        </span>
      </div>
      <ConnectionAlert state={connection} link={link} />
      <MicAlert link={link} listener="the client" />
      <Notice text={flag} title="Flagged for follow-up" />
      {error && <Alert>{error}</Alert>}
      <div className="hc-call-room">
        <div className="hc-call-transcript">
          <LiveTranscript lines={lines} coachId={coach.id} />
        </div>
        <div className="hc-call-client">{clientId && <ClientSidebar clientId={clientId} variant="call" liveSessionId={sessionId} />}</div>
        <div className="hc-stack hc-call-controls">
          <section className="hc-card hc-stack" aria-labelledby="ai-control-title" data-testid="ai-control">
            <h2 id="ai-control-title">AI control</h2>
            <div className="hc-orb-observer">
              <Orb trackRef={agentTrack} label={!aiInRoom ? 'not in the room' : agentTrack ? 'in the room' : 'in the room, silent'} />
            </div>
            <button
              type="button"
              role="switch"
              aria-checked={!muted}
              className={`hc-hear-toggle ${muted ? 'hc-hear-off' : 'hc-hear-on'}`}
              onClick={() => {
                end.clear();
                mute.run(!muted);
              }}
              disabled={mute.busy || !state}
              data-testid="ai-hear-toggle"
            >
              <span className="hc-hear-icon" aria-hidden="true">
                {muted ? 'OFF' : 'ON'}
              </span>
              <span className="hc-hear-label">{muted ? 'AI cannot hear me' : 'AI can hear me'}</span>
              <span className="hc-hear-hint">{muted ? 'Tap to let the AI hear you again' : 'Tap to speak to the client without the AI'}</span>
            </button>
            <p className="hc-small" role="status" data-testid="mute-applied">
              {state?.muteAppliedByAi
                ? muted
                  ? 'The AI confirmed: it no longer hears you.'
                  : 'The AI confirmed: it hears you.'
                : aiInRoom
                  ? 'Waiting for the AI to confirm…'
                  : 'No AI in the room right now: it follows this setting when it joins.'}
            </p>
            <WhisperBox sessionId={sessionId} onSent={(line) => addLines([line])} />
          </section>
          <section className="hc-card hc-stack" aria-label="Your call">
            <div className="hc-row">
              <Button variant="secondary" onClick={() => void localParticipant.setMicrophoneEnabled(!isMicrophoneEnabled)}>
                {isMicrophoneEnabled ? 'Mute my microphone' : 'Unmute my microphone'}
              </Button>
            </div>
            <div className="hc-row">
              <Button variant="secondary" onClick={leave}>
                Leave (session continues)
              </Button>
              <Button
                className="hc-button-danger"
                onClick={() => {
                  mute.clear();
                  end.run();
                }}
                busy={end.busy}
                busyLabel="Ending…"
              >
                End session for everyone
              </Button>
            </div>
          </section>
        </div>
      </div>
    </div>
  );
}

function WhisperBox({ sessionId, onSent }: { sessionId: string; onSent: (line: LiveLine) => void }) {
  const coach = useCoach();
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ tone: 'error' | 'info'; text: string } | null>(null);

  async function send(e: FormEvent) {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setNote(null);
    try {
      const sent = await call(api.api.rooms[':sessionId'].whisper.$post({ param: { sessionId }, json: { text } }));
      onSent({
        id: sent.id,
        speakerRole: 'coach',
        speakerIdentity: coach.id,
        text: sent.text,
        heardByAi: true,
        whisper: true,
        spokenAt: Date.parse(sent.sentAt),
      });
      setText('');
      setNote({
        tone: 'info',
        text: sent.deliveredToAi ? 'Sent to the AI privately.' : 'Saved: the AI reads it when it joins the room.',
      });
    } catch (err) {
      setNote({ tone: 'error', text: messageOf(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="hc-stack" onSubmit={send} data-testid="whisper-box">
      <TextArea
        label="Whisper to the AI"
        name="whisper"
        hint="A private instruction: the AI follows it, never says it; the client never sees it."
        value={text}
        onChange={(e) => setText(e.target.value)}
        maxLength={2000}
      />
      {note && <Alert tone={note.tone}>{note.text}</Alert>}
      <div>
        <Button type="submit" variant="secondary" busy={busy}>
          Send whisper
        </Button>
      </div>
    </form>
  );
}
