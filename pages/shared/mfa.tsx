/**
 * Two-step sign-in screens shared by the public site (a code at sign-in; setting it up when it is
 * required) and the coach portal's settings: the QR code and secret of a new authenticator app, the
 * code field, and the recovery codes shown once.
 */
import { type FormEvent, useMemo, useState } from 'react';
import { encode } from 'uqr';
import { ApiError } from '../api/client';
import { Alert, Button, Notice, TextField } from '../ui';
import { failureMessage, useAction } from './action';

/** The QR code of `text` as an SVG drawn from uqr's modules (no markup injected into the page). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, path } = useMemo(() => {
    const qr = encode(text, { ecc: 'M', border: 2 });
    const squares = qr.data.flatMap((row, y) => row.flatMap((dark, x) => (dark ? [`M${x} ${y}h1v1h-1z`] : [])));
    return { size: qr.size, path: squares.join('') };
  }, [text]);
  return (
    <svg className="hc-qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

/** The authenticator app's code: digits (spaces allowed), offered by the browser from an SMS or app. */
function CodeField({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
  return (
    <TextField
      label={label}
      name="code"
      inputMode="numeric"
      autoComplete="one-time-code"
      pattern="[0-9 ]*"
      maxLength={8}
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

/** The secret as typed into an app by hand: groups of four. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

/** A code form's buttons: send (once something is typed), and Cancel where the form may be left. */
function CodeFormButtons({
  busy,
  ready,
  label,
  busyLabel,
  onCancel,
}: {
  busy: boolean;
  ready: boolean;
  label: string;
  busyLabel: string;
  onCancel: (() => void) | undefined;
}) {
  return (
    <div className="hc-row">
      <Button type="submit" busy={busy} busyLabel={busyLabel} disabled={!ready}>
        {label}
      </Button>
      {onCancel && (
        <Button variant="secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
      )}
    </div>
  );
}

/** What an API error means to someone typing a code. */
export function codeErrorMessage(err: unknown): string {
  if (err instanceof ApiError && err.code === 'VALIDATION_ERROR') return Object.values(err.fields)[0] ?? err.message;
  return failureMessage(err, 'Too many wrong codes.');
}

/**
 * Setting up an authenticator app: the QR code and the secret (shown this once), then the first code,
 * which turns two-step sign-in on. `onConfirm` throws an ApiError to show.
 */
export function MfaSetup({
  enrolment,
  onConfirm,
  onCancel,
}: {
  enrolment: { secret: string; otpauthUri: string };
  onConfirm: (code: string) => Promise<void>;
  onCancel?: () => void;
}) {
  const [code, setCode] = useState('');
  const confirm = useAction(onConfirm, codeErrorMessage);
  const { busy, error } = confirm;

  function submit(e: FormEvent) {
    e.preventDefault();
    confirm.run(code.trim());
  }

  return (
    <form className="hc-stack" onSubmit={submit} data-testid="mfa-setup">
      <ol className="hc-steps">
        <li>Open an authenticator app on your phone (Google Authenticator, 1Password, Authy, Microsoft Authenticator…).</li>
        <li>Scan this QR code with it, or type the key below.</li>
      </ol>
      <QrCode text={enrolment.otpauthUri} label="QR code for your authenticator app" />
      <p className="hc-small">
        Key for typing in by hand (time-based, 6 digits):{' '}
        <code className="hc-secret" data-testid="mfa-secret">
          {grouped(enrolment.secret)}
        </code>
      </p>
      <Notice text={error} title="Not set up yet" />
      <CodeField label="The 6-digit code the app shows" value={code} onChange={setCode} />
      <CodeFormButtons busy={busy} ready={code.trim() !== ''} label="Turn on two-step sign-in" busyLabel="Checking…" onCancel={onCancel} />
    </form>
  );
}

/** Recovery codes, shown this once, with what they are for. */
export function RecoveryCodes({ codes, onDone, doneLabel = 'I have saved them' }: { codes: string[]; onDone: () => void; doneLabel?: string }) {
  return (
    <div className="hc-stack" data-testid="recovery-codes">
      <Alert tone="warn" title="Save your recovery codes now">
        <p>
          If you lose your phone, each of these codes signs you in once instead of a code from the app. Keep them somewhere safe: you will not see them again.
        </p>
      </Alert>
      <ul className="hc-recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <Button onClick={onDone}>{doneLabel}</Button>
    </div>
  );
}

/**
 * A code from the app, or (after "Use a recovery code instead") a recovery code. `onSubmit` gets
 * which one was given and throws an ApiError to show.
 */
export function ProofForm({
  submitLabel,
  busyLabel = 'Checking…',
  onSubmit,
  onCancel,
  error: outerError,
}: {
  submitLabel: string;
  busyLabel?: string;
  onSubmit: (proof: { code: string } | { recoveryCode: string }) => Promise<void>;
  onCancel?: () => void;
  error?: string | null;
}) {
  const [recovery, setRecovery] = useState(false);
  const [value, setValue] = useState('');
  const prove = useAction(onSubmit, codeErrorMessage);
  const { busy, error } = prove;

  function submit(e: FormEvent) {
    e.preventDefault();
    prove.run(recovery ? { recoveryCode: value.trim() } : { code: value.trim() });
  }

  const shown = error ?? outerError ?? null;
  return (
    <form className="hc-stack" onSubmit={submit} data-testid="mfa-proof">
      <Notice text={shown} title="That did not work" />
      {recovery ? (
        <TextField
          key="recoveryCode"
          label="Recovery code"
          name="recoveryCode"
          autoComplete="off"
          spellCheck={false}
          hint="One of the codes you saved when you set up two-step sign-in. Each works once."
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      ) : (
        <CodeField key="code" label="Code from your authenticator app" value={value} onChange={setValue} />
      )}
      <CodeFormButtons busy={busy} ready={value.trim() !== ''} label={submitLabel} busyLabel={busyLabel} onCancel={onCancel} />
      <button
        type="button"
        className="hc-link-button"
        onClick={() => {
          setRecovery(!recovery);
          setValue('');
          prove.clear();
        }}
      >
        {recovery ? 'Use a code from the app instead' : 'Use a recovery code instead'}
      </button>
    </form>
  );
}
