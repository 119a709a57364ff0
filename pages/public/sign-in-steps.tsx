/**
 * What follows an accepted password, wherever it was typed (the sign-in, or a new password set from a
 * claim or reset link): the Worker answers a single-use grant and the portal to redeem it at; for staff
 * with two-step sign-in, a code first; for staff who must have it and have none, setting it up (then
 * the recovery codes, shown once). The challenge in the answer carries each step.
 */
import { type ReactNode, useState } from 'react';
import { ApiError, api, call } from '../api/client';
import { codeErrorMessage, MfaSetup, ProofForm, RecoveryCodes } from '../shared/mfa';
import { Loading } from '../ui';

/** POST /api/auth/login. */
export const signIn = (email: string, password: string) => call(api.api.auth.login.$post({ json: { email, password } }));
/** POST /api/auth/deletion/cancel: the account waiting for deletion is kept, and signed in (a grant). */
export const cancelDeletion = (email: string, password: string) => call(api.api.auth.deletion.cancel.$post({ json: { email, password } }));
/** The login's answer (claim and reset answer the same): a grant, or the two-step sign-in it needs first. */
export type LoginResult = Exclude<Awaited<ReturnType<typeof signIn>>, { deletionPending: true }>;

type Step =
  | { step: 'code'; challenge: string }
  | { step: 'setup'; challenge: string; enrolment: { secret: string; otpauthUri: string } | null }
  | { step: 'recovery-codes'; codes: string[]; redirectUrl: string };

/** A challenge the Worker no longer takes: the sign-in starts again from the password. */
const challengeOver = (err: unknown) =>
  err instanceof ApiError && err.code === 'UNAUTHORIZED' && (err.message.includes('Sign in again') || err.details.attemptsLeft === 0);

/** Sends the browser to the portal; never settles, so whatever awaits it stays busy while the page leaves. */
function leaveFor(url: string): Promise<never> {
  window.location.assign(url);
  return new Promise(() => undefined);
}

/**
 * The steps after the password: `follow(answer)` leaves for the portal on a grant, or moves to the
 * code or setup step, whose screen is `screen` (null while there is none: show the password form).
 * `restart(message)` is called when the sign-in must begin again (cancelled, or the challenge is over).
 * `follow` throws an ApiError when setting up cannot start; the step is then dropped.
 */
export function useSignInSteps(restart: (message: string) => void): { follow: (answer: LoginResult) => Promise<void>; screen: ReactNode } {
  const [step, setStep] = useState<Step | null>(null);

  async function follow(answer: LoginResult): Promise<void> {
    if ('grant' in answer) return leaveFor(answer.redirectUrl);
    if ('mfaRequired' in answer) {
      setStep({ step: 'code', challenge: answer.challenge });
      return;
    }
    setStep({ step: 'setup', challenge: answer.challenge, enrolment: null });
    try {
      const enrolment = await call(api.api.auth.mfa.enrol.$post({ json: { challenge: answer.challenge } }));
      setStep({ step: 'setup', challenge: answer.challenge, enrolment });
    } catch (err) {
      setStep(null);
      throw err;
    }
  }

  const over = (message: string) => {
    setStep(null);
    restart(message);
  };
  /** Runs a step's request; a challenge the Worker no longer takes starts the sign-in again. */
  const guarded = async (request: () => Promise<void>) => {
    try {
      await request();
    } catch (err) {
      if (challengeOver(err)) over(codeErrorMessage(err));
      throw err;
    }
  };

  let screen: ReactNode = null;
  if (step?.step === 'code') {
    const { challenge } = step;
    screen = (
      <section className="hc-card hc-narrow hc-stack" aria-labelledby="mfa-title">
        <h1 id="mfa-title">Two-step sign-in</h1>
        <p className="hc-muted">Enter the 6-digit code your authenticator app shows for Hybrid Coach.</p>
        <ProofForm
          submitLabel="Sign in"
          busyLabel="Signing in…"
          onCancel={() => over('Sign in with your email and password.')}
          onSubmit={(proof) =>
            guarded(async () => {
              const { redirectUrl } = await call(api.api.auth.mfa.$post({ json: { challenge, ...proof } }));
              await leaveFor(redirectUrl);
            })
          }
        />
      </section>
    );
  } else if (step?.step === 'setup') {
    const { challenge, enrolment } = step;
    screen = (
      <section className="hc-card hc-medium hc-stack" aria-labelledby="setup-title">
        <h1 id="setup-title">Set up two-step sign-in</h1>
        <p className="hc-muted">Your account needs a code from an authenticator app at each sign-in. Set it up once, now, to continue.</p>
        {enrolment ? (
          <MfaSetup
            enrolment={enrolment}
            onCancel={() => over('Two-step sign-in was not set up. Sign in to try again.')}
            onConfirm={(code) =>
              guarded(async () => {
                const done = await call(api.api.auth.mfa.enrol.confirm.$post({ json: { challenge, code } }));
                setStep({ step: 'recovery-codes', codes: done.recoveryCodes, redirectUrl: done.redirectUrl });
              })
            }
          />
        ) : (
          <Loading label="Preparing your key…" />
        )}
      </section>
    );
  } else if (step?.step === 'recovery-codes') {
    const { codes, redirectUrl } = step;
    screen = (
      <section className="hc-card hc-medium hc-stack" aria-labelledby="codes-title">
        <h1 id="codes-title">Two-step sign-in is on</h1>
        <RecoveryCodes codes={codes} doneLabel="Continue to your portal" onDone={() => void leaveFor(redirectUrl)} />
      </section>
    );
  }
  return { follow, screen };
}
