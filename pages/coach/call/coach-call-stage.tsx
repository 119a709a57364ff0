import { useConnectionState, useLocalParticipant, useTracks } from '@livekit/components-react';
import { ConnectionState, Track } from 'livekit-client';
import type { Room } from 'livekit-client';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, api, call, messageOf } from '../../api/client';
import { Orb } from '../../shared/orb';
import { type RoomEvent, useRoomEvents } from '../../shared/use-room-events';
import { Alert, Button, TextArea, formatClock } from '../../ui';
import { ClientSidebar } from '../client-sidebar';
import { useCoach } from '../coach-only';
import { reviewPath } from '../sessions';
import { type LiveLine, LiveTranscript } from './live-transcript';

const loadState = (sessionId: string) => call(api.api.rooms[':sessionId'].$get({ param: { sessionId } }));
type RoomState = Awaited<ReturnType<typeof loadState>>;

/** How often the room's state is read again (time left, whether the AI applied a mute). */
const STATE_POLL_MS = 2_000;

/**
 * The connected coach: the AI control panel (hear / not hear, whisper), the live transcript with a
 * mark on each line the AI did not hear, the client data sidebar beside it, who is in the room and
 * the time left; leave without ending, or end the session for everyone.
 */
export function CoachCallStage({ sessionId, room }: { sessionId: string; room: Room }) {
  const coach = useCoach();
  const navigate = useNavigate();
  const connection = useConnectionState();
  const { localParticipant, isMicrophoneEnabled } = useLocalParticipant();
  const [state, setState] = useState<RoomState | null>(null);
  const [lines, setLines] = useState<LiveLine[]>([]);
  const [flag, setFlag] = useState<string | null>(null);
  const [clientId, setClientId] = useState<string | null>(null);
  const [ended, setEnded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [muteBusy, setMuteBusy] = useState(false);
  const [ending, setEnding] = useState(false);
  const agentTrack = useTracks([Track.Source.Microphone, Track.Source.Unknown], { onlySubscribed: true }).find(
    (t) => t.participant.isAgent && t.publication.kind === Track.Kind.Audio,
  );

  const addLines = useCallback((more: LiveLine[]) => {
    setLines((prev) => {
      const known = new Set(prev.map((l) => l.id));
      return [...prev, ...more.filter((l) => !known.has(l.id))].sort((a, b) => a.spokenAt - b.spokenAt);
    });
  }, []);

  // What was said before this page opened (whispers and heard-marks included: the coach's view).
  useEffect(() => {
    let live = true;
    call(api.api.sessions[':id'].$get({ param: { id: sessionId } })).then(
      (s) => {
        if (!live) return;
        setClientId(s.clientId);
        if (s.flag) setFlag(s.flag.reason);
        addLines(
          s.transcript.map((l) => ({
            id: l.id,
            speakerRole: l.speakerRole,
            speakerIdentity: l.speakerIdentity,
            text: l.text,
            heardByAi: l.heardByAi,
            whisper: l.kind === 'whisper',
            spokenAt: Date.parse(l.spokenAt),
          })),
        );
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [sessionId, addLines]);

  useEffect(() => {
    let live = true;
    const read = () =>
      loadState(sessionId).then(
        (s) => {
          if (!live) return;
          setState(s);
          if (s.status === 'COMPLETED') setEnded(true);
        },
        () => undefined,
      );
    void read();
    const timer = setInterval(read, STATE_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [sessionId]);

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
        setState((s) => (s ? { ...s, coachMutedFromAi: event.muted, muteAppliedByAi: false } : s));
      } else if (event.type === 'flagged') {
        setFlag(event.reason);
      } else if (event.type === 'ended') {
        setEnded(true);
      }
    },
    [addLines],
  );
  useRoomEvents(sessionId, onEvent);

  async function setMuted(muted: boolean) {
    setMuteBusy(true);
    setError(null);
    try {
      setState(await call(api.api.rooms[':sessionId']['mute-ai'].$post({ param: { sessionId }, json: { muted } })));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setMuteBusy(false);
    }
  }

  function leave() {
    void room.disconnect();
    navigate('/dashboard');
  }

  async function end() {
    setEnding(true);
    setError(null);
    try {
      await call(api.api.rooms[':sessionId'].end.$post({ param: { sessionId } }));
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONFLICT')) {
        setError(messageOf(err));
        setEnding(false);
        return;
      }
    }
    void room.disconnect();
    navigate(reviewPath(sessionId), { replace: true });
  }

  const muted = state?.coachMutedFromAi ?? false;
  const aiInRoom = state?.participants.some((p) => p.role === 'ai') ?? false;
  const clientInRoom = state?.participants.some((p) => p.role === 'client') ?? false;

  if (ended) {
    return (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="ended-title">
        <h1 id="ended-title">Session ended</h1>
        <Alert tone="info">
          <p>This session is over.</p>
        </Alert>
        <Button onClick={() => navigate(reviewPath(sessionId))}>Review the session</Button>
      </section>
    );
  }

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
      {flag && (
        <Alert title="Flagged for follow-up">
          <p>{flag}</p>
        </Alert>
      )}
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
              onClick={() => void setMuted(!muted)}
              disabled={muteBusy || !state}
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
              <Button className="hc-button-danger" onClick={() => void end()} busy={ending}>
                {ending ? 'Ending…' : 'End session for everyone'}
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
      onSent({ id: sent.id, speakerRole: 'coach', speakerIdentity: coach.id, text: sent.text, heardByAi: true, whisper: true, spokenAt: Date.parse(sent.sentAt) });
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
