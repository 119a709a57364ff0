import { useConnectionState, useIsSpeaking, useLocalParticipant, useRemoteParticipants, useTracks } from '@livekit/components-react';
import type { Participant } from 'livekit-client';
import { ConnectionState, Track } from 'livekit-client';
import { useCallback, useEffect, useId, useState } from 'react';
import { Link } from 'react-router';
import { ConnectionAlert, MicAlert } from '../../shared/call-notices';
import { Orb } from '../../shared/orb';
import type { CallConnection } from '../../shared/use-call-connection';
import type { RoomEvent } from '../../shared/use-room-events';
import { useRoomEvents } from '../../shared/use-room-events';
import { Alert, Button, formatClock, Notice } from '../../ui';
import { TranscriptPanel } from './transcript-panel';
import { useParticipantAttribute } from './use-attribute';
import type { SessionTimer } from './use-session-timer';
import { useSessionTimer } from './use-session-timer';
import type { TranscriptEntry } from './use-transcript';
import { useTranscript } from './use-transcript';
import { WaitingRoom } from './waiting-room';

/** What the AI is doing, from its `lk.agent.state` attribute (set by LiveKit agents), in words. */
const AGENT_STATE: Record<string, string> = {
  initializing: 'Getting ready',
  listening: 'Listening',
  thinking: 'Thinking',
  speaking: 'Speaking',
};

const isCoach = (p: Participant) => p.attributes.role === 'coach';

/**
 * Inside the connected room: the waiting room until the AI coach's voice arrives (or the client goes
 * in), then the call: the orb, the coach's tile, the timer with its warnings, the transcript, and the
 * controls. Connection and microphone problems are shown above both.
 */
export function CallStage(props: {
  sessionId: string;
  link: CallConnection;
  trackUrl: string | null;
  onEnd: () => void;
  ending: boolean;
  endError: string | null;
  onEnded: (reason: string) => void;
}) {
  const { sessionId, onEnded } = props;
  const connection = useConnectionState();
  const { localParticipant, isMicrophoneEnabled } = useLocalParticipant();
  const remotes = useRemoteParticipants();
  const agent = remotes.find((p) => p.isAgent);
  const coach = remotes.find(isCoach);
  const agentTrack = useTracks([Track.Source.Microphone, Track.Source.Unknown], { onlySubscribed: true }).find(
    (t) => t.participant.isAgent && t.publication.kind === Track.Kind.Audio,
  );
  const [timer, onTimerEvent] = useSessionTimer(sessionId, connection === ConnectionState.Connected);
  const roleOf = (identity: string): TranscriptEntry['role'] => {
    if (identity === localParticipant.identity) return 'client';
    const p = remotes.find((r) => r.identity === identity);
    return p && isCoach(p) ? 'coach' : 'ai';
  };
  const transcript = useTranscript(sessionId, roleOf);
  const { addStored } = transcript;
  const onRoomEvent = useCallback(
    (event: RoomEvent) => {
      onTimerEvent(event);
      if (event.type === 'transcript') addStored(event.line);
    },
    [onTimerEvent, addStored],
  );
  const eventsOpen = useRoomEvents(sessionId, onRoomEvent);

  useEffect(() => {
    if (timer.ended) onEnded(timer.ended.reason);
  }, [timer.ended, onEnded]);

  const [entered, setEntered] = useState(false);
  const inCall = entered || agentTrack !== undefined || timer.startedAt !== null;
  const [showTranscript, setShowTranscript] = useState(true);
  const transcriptId = useId();
  const [muteBusy, setMuteBusy] = useState(false);

  async function toggleMute() {
    setMuteBusy(true);
    try {
      await localParticipant.setMicrophoneEnabled(!isMicrophoneEnabled);
    } finally {
      setMuteBusy(false);
    }
  }

  const micAlert = props.link.micProblem && <MicAlert link={props.link} listener="your coach" />;

  return (
    <div
      className="hc-stack"
      data-testid="call-room"
      data-phase={inCall ? 'call' : 'waiting'}
      data-connection={connection}
      data-events={eventsOpen ? 'open' : 'closed'}
    >
      <ConnectionAlert state={connection} link={props.link} />
      {inCall && micAlert}
      <Notice text={props.endError} title="We could not end the session" />
      {inCall ? (
        <div className="hc-call">
          <section className="hc-card hc-call-stage" aria-labelledby="call-title">
            <h1 id="call-title" className="hc-visually-hidden">
              Your session
            </h1>
            <Orb trackRef={agentTrack} label={agentLabel(agent, agentTrack !== undefined)} />
            <AgentState participant={agent} hasVoice={agentTrack !== undefined} />
            <Timer timer={timer} />
            {coach && <CoachTile participant={coach} />}
            <Controls
              muted={!isMicrophoneEnabled}
              muteBusy={muteBusy}
              onToggleMute={toggleMute}
              showTranscript={showTranscript}
              onToggleTranscript={() => setShowTranscript((v) => !v)}
              transcriptId={transcriptId}
              onEnd={props.onEnd}
              ending={props.ending}
            />
          </section>
          {showTranscript ? <TranscriptPanel id={transcriptId} entries={transcript.entries} /> : <div id={transcriptId} hidden />}
        </div>
      ) : (
        <>
          <WaitingRoom trackUrl={props.trackUrl} onEnter={() => setEntered(true)} micProblem={micAlert || null} />
          <div className="hc-row">
            <Button variant="secondary" onClick={props.onEnd} busy={props.ending} busyLabel={'Ending…'}>
              End session
            </Button>
            <Link to="/dashboard">Back to your dashboard</Link>
          </div>
        </>
      )}
      <SessionReference sessionId={sessionId} />
    </div>
  );
}

/** The session's id, small, for support questions. */
export function SessionReference({ sessionId }: { sessionId: string }) {
  return (
    <p className="hc-muted hc-small">
      Session reference <code data-testid="session-id">{sessionId}</code>
    </p>
  );
}

function agentLabel(agent: Participant | undefined, hasVoice: boolean): string {
  if (!agent) return 'not in the room yet';
  return hasVoice ? 'in the room' : 'joining';
}

function AgentState({ participant, hasVoice }: { participant: Participant | undefined; hasVoice: boolean }) {
  if (!participant) {
    return (
      <p className="hc-orb-label" role="status" aria-live="polite" data-testid="agent-state" data-state="absent">
        Your AI coach is joining
      </p>
    );
  }
  return <PresentAgentState participant={participant} hasVoice={hasVoice} />;
}

function PresentAgentState({ participant, hasVoice }: { participant: Participant; hasVoice: boolean }) {
  const state = useParticipantAttribute(participant, 'lk.agent.state');
  const speaking = useIsSpeaking(participant);
  // Agents without the attribute: LiveKit's own speaking detection says enough.
  const key = state ?? (speaking ? 'speaking' : hasVoice ? 'listening' : 'initializing');
  return (
    <p className="hc-orb-label" role="status" aria-live="polite" data-testid="agent-state" data-state={key}>
      {AGENT_STATE[key] ?? 'Listening'}
    </p>
  );
}

function Timer({ timer }: { timer: SessionTimer }) {
  const { startedAt, remainingSeconds, elapsedSeconds, warning } = timer;
  return (
    <div className="hc-stack" style={{ alignItems: 'center' }}>
      <div role="group" data-testid="session-timer" data-started={startedAt !== null} aria-label="Session time">
        {startedAt === null ? (
          <span className="hc-muted">The clock starts when your coach joins.</span>
        ) : (
          <>
            <span className="hc-timer" role="timer" aria-label={`${Math.floor(elapsedSeconds / 60)} minutes in`}>
              {formatClock(elapsedSeconds)}
            </span>
            {remainingSeconds !== null && <span className="hc-muted"> · {formatClock(remainingSeconds)} left</span>}
          </>
        )}
      </div>
      {warning && (
        <div data-testid="timer-warning">
          <Alert tone="warn">
            <p>{warning === 1 ? 'One minute left. Time to bring the session to a close.' : 'Five minutes left in this session.'}</p>
          </Alert>
        </div>
      )}
    </div>
  );
}

function CoachTile({ participant }: { participant: Participant }) {
  const speaking = useIsSpeaking(participant);
  const name = participant.name || 'Your coach';
  const initials = name
    .split(/\s+/)
    .map((w) => w[0] ?? '')
    .join('')
    .slice(0, 2)
    .toUpperCase();
  return (
    <div className="hc-coach-tile" data-speaking={speaking} data-testid="coach-tile">
      <span className="hc-coach-avatar" aria-hidden="true">
        {initials}
      </span>
      <div>
        <strong>{name}</strong>
        <div className="hc-muted">Your human coach{speaking ? ' · speaking' : ''}</div>
      </div>
    </div>
  );
}

function Controls(props: {
  muted: boolean;
  muteBusy: boolean;
  onToggleMute: () => void;
  showTranscript: boolean;
  onToggleTranscript: () => void;
  transcriptId: string;
  onEnd: () => void;
  ending: boolean;
}) {
  return (
    <div className="hc-controls" role="group" aria-label="Call controls">
      <Button variant="secondary" onClick={props.onToggleMute} busy={props.muteBusy} aria-pressed={props.muted}>
        {props.muted ? 'Unmute microphone' : 'Mute microphone'}
      </Button>
      <Button variant="secondary" onClick={props.onToggleTranscript} aria-expanded={props.showTranscript} aria-controls={props.transcriptId}>
        {props.showTranscript ? 'Hide transcript' : 'Show transcript'}
      </Button>
      <Button onClick={props.onEnd} busy={props.ending} busyLabel={'Ending…'}>
        End session
      </Button>
    </div>
  );
}
