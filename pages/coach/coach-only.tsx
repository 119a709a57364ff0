import { useEffect } from 'react';
import { Outlet, useOutletContext } from 'react-router';
import { sessionToken } from '../api/client';
import { clientDashboardUrl } from '../api/config';
import { LoadFailed } from '../shared/load-failed';
import { useLoad } from '../shared/use-load';
import { Loading } from '../ui';
import { type Me, isCoachLike, loadMe } from './me';

/** What CoachOnly hands the pages below: the coach, and a way to replace it after a change (settings). */
interface CoachContext {
  me: Me;
  setMe: (me: Me) => void;
}

/**
 * Every coach route sits behind this: the signed-in user is read once, a client is sent to their own
 * portal (the API would refuse them anyway), and the pages below get the coach from `useCoach()`.
 */
export function CoachOnly() {
  const [me, retry, setMe] = useLoad(loadMe);
  const client = me.state === 'ready' && !isCoachLike(me.data.role);
  useEffect(() => {
    if (!client) return;
    // This portal's session is of no use to a client: forget it here, and go to their portal.
    sessionToken.clear();
    window.location.replace(clientDashboardUrl);
  }, [client]);

  if (me.state === 'loading') return <Loading label="Loading…" />;
  if (me.state === 'failed') return <LoadFailed error={me.error} what="your account" retry={retry} />;
  if (client) return <Loading label="Taking you to your own portal…" />;
  return <Outlet context={{ me: me.data, setMe } satisfies CoachContext} />;
}

/** The signed-in coach (or admin), inside CoachOnly. */
export const useCoach = (): Me => useOutletContext<CoachContext>().me;

/** Replaces the signed-in coach everywhere (the greeting, the call room) after PATCH /api/users/me answered it. */
export const useSetCoach = (): ((me: Me) => void) => useOutletContext<CoachContext>().setMe;
