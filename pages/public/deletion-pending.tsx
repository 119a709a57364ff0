import { useState } from 'react';
import { messageOf } from '../api/client';
import { Alert, Button } from '../ui';

/**
 * The sign-in of an account waiting for deletion (issue 17): the password was right, and the only thing
 * offered is to cancel the deletion (which signs in) or to leave it as it is.
 */
export function DeletionPending({ erasesAt, onCancelled, onBack }: { erasesAt: string; onCancelled: () => Promise<void>; onBack: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const when = new Date(erasesAt).toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
  return (
    <section className="hc-card hc-narrow hc-stack" aria-labelledby="deletion-title" data-testid="deletion-pending">
      <h1 id="deletion-title">Your account is being deleted</h1>
      <p>
        You asked us to delete your account. On <strong>{when}</strong> it is erased, with everything about you: your sessions, transcripts, summaries and
        appointments. Until then you cannot sign in, but you can change your mind.
      </p>
      {error && (
        <Alert title="The deletion was not cancelled">
          <p>{error}</p>
        </Alert>
      )}
      <Button
        block
        busy={busy}
        busyLabel="Cancelling…"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            // On success this never settles: the browser leaves for the portal.
            await onCancelled();
          } catch (err) {
            setError(messageOf(err));
          }
          setBusy(false);
        }}
      >
        Cancel the deletion and sign in
      </Button>
      <button type="button" className="hc-link-button" onClick={onBack}>
        Keep the deletion
      </button>
    </section>
  );
}
