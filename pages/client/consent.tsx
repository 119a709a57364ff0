import { queryOptions, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call, messageOf } from '../api/client';
import { publicPrivacyUrl } from '../api/config';
import { ConsentText } from '../shared/consent-text';
import { Alert, Button } from '../ui';

export const loadConsent = () => call(api.api.users.me.consent.$get());
export type Consent = Awaited<ReturnType<typeof loadConsent>>;
export const consentQuery = queryOptions({ queryKey: ['consent'], queryFn: loadConsent });

/**
 * What is recorded, and an explicit "I agree": before the first session, and again whenever the text
 * has a new version (the Worker refuses a session without it).
 */
export function ConsentStep({ consent, onAgreed }: { consent: Consent; onAgreed: () => void }) {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function agree() {
    setBusy(true);
    setError(null);
    try {
      const agreed = await call(api.api.users.me.consent.$post({ json: { version: consent.version } }));
      queryClient.setQueryData(consentQuery.queryKey, agreed);
      onAgreed();
    } catch (err) {
      setBusy(false);
      // A new version since the page loaded: read the text again.
      await queryClient.invalidateQueries(consentQuery);
      setError(err);
    }
  }

  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="consent-title" data-testid="consent-step">
      <ConsentText headingId="consent-title" level="h1" />
      <p className="hc-muted">
        No session starts without your agreement. You can read it again any time on our <a href={publicPrivacyUrl}>privacy page</a>.
      </p>
      {error !== null && (
        <Alert title="Your agreement was not saved">
          <p>{messageOf(error)}</p>
        </Alert>
      )}
      <div>
        <Button onClick={() => void agree()} busy={busy} busyLabel="Saving…">
          I agree
        </Button>
      </div>
    </section>
  );
}
