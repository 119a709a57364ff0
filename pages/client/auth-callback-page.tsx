import { useEffect, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { api, call, messageOf, sessionToken } from '../api/client';
import { publicLoginUrl } from '../api/config';
import { ButtonLink, ErrorState, Loading } from '../ui';

/**
 * A grant is single use: one exchange per grant per page load, even when React runs the effect
 * twice (StrictMode) or the component remounts.
 */
const exchanges = new Map<string, Promise<void>>();
function exchangeOnce(grant: string): Promise<void> {
  let pending = exchanges.get(grant);
  if (!pending) {
    pending = call(api.api.auth.exchange.$post({ json: { grant } })).then(({ token }) => sessionToken.set(token));
    exchanges.set(grant, pending);
  }
  return pending;
}

/** Lands here from the public sign-in with `?grant=`: exchanges it for a session, then the dashboard. */
export function AuthCallbackPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const grant = params.get('grant');
  const [error, setError] = useState<string | null>(grant ? null : 'This sign-in link is incomplete.');

  useEffect(() => {
    if (!grant) return;
    let live = true;
    exchangeOnce(grant).then(
      () => live && navigate('/dashboard', { replace: true }),
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
