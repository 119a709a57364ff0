import { useEffect } from 'react';
import { sessionToken } from '../api/client';
import { Loading } from '../ui';

/**
 * Leaves this portal for `href` (another portal), saying so meanwhile. `forgetSession`: this
 * portal's session is of no use to the user, so its token is dropped first.
 */
export function RedirectAway({ href, label, forgetSession = false }: { href: string; label: string; forgetSession?: boolean }) {
  useEffect(() => {
    if (forgetSession) sessionToken.clear();
    window.location.replace(href);
  }, [href, forgetSession]);
  return <Loading label={label} />;
}
