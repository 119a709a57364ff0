import { useQuery } from '@tanstack/react-query';
import { Navigate, useSearchParams } from 'react-router';
import { api, call, messageOf, sessionToken } from '../api/client';
import { publicLoginUrl } from '../api/config';
import { ButtonLink, ErrorState, Loading } from '../ui';
import { RedirectAway } from './redirect-away';

type Role = Awaited<ReturnType<typeof exchange>>['user']['role'];
const exchange = (grant: string) => call(api.api.auth.exchange.$post({ json: { grant } }));

/** Who a portal signs in; anyone else is sent to `elsewhere` without keeping the session here. */
export interface SignInRule {
  accepts: (role: Role) => boolean;
  elsewhere: string;
}

/**
 * Lands here from the public sign-in with `?grant=`: exchanges it for a session, then the dashboard
 * (or, for a user of another portal, that portal). A grant is single use: the query is kept for the
 * page's life (gcTime Infinity) so StrictMode's second effect or a remount never exchanges it twice.
 */
export function AuthCallbackPage({ rule }: { rule?: SignInRule }) {
  const [params] = useSearchParams();
  const grant = params.get('grant');
  const signIn = useQuery({
    queryKey: ['auth-exchange', grant],
    enabled: grant !== null,
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: Number.POSITIVE_INFINITY,
    queryFn: async () => {
      const { token, user } = await exchange(grant ?? '');
      if (rule && !rule.accepts(user.role)) return false;
      sessionToken.set(token);
      return true;
    },
  });

  const error = grant === null ? 'This sign-in link is incomplete.' : signIn.isError ? messageOf(signIn.error) : null;
  if (error) {
    return (
      <ErrorState
        title="We could not sign you in"
        message={`${error} A sign-in link works once, for 5 minutes, in the browser you signed in with; please sign in again.`}
        action={<ButtonLink href={publicLoginUrl}>Back to sign in</ButtonLink>}
      />
    );
  }
  if (signIn.data === true) return <Navigate to="/dashboard" replace />;
  if (signIn.data === false && rule) return <RedirectAway href={rule.elsewhere} label="Signing you in…" />;
  return <Loading label="Signing you in…" />;
}
