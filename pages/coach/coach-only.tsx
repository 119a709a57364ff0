import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { Outlet, useOutletContext } from 'react-router';
import { clientDashboardUrl } from '../api/config';
import { meQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { RedirectAway } from '../shared/redirect-away';
import { FlagAlerts } from './flag-alerts';
import { isCoachLike, type Me } from './me';

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
  const me = useQuery(meQuery);
  const queries = useQueryClient();
  const setMe = useCallback((next: Me) => queries.setQueryData(meQuery.queryKey, next), [queries]);
  if (me.data === undefined) return <Pending query={me} label="Loading…" what="your account" />;
  // This portal's session is of no use to a client: forget it here, and go to their portal.
  if (!isCoachLike(me.data.role)) return <RedirectAway href={clientDashboardUrl} label="Taking you to your own portal…" forgetSession />;
  return (
    <>
      <FlagAlerts />
      <Outlet context={{ me: me.data, setMe } satisfies CoachContext} />
    </>
  );
}

/** The signed-in coach (or admin), inside CoachOnly. */
export const useCoach = (): Me => useOutletContext<CoachContext>().me;

/** Replaces the signed-in coach everywhere (the greeting, the call room) after PATCH /api/users/me answered it. */
export const useSetCoach = (): ((me: Me) => void) => useOutletContext<CoachContext>().setMe;
