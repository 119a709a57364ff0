import type { FlagEvent } from '@hybrid-coach/shared/staff-events';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { Button } from '../ui';
import { FlagActions, useRefreshFlags } from './flag-actions';
import { useStaffEvents } from './flags';

/**
 * The live crisis alert on every coach portal page: a flag raised anywhere shows here within a second
 * (pushed by the staff desk, not polled), with the way to acknowledge it; it goes when someone takes it or
 * it is dismissed. Every flag change also refreshes the dashboard, and so does a reconnect (what was missed).
 */
export function FlagAlerts() {
  const refresh = useRefreshFlags();
  const [raised, setRaised] = useState<FlagEvent[]>([]);
  const live = useStaffEvents((event) => {
    void refresh();
    if (event.action === 'raise') setRaised((shown) => [event, ...shown.filter((e) => e.sessionId !== event.sessionId)].slice(0, 5));
    // Someone has it now (or it was closed): the alert has done its work.
    else if (event.state !== 'OPEN') setRaised((shown) => shown.filter((e) => e.sessionId !== event.sessionId));
  });
  // Connected (again): read what may have changed while the socket was down.
  useEffect(() => {
    if (live) void refresh();
  }, [live, refresh]);

  return (
    <div className="hc-flag-alerts">
      <p className="hc-muted hc-small hc-live-status" data-testid="staff-live" data-open={live}>
        {live ? 'Live crisis alerts on' : 'Connecting live crisis alerts…'}
      </p>
      {raised.map((e) => (
        <div key={e.sessionId} className="hc-alert hc-alert-error hc-stack" role="alert" data-testid="flag-alert" data-session-id={e.sessionId}>
          <p>
            <strong>A session was just flagged: {e.clientName || 'a client'}.</strong> {e.reason}
          </p>
          <FlagActions flag={{ sessionId: e.sessionId, state: e.state, owner: e.owner }} />
          <p className="hc-row">
            <Link to="/dashboard">See it on your dashboard</Link>
            <Button variant="secondary" onClick={() => setRaised((shown) => shown.filter((x) => x.sessionId !== e.sessionId))}>
              Dismiss
            </Button>
          </p>
        </div>
      ))}
    </div>
  );
}
