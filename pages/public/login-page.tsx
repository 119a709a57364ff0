import { useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { Alert, Button, TextField, formatWait } from '../ui';

/** One sign-in for every portal: the API answers a single-use grant and the portal to redeem it at. */
export function LoginPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; message: string } | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { redirectUrl } = await call(api.api.auth.login.$post({ json: { email, password } }));
      window.location.assign(redirectUrl);
      // Stay busy: the browser is leaving for the portal.
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.code === 'RATE_LIMITED') {
        const wait = err.retryAfterSeconds ? `Please wait ${formatWait(err.retryAfterSeconds)} before trying again.` : 'Please wait a while before trying again.';
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

  return (
    <div className="hc-card hc-narrow">
      <form className="hc-stack" onSubmit={onSubmit} noValidate={false} aria-labelledby="login-title">
        <h1 id="login-title">Sign in</h1>
        {error && (
          <Alert title={error.title}>
            <p>{error.message}</p>
          </Alert>
        )}
        <TextField label="Email" type="email" name="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <TextField
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <Button type="submit" block busy={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
        <p className="hc-muted">Coach or client, you sign in here: your membership decides where you land.</p>
      </form>
    </div>
  );
}
