import { useEffect, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { api, call, messageOf, sessionToken } from '../api/client';
import { clientDashboardUrl, publicLoginUrl } from '../api/config';
import { ButtonLink, ErrorState, Loading } from '../ui';
import { isCoachLike } from './me';

/**
 * A grant is single use: one exchange per grant per page load, even when React runs the effect
 * twice (StrictMode) or the component remounts. Answers whether the user belongs in this portal.
 */
const exchanges = new Map<string, Promise<boolean>>();
function exchangeOnce(grant: string): Promise<boolean> {
  let pending = exchanges.get(grant);
  if (!pending) {
    pending = call(api.api.auth.exchange.$post({ json: { grant } })).then(({ token, user }) => {
      if (!isCoachLike(user.role)) return false;
      sessionToken.set(token);
      return true;
    });
    exchanges.set(grant, pending);
  }
  return pending;
}

/** Lands here from the public sign-in with `?grant=`: a coach goes on to the dashboard, a client to their own portal. */
export function AuthCallbackPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const grant = params.get('grant');
  const [error, setError] = useState<string | null>(grant ? null : 'This sign-in link is incomplete.');

  useEffect(() => {
    if (!grant) return;
    let live = true;
    exchangeOnce(grant).then(
      (coach) => {
        if (!live) return;
        if (coach) navigate('/dashboard', { replace: true });
        else window.location.replace(clientDashboardUrl);
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [grant, navigate]);

  if (error) {
    return (
      <ErrorState
        title="We could not sign you in"
        message={`${error} A sign-in link works once, for 5 minutes, in the browser you signed in with; please sign in again.`}
        action={<ButtonLink href={publicLoginUrl}>Back to sign in</ButtonLink>}
      />
    );
  }
  return <Loading label="Signing you in…" />;
}
