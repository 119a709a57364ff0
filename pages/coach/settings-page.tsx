import { type FormEvent, useState } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { ChangePassword } from '../shared/change-password';
import { EmailSettings } from '../shared/email-settings';
import { Alert, Button, Switch, TextField } from '../ui';
import { useCoach, useSetCoach } from './coach-only';
import { TwoStepSignIn } from './mfa-settings';

/** `/settings`: the coach's display name, whether Premium clients can book them, the password, and two-step sign-in. */
export function SettingsPage() {
  const coach = useCoach();
  const setCoach = useSetCoach();
  const [name, setName] = useState(coach.displayName);
  const [available, setAvailable] = useState(coach.isAvailable);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ saved: true } | { error: string; fields: Record<string, string> } | null>(null);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) {
      setResult({ error: 'Your display name cannot be empty.', fields: { displayName: 'Give a name' } });
      return;
    }
    setBusy(true);
    setResult(null);
    try {
      const me = await call(api.api.users.me.$patch({ json: { displayName: name.trim(), isAvailable: available } }));
      setCoach(me);
      setName(me.displayName);
      setAvailable(me.isAvailable);
      setResult({ saved: true });
    } catch (err) {
      setResult({ error: messageOf(err), fields: err instanceof ApiError ? err.fields : {} });
    } finally {
      setBusy(false);
    }
  }

  const fields = result && 'error' in result ? result.fields : {};
  const changed = name.trim() !== coach.displayName || available !== coach.isAvailable;
  return (
    <div className="hc-settings">
      <section className="hc-card hc-stack hc-medium" aria-labelledby="settings-title" data-testid="coach-settings">
        <h1 id="settings-title">Settings</h1>
        <form className="hc-stack" onSubmit={save} noValidate onChange={() => setResult(null)}>
          <TextField
            label="Display name"
            name="displayName"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={80}
            autoComplete="name"
            hint="Clients see it in the call and when they book you."
            error={fields.displayName}
            required
          />
          <Switch
            label="Available for bookings"
            name="isAvailable"
            checked={available}
            onChange={(on) => {
              setAvailable(on);
              setResult(null);
            }}
            hint={
              available ? 'Premium clients can book you in the windows of your calendar.' : 'Nobody can book you. Appointments already booked stay as they are.'
            }
          />
          {result && 'saved' in result && (
            <Alert tone="info">
              <p>Saved.</p>
            </Alert>
          )}
          {result && 'error' in result && (
            <Alert title="Not saved">
              <p>{result.error}</p>
            </Alert>
          )}
          <div>
            <Button type="submit" busy={busy} busyLabel={'Saving…'} disabled={!changed && !busy}>
              Save changes
            </Button>
          </div>
        </form>
      </section>
      <EmailSettings />
      <ChangePassword />
      <TwoStepSignIn />
    </div>
  );
}
