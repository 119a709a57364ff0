import { type FormEvent, useState } from 'react';
import { ApiError } from '../api/client';
import { failureMessage, useAction } from '../shared/action';
import { Button, NoticeLine, TextField } from '../ui';
import { type LinkKind, requestLink } from './account-api';

const describe = (err: unknown) => failureMessage(err, 'Too many requests.');

/**
 * An email field that asks for a link by email: the first one of an account (claim) or a password
 * reset. The Worker answers the same words whether or not the account exists, and they are shown as
 * they come; only a malformed email or a rate limit is said otherwise. `email` is shared with the
 * page (the sign-in's field, kept when the person switches back).
 */
export function RequestLinkForm({
  kind,
  email,
  onEmail,
  submitLabel = kind === 'claim' ? 'Email me my link' : 'Email me a reset link',
}: {
  kind: LinkKind;
  email: string;
  onEmail: (email: string) => void;
  submitLabel?: string;
}) {
  const [sent, setSent] = useState<string | null>(null);
  const ask = useAction(async (address: string) => setSent((await requestLink(kind, address)).message), describe);
  const invalid = ask.failure instanceof ApiError && ask.failure.code === 'VALIDATION_ERROR';

  function submit(e: FormEvent) {
    e.preventDefault();
    setSent(null);
    ask.run(email.trim());
  }

  return (
    <form className="hc-stack" onSubmit={submit} data-testid={kind === 'claim' ? 'claim-request' : 'forgot-password'}>
      {/* The hint's line turns into the error's: the button below does not move. */}
      <EmailField
        value={email}
        onChange={onEmail}
        hint={invalid ? undefined : 'The email you sign in with.'}
        error={invalid ? 'Enter a valid email address.' : undefined}
      />
      <Button type="submit" block busy={ask.busy} busyLabel="Sending…">
        {submitLabel}
      </Button>
      <NoticeLine text={sent ?? (invalid ? null : ask.error)} tone={sent ? 'info' : 'error'} />
    </form>
  );
}

/** The email someone signs in with (the sign-in's field, and the one that asks for a link). */
export function EmailField({ value, onChange, hint, error }: { value: string; onChange: (email: string) => void; hint?: string; error?: string }) {
  return (
    <TextField
      label="Email"
      type="email"
      name="email"
      autoComplete="email"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      hint={hint}
      error={error}
    />
  );
}
