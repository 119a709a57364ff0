import type { FlagEvent } from '@hybrid-coach/shared/staff-events';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { meQuery } from '../shared/queries';
import { Button } from '../ui';
import { FlagActions, useRefreshFlags } from './flag-actions';
import { flagQuery, loadFlags, useStaffEvents } from './flags';

/** An alert on screen: the event that raised it, and when it arrived (to tell it from what a reload missed). */
interface Shown {
  event: FlagEvent;
  arrivedAt: number;
}

/**
 * The live crisis alert on every coach portal page: a flag raised (or reopened) anywhere shows here within
 * a second (pushed by the staff desk, not polled), with the way to acknowledge it. It goes when someone
 * takes or closes the flag, here or in another coach's portal (the desk pushes every change), or when it
 * is dismissed. Every flag change also refreshes the dashboard, and so does a reconnect, which also drops
 * the alerts of flags that stopped being open while the socket was down.
 */
export function FlagAlerts() {
  const refresh = useRefreshFlags();
  // From the cache CoachOnly fills (this sits beside its outlet, outside useCoach()'s reach).
  const me = useQuery(meQuery).data;
  const [shown, setShown] = useState<Shown[]>([]);
  const drop = (sessionId: string) => setShown((all) => all.filter((s) => s.event.sessionId !== sessionId));
  const live = useStaffEvents((event) => {
    void refresh();
    // Raised, or open again by someone else's hand (reopened, or its owner disabled or made a client): a coach is wanted.
    if (event.action === 'raise' || (event.action === 'reopen' && event.actor?.id !== me?.id)) {
      setShown((all) => [{ event, arrivedAt: Date.now() }, ...all.filter((s) => s.event.sessionId !== event.sessionId)].slice(0, 5));
    }
    // Someone has it now, or it was closed: the alert has done its work.
    else drop(event.sessionId);
  });
  // Connected (again): read what may have changed while the socket was down.
  useEffect(() => {
    if (!live) return;
    void refresh();
    const asked = Date.now();
    loadFlags()
      .then(({ flags }) => {
        const open = new Set(flags.filter((f) => f.state === 'OPEN').map((f) => f.sessionId));
        setShown((all) => all.filter((s) => s.arrivedAt > asked || open.has(s.event.sessionId)));
      })
      // Not read: the alerts stay until the next change or reconnect.
      .catch(() => undefined);
  }, [live, refresh]);

  return (
    <div className="hc-flag-alerts">
      <p className="hc-muted hc-small hc-live-status" data-testid="staff-live" data-open={live}>
        {live ? 'Live crisis alerts on' : 'Connecting live crisis alerts…'}
      </p>
      {shown.map(({ event: e }) => (
        <div
          key={e.sessionId}
          className="hc-alert hc-alert-error hc-stack"
          role="alert"
          data-testid="flag-alert"
          data-session-id={e.sessionId}
          data-action={e.action}
        >
          <p>
            <strong>
              {e.action === 'reopen' ? 'A flag is open again, with no coach on it' : 'A session was just flagged'}: {e.clientName || 'a client'}.
            </strong>{' '}
            <AlertReason sessionId={e.sessionId} generic={e.reason} />
          </p>
          <FlagActions flag={{ sessionId: e.sessionId, state: e.state, owner: e.owner }} />
          <p className="hc-row">
            <Link to="/dashboard">See it on your dashboard</Link>
            <Button variant="secondary" onClick={() => drop(e.sessionId)}>
              Dismiss
            </Button>
          </p>
        </div>
      ))}
    </div>
  );
}

/**
 * Why the flag was raised. The pushed alert, which every signed-in coach hears, never quotes the client:
 * the flag is read for it, and the Worker answers the client's words only to who may read the transcript.
 */
function AlertReason({ sessionId, generic }: { sessionId: string; generic: string }) {
  const flag = useQuery(flagQuery(sessionId)).data;
  return <span data-testid="flag-alert-reason">{flag?.reason ?? generic}</span>;
}
