import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../api/client';
import { useAction } from '../shared/action';
import { codeErrorMessage, MfaSetup, ProofForm, RecoveryCodes } from '../shared/mfa';
import { Pending } from '../shared/query';
import { Button, formatDate, Notice } from '../ui';

const loadStatus = () => call(api.api.users.me.mfa.$get());
const STATUS_KEY = ['mfa-status'];
type Status = Awaited<ReturnType<typeof loadStatus>>;
type Proof = { code: string } | { recoveryCode: string };

/** What the section shows besides the status: a form on its way to a change, or codes to save. */
type Mode =
  | { kind: 'idle'; notice?: string }
  | { kind: 'proof'; action: 'recovery-codes' | 'move' | 'disable' }
  | { kind: 'setup'; enrolment: { secret: string; otpauthUri: string }; moving: boolean }
  | { kind: 'codes'; codes: string[] };

const PROOF_LABELS = {
  'recovery-codes': { intro: 'To make new recovery codes (the old ones stop working), confirm it is you.', submit: 'Make new recovery codes' },
  move: { intro: 'To move two-step sign-in to a new app (or phone), first confirm with your current one.', submit: 'Continue' },
  disable: { intro: 'To turn two-step sign-in off, confirm it is you.', submit: 'Turn off' },
} as const;

/**
 * Settings › Two-step sign-in: set it up (QR code and key, confirmed by a first code), see and
 * replace recovery codes, move to a new app, turn it off (not where it is required: admins, and
 * coaches while MFA_REQUIRED_FOR_COACHES is on).
 */
export function TwoStepSignIn() {
  const status = useQuery({ queryKey: STATUS_KEY, queryFn: loadStatus });
  const queries = useQueryClient();
  const setStatus = (next: Status) => queries.setQueryData(STATUS_KEY, next);
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  const setup = useAction(async () => {
    const enrolment = await call(api.api.users.me.mfa.enrol.$post({ json: {} }));
    setMode({ kind: 'setup', enrolment, moving: false });
  }, codeErrorMessage);

  async function prove(action: 'recovery-codes' | 'move' | 'disable', proof: Proof) {
    if (action === 'recovery-codes') {
      const done = await call(api.api.users.me.mfa['recovery-codes'].$post({ json: proof }));
      setStatus(done.status);
      setMode({ kind: 'codes', codes: done.recoveryCodes });
    } else if (action === 'move') {
      const enrolment = await call(api.api.users.me.mfa.enrol.$post({ json: proof }));
      setMode({ kind: 'setup', enrolment, moving: true });
    } else {
      setStatus(await call(api.api.users.me.mfa.disable.$post({ json: proof })));
      setMode({ kind: 'idle', notice: 'Two-step sign-in is off. Your password alone signs you in now.' });
    }
  }

  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="mfa-title" data-testid="coach-mfa">
      <h2 id="mfa-title">Two-step sign-in</h2>
      {status.data === undefined ? (
        <Pending query={status} label="Loading…" what="your two-step sign-in" />
      ) : (
        <>
          <StatusLine status={status.data} />
          {mode.kind === 'idle' && (
            <>
              <Notice text={mode.notice} tone="info" />
              <Notice text={setup.error} title="That did not work" />
              {status.data.enabled ? (
                <div className="hc-row">
                  <Button variant="secondary" onClick={() => setMode({ kind: 'proof', action: 'recovery-codes' })}>
                    New recovery codes
                  </Button>
                  <Button variant="secondary" onClick={() => setMode({ kind: 'proof', action: 'move' })}>
                    Move to a new app
                  </Button>
                  {!status.data.required && (
                    <Button variant="secondary" onClick={() => setMode({ kind: 'proof', action: 'disable' })}>
                      Turn off
                    </Button>
                  )}
                </div>
              ) : (
                <div>
                  <Button onClick={() => setup.run()} busy={setup.busy} busyLabel="Preparing…">
                    Set up two-step sign-in
                  </Button>
                </div>
              )}
            </>
          )}
          {mode.kind === 'proof' && (
            <>
              <p>{PROOF_LABELS[mode.action].intro}</p>
              <ProofForm
                key={mode.action}
                submitLabel={PROOF_LABELS[mode.action].submit}
                onCancel={() => setMode({ kind: 'idle' })}
                onSubmit={(proof) => prove(mode.action, proof)}
              />
            </>
          )}
          {mode.kind === 'setup' && (
            <MfaSetup
              enrolment={mode.enrolment}
              onCancel={() => setMode({ kind: 'idle', notice: mode.moving ? 'Nothing changed: your current app still signs you in.' : undefined })}
              onConfirm={async (code) => {
                const done = await call(api.api.users.me.mfa.confirm.$post({ json: { code } }));
                setStatus(done.status);
                setMode({ kind: 'codes', codes: done.recoveryCodes });
              }}
            />
          )}
          {mode.kind === 'codes' && <RecoveryCodes codes={mode.codes} onDone={() => setMode({ kind: 'idle' })} />}
        </>
      )}
    </section>
  );
}

function StatusLine({ status }: { status: Status }) {
  if (!status.enabled) {
    return (
      <p data-testid="mfa-status">
        <strong>Off.</strong> With it on, signing in also needs a 6-digit code from an authenticator app on your phone, so a stolen password alone is not
        enough.
      </p>
    );
  }
  return (
    <div>
      <p data-testid="mfa-status">
        <strong>On</strong>
        {status.enabledAt ? ` since ${formatDate(status.enabledAt)}` : ''}. {status.recoveryCodesLeft} of 10 recovery codes left.
      </p>
      {status.required && <p className="hc-muted">Required for your account, so it cannot be turned off. If you change phones, move it to the new app.</p>}
      {status.recoveryCodesLeft <= 3 && <p className="hc-muted">Running low on recovery codes: make new ones.</p>}
    </div>
  );
}
