import type { FormEvent } from 'react';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, messageOf } from '../api/client';
import { Alert, Button, formatWait, TextField } from '../ui';
import type { LinkKind } from './account-api';
import { DeletionPending } from './deletion-pending';
import { EmailField, RequestLinkForm } from './request-link-form';
import { cancelDeletion, signIn, useSignInSteps } from './sign-in-steps';

/**
 * One sign-in for every portal: the API answers a single-use grant (after a code, for staff with MFA)
 * and the portal to redeem it at. From here too: a link to reset a forgotten password, and the first
 * link of an account the Skool sync made (claim).
 */
export function LoginPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; message: string } | null>(null);
  const [asking, setAsking] = useState<LinkKind | null>(null);
  // Arrived from "Delete my account": when it will be erased.
  const deletion = useSearchParams()[0].get('deletion');
  const deletionDate = deletion && !Number.isNaN(Date.parse(deletion)) ? new Date(deletion).toLocaleDateString(undefined, { dateStyle: 'long' }) : null;
  /** When the account waiting for deletion is erased (the password was right): only cancelling is offered. */
  const [pending, setPending] = useState<string | null>(null);
  const steps = useSignInSteps((message) => {
    // Back to the password, saying why.
    setPassword('');
    setBusy(false);
    setError({ title: 'Please sign in again', message });
  });

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await signIn(email, password);
      setBusy(false);
      // The account waits for deletion: signing in offers only to cancel it.
      if ('deletionPending' in answer) {
        setPending(answer.erasesAt);
        return;
      }
      setBusy(true);
      // On a grant this never settles: the button stays busy while the browser leaves for the portal.
      await steps.follow(answer);
      setBusy(false);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
        const wait = err.retryAfterSeconds
          ? `Please wait ${formatWait(err.retryAfterSeconds)} before trying again.`
          : 'Please wait a while before trying again.';
        setError({ title: 'Too many sign-in attempts', message: wait });
      } else if (err instanceof ApiError && err.code === 'UNAUTHORIZED') {
        setError({ title: 'We could not sign you in', message: err.message });
      } else if (err instanceof ApiError && err.code === 'VALIDATION_ERROR') {
        setError({ title: 'Please check your details', message: 'Enter a valid email address and your password.' });
      } else {
        setError({ title: 'We could not sign you in', message: messageOf(err) });
      }
    }
  }

  if (steps.screen) return steps.screen;

  if (pending) {
    return (
      <DeletionPending
        erasesAt={pending}
        onCancelled={() => cancelDeletion(email, password).then(steps.follow)}
        onBack={() => {
          setPending(null);
          setPassword('');
        }}
      />
    );
  }

  if (asking) {
    return (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="link-title">
        <h1 id="link-title">{asking === 'reset' ? 'Reset your password' : 'Get your sign-in link'}</h1>
        <p className="hc-muted">
          {asking === 'reset'
            ? 'Enter the email you sign in with. We will send you a link to choose a new password; it works once, for 30 minutes.'
            : 'Joined through our Skool community? Your account is ready: enter your email and we will send you a link to choose your password.'}
        </p>
        <RequestLinkForm kind={asking} email={email} onEmail={setEmail} />
        <button type="button" className="hc-link-button" onClick={() => setAsking(null)}>
          Back to sign in
        </button>
      </section>
    );
  }

  return (
    <div className="hc-card hc-narrow hc-stack">
      <form className="hc-stack" onSubmit={onSubmit} noValidate={false} aria-labelledby="login-title">
        <h1 id="login-title">Sign in</h1>
        {deletionDate && !error && (
          <Alert title="Your account will be deleted" tone="info">
            <p>You are signed out everywhere. On {deletionDate} your account is erased; sign in before then to cancel the deletion.</p>
          </Alert>
        )}
        {error && (
          <Alert title={error.title}>
            <p>{error.message}</p>
          </Alert>
        )}
        <EmailField value={email} onChange={setEmail} />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <Button type="submit" block busy={busy} busyLabel={'Signing in…'}>
          Sign in
        </Button>
        <p className="hc-muted">Coach or client, you sign in here: your membership decides where you land.</p>
        <p className="hc-muted">
          <Link to="/privacy">What we record in a session, and for how long</Link>
        </p>
      </form>
      {/* Below the form, so nothing of it moves, and buttons of type=button: the form's submit stays its only one. */}
      <div className="hc-link-list">
        <button type="button" className="hc-link-button" onClick={() => setAsking('reset')}>
          Forgot your password?
        </button>
        <button type="button" className="hc-link-button" onClick={() => setAsking('claim')}>
          First time here? Get your sign-in link
        </button>
      </div>
    </div>
  );
}
