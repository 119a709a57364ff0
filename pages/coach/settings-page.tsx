import { timeZoneNames } from '@hybrid-coach/shared/time-zone';
import { type FormEvent, useMemo, useState } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { useAction } from '../shared/action';
import { ChangePassword } from '../shared/change-password';
import { EmailSettings } from '../shared/email-settings';
import { Alert, Button, SelectField, Switch, TextField } from '../ui';
import { browserTimeZone } from './calendar-time';
import { useCoach, useSetCoach } from './coach-only';
import { TwoStepSignIn } from './mfa-settings';

/**
 * The coach's IANA time zone: their calendar is drawn and their availability read in it. Until they
 * choose, the browser's zone is offered (their windows are read in UTC meanwhile, and confirming moves
 * them into the zone at the same moments). Changing it later keeps the windows' local hours.
 */
function TimeZoneSettings() {
  const coach = useCoach();
  const setCoach = useSetCoach();
  const browser = browserTimeZone();
  const [zone, setZone] = useState(coach.timeZoneConfirmed ? coach.timeZone : browser);
  const [saved, setSaved] = useState(false);
  const options = useMemo(() => timeZoneNames(coach.timeZone, browser).map((z) => ({ value: z, label: z })), [coach.timeZone, browser]);
  const save = useAction(async () => {
    setCoach(await call(api.api.users.me.$patch({ json: { timeZone: zone } })));
    setSaved(true);
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    save.run();
  }
  const fields = save.failure instanceof ApiError ? save.failure.fields : {};
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="zone-title" data-testid="zone-settings">
      <h2 id="zone-title">Time zone</h2>
      <form className="hc-stack" onSubmit={submit} noValidate>
        <SelectField
          label="Your time zone"
          name="timeZone"
          value={zone}
          options={options}
          onChange={(e) => {
            setZone(e.target.value);
            setSaved(false);
          }}
          hint={
            coach.timeZoneConfirmed
              ? 'Your calendar and the hours of your availability are in this zone. Changing it keeps the hours (09:00 stays 09:00).'
              : `Not chosen yet: your availability is read in UTC. Confirming keeps each hour you offer at the same moment, on your clock. Suggested from this browser: ${browser}.`
          }
          error={fields.timeZone}
        />
        {saved && (
          <Alert tone="info">
            <p>Saved: your calendar is in {coach.timeZone}.</p>
          </Alert>
        )}
        {save.error && <Alert title="Not saved">{<p>{save.error}</p>}</Alert>}
        <div>
          <Button type="submit" busy={save.busy} busyLabel="Saving…" disabled={coach.timeZoneConfirmed && zone === coach.timeZone} data-testid="zone-save">
            {coach.timeZoneConfirmed ? 'Save time zone' : 'Confirm time zone'}
          </Button>
        </div>
      </form>
    </section>
  );
}

/** `/settings`: the coach's display name, whether Premium clients can book them, their time zone, the password, and two-step sign-in. */
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
      <TimeZoneSettings />
      <EmailSettings />
      <ChangePassword />
      <TwoStepSignIn />
    </div>
  );
}
