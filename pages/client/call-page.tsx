import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, call, messageOf } from '../api/client';
import { Alert, Button } from '../ui';

/**
 * First version of the call route: the session exists and the AI coach has been dispatched; the
 * LiveKit room (orb, timer, transcript) arrives with the next slice. Ending here ends it for real.
 */
export function CallPage() {
  const { sessionId = '' } = useParams();
  const [state, setState] = useState<'open' | 'ending' | 'ended'>('open');
  const [error, setError] = useState<string | null>(null);

  async function end() {
    setState('ending');
    setError(null);
    try {
      await call(api.api.rooms[':sessionId'].end.$post({ param: { sessionId } }));
      setState('ended');
    } catch (err) {
      setError(messageOf(err));
      setState('open');
    }
  }

  return (
    <div className="hc-card hc-narrow hc-stack" aria-labelledby="call-title">
      <h1 id="call-title">{state === 'ended' ? 'Session ended' : 'Your session'}</h1>
      <p className="hc-muted">
        Session <code data-testid="session-id">{sessionId}</code>
      </p>
      {state === 'ended' ? (
        <>
          <Alert tone="info">
            <p>Thank you. Your session has ended.</p>
          </Alert>
          <Link className="hc-button hc-button-primary" to="/dashboard">
            Back to your dashboard
          </Link>
        </>
      ) : (
        <>
          <Alert tone="info" title="Your room is being prepared">
            <p>The call room is not part of this version of the portal yet. Your AI coach has been invited to the session.</p>
          </Alert>
          {error && (
            <Alert title="We could not end the session">
              <p>{error}</p>
            </Alert>
          )}
          <div className="hc-row">
            <Button variant="secondary" onClick={end} busy={state === 'ending'}>
              End session
            </Button>
            <Link to="/dashboard">Back to your dashboard</Link>
          </div>
        </>
      )}
    </div>
  );
}
