import { ConnectionState } from 'livekit-client';
import { Link } from 'react-router';
import { Alert, Button } from '../ui';
import type { CallConnection } from './use-call-connection';

/** "Your call moved": the same user joined from another tab or device, which has the call now. */
export function CallMoved({ onContinueHere }: { onContinueHere: () => void }) {
  return (
    <section className="hc-card hc-narrow hc-stack" aria-labelledby="elsewhere-title">
      <h1 id="elsewhere-title">Your call moved</h1>
      <Alert tone="info">
        <p>You joined this session from another tab or device, so the call continues there.</p>
      </Alert>
      <div className="hc-row">
        <Button onClick={onContinueHere}>Continue here instead</Button>
        <Link to="/dashboard">Back to your dashboard</Link>
      </div>
    </section>
  );
}

/** What is wrong with the microphone (if anything), in words, and a way to try it again; `listener` is who cannot hear. */
export function MicAlert({ link, listener }: { link: Pick<CallConnection, 'micProblem' | 'retryMicrophone'>; listener: string }) {
  const problem = link.micProblem;
  if (!problem) return null;
  const text =
    problem === 'denied'
      ? `Your browser is blocking the microphone, so ${listener} cannot hear you. Allow microphone access for this site (the icon in the address bar), then try again.`
      : problem === 'missing'
        ? 'We could not find a microphone. Plug one in or choose another in your system settings, then try again.'
        : 'Your microphone could not be started. Close other apps that may be using it, then try again.';
  return (
    <div data-testid="mic-problem" data-problem={problem}>
      <Alert title="We cannot hear you">
        <p>{text}</p>
        <Button variant="secondary" onClick={link.retryMicrophone}>
          Try the microphone again
        </Button>
      </Alert>
    </div>
  );
}

/** The connection's trouble: lost for good (rejoin), being reconnected, or still connecting. */
export function ConnectionAlert({
  state,
  link,
}: {
  state: ConnectionState;
  link: Pick<CallConnection, 'lostConnection' | 'reconnectingAfterLoss' | 'rejoin'>;
}) {
  if (link.lostConnection) {
    return (
      <div data-testid="connection-lost">
        <Alert title="The call was disconnected">
          <p>We could not get you back into the room. Check your connection, then rejoin: your session is still open.</p>
          <Button onClick={link.rejoin}>Rejoin the call</Button>
        </Alert>
      </div>
    );
  }
  if (state === ConnectionState.Reconnecting || state === ConnectionState.SignalReconnecting || link.reconnectingAfterLoss) {
    return (
      <div data-testid="reconnecting">
        <Alert tone="warn" title="Connection lost">
          <p>Reconnecting you to the call… Stay on this page.</p>
        </Alert>
      </div>
    );
  }
  // The status line keeps its place once connected (empty): what is below it (End session, Back to your
  // dashboard) must not move as the call connects, under a pointer about to click it.
  return (
    <p className="hc-muted hc-status-line" role="status">
      {state === ConnectionState.Connecting ? 'Connecting to the room…' : ''}
    </p>
  );
}
