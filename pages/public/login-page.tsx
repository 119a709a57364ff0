import type { FormEvent } from 'react';
import { useState } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { codeErrorMessage, MfaSetup, ProofForm, RecoveryCodes } from '../shared/mfa';
import { Alert, Button, formatWait, Loading, TextField } from '../ui';

/**
 * Where a sign-in stands: the password; for staff with two-step sign-in, a code; for staff who must
 * have it and have none yet, setting it up (then the recovery codes, shown once); the challenge the
 * login answered carries each step.
 */
type Stage =
  | { step: 'password' }
  | { step: 'code'; challenge: string }
  | { step: 'setup'; challenge: string; enrolment: { secret: string; otpauthUri: string } | null }
  | { step: 'recovery-codes'; codes: string[]; redirectUrl: string };

/** A challenge the Worker no longer takes: the sign-in starts again from the password. */
const challengeOver = (err: unknown) =>
  err instanceof ApiError && err.code === 'UNAUTHORIZED' && (err.message.includes('Sign in again') || err.details.attemptsLeft === 0);

/** One sign-in for every portal: the API answers a single-use grant (after a code, for staff with MFA) and the portal to redeem it at. */
export function LoginPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; message: string } | null>(null);
  const [stage, setStage] = useState<Stage>({ step: 'password' });

  /** Back to the password, saying why. */
  function restart(message: string) {
    setStage({ step: 'password' });
    setPassword('');
    setBusy(false);
    setError({ title: 'Please sign in again', message });
  }

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(api.api.auth.login.$post({ json: { email, password } }));
      if ('grant' in answer) {
        window.location.assign(answer.redirectUrl);
        // Stay busy: the browser is leaving for the portal.
        return;
      }
      setBusy(false);
      if ('mfaRequired' in answer) {
        setStage({ step: 'code', challenge: answer.challenge });
        return;
      }
      setStage({ step: 'setup', challenge: answer.challenge, enrolment: null });
      const enrolment = await call(api.api.auth.mfa.enrol.$post({ json: { challenge: answer.challenge } }));
      setStage({ step: 'setup', challenge: answer.challenge, enrolment });
    } catch (err) {
      setBusy(false);
      setStage({ step: 'password' });
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

  if (stage.step === 'code') {
    const { challenge } = stage;
    return (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="mfa-title">
        <h1 id="mfa-title">Two-step sign-in</h1>
        <p className="hc-muted">Enter the 6-digit code your authenticator app shows for Hybrid Coach.</p>
        <ProofForm
          submitLabel="Sign in"
          busyLabel="Signing in…"
          onCancel={() => restart('Sign in with your email and password.')}
          onSubmit={async (proof) => {
            try {
              const { redirectUrl } = await call(api.api.auth.mfa.$post({ json: { challenge, ...proof } }));
              window.location.assign(redirectUrl);
              // The form stays busy: the browser is leaving for the portal.
              await new Promise(() => undefined);
            } catch (err) {
              if (challengeOver(err)) restart(codeErrorMessage(err));
              throw err;
            }
          }}
        />
      </section>
    );
  }

  if (stage.step === 'setup') {
    const { challenge, enrolment } = stage;
    return (
      <section className="hc-card hc-medium hc-stack" aria-labelledby="setup-title">
        <h1 id="setup-title">Set up two-step sign-in</h1>
        <p className="hc-muted">Your account needs a code from an authenticator app at each sign-in. Set it up once, now, to continue.</p>
        {enrolment ? (
          <MfaSetup
            enrolment={enrolment}
            onCancel={() => restart('Two-step sign-in was not set up. Sign in to try again.')}
            onConfirm={async (code) => {
              try {
                const done = await call(api.api.auth.mfa.enrol.confirm.$post({ json: { challenge, code } }));
                setStage({ step: 'recovery-codes', codes: done.recoveryCodes, redirectUrl: done.redirectUrl });
              } catch (err) {
                if (challengeOver(err)) restart(codeErrorMessage(err));
                throw err;
              }
            }}
          />
        ) : (
          <Loading label="Preparing your key…" />
        )}
      </section>
    );
  }

  if (stage.step === 'recovery-codes') {
    const { codes, redirectUrl } = stage;
    return (
      <section className="hc-card hc-medium hc-stack" aria-labelledby="codes-title">
        <h1 id="codes-title">Two-step sign-in is on</h1>
        <RecoveryCodes codes={codes} doneLabel="Continue to your portal" onDone={() => window.location.assign(redirectUrl)} />
      </section>
    );
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
        <Button type="submit" block busy={busy} busyLabel={'Signing in…'}>
          Sign in
        </Button>
        <p className="hc-muted">Coach or client, you sign in here: your membership decides where you land.</p>
      </form>
    </div>
  );
}
