import { ApiError, messageOf } from '../api/client';
import { publicLoginUrl } from '../api/config';
import { Button, ButtonLink, ErrorState } from '../ui';

/** The error screen of a page whose data did not load: sign in again on 401, else try again. */
export function LoadFailed({ error, what, retry }: { error: unknown; what: string; retry: () => void }) {
  const signedOut = error instanceof ApiError && error.status === 401;
  return (
    <ErrorState
      title={signedOut ? 'Please sign in' : `We could not load ${what}`}
      message={signedOut ? 'Your session has ended or you have not signed in yet.' : messageOf(error)}
      action={
        signedOut ? (
          <ButtonLink href={publicLoginUrl}>Sign in</ButtonLink>
        ) : (
          <Button variant="secondary" onClick={retry}>
            Try again
          </Button>
        )
      }
    />
  );
}
