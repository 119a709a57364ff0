import { type FormEvent, useState } from 'react';
import { ApiError } from '../api/client';
import { changePassword } from '../public/account-api';
import { Button, NoticeLine, TextField } from '../ui';
import { failureMessage, useAction } from './action';
import { type NewPassword, NewPasswordFields, newPasswordProblems } from './new-password-fields';

const NO_PASSWORD: NewPassword = { password: '', confirm: '' };

/**
 * Settings › Password, in both portals: the current password, then the new one twice. The API's
 * field errors (a wrong current password, a weak or unchanged new one) show under their fields; the
 * other sessions of the account are signed out, this one stays.
 */
export function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState(NO_PASSWORD);
  const [checked, setChecked] = useState<{ currentPassword?: string; password?: string; confirm?: string }>({});
  const change = useAction(async (input: { currentPassword: string; newPassword: string }) => {
    await changePassword(input.currentPassword, input.newPassword);
    setCurrent('');
    setNext(NO_PASSWORD);
  }, failureMessage);
  const fromApi = change.failure instanceof ApiError ? change.failure.fields : {};
  const errors = {
    currentPassword: checked.currentPassword ?? fromApi.currentPassword,
    password: checked.password ?? fromApi.newPassword,
    confirm: checked.confirm,
  };
  const fieldError = Boolean(errors.currentPassword || errors.password || errors.confirm);
  const edited = () => {
    setChecked({});
    change.clear();
  };

  function submit(e: FormEvent) {
    e.preventDefault();
    const problems = { ...(current === '' ? { currentPassword: 'Enter your current password.' } : {}), ...newPasswordProblems(next) };
    setChecked(problems);
    if (Object.keys(problems).length > 0) {
      change.clear();
      return;
    }
    change.run({ currentPassword: current, newPassword: next.password });
  }

  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="password-title" data-testid="change-password">
      <h2 id="password-title">Password</h2>
      <form className="hc-stack" onSubmit={submit} noValidate>
        <TextField
          label="Current password"
          type="password"
          name="currentPassword"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => {
            setCurrent(e.target.value);
            edited();
          }}
          hint={errors.currentPassword ? undefined : 'The one you signed in with.'}
          error={errors.currentPassword}
        />
        <NewPasswordFields
          value={next}
          errors={errors}
          onChange={(value) => {
            setNext(value);
            edited();
          }}
        />
        <div>
          <Button type="submit" busy={change.busy} busyLabel="Changing…">
            Change password
          </Button>
        </div>
        <NoticeLine
          text={change.done ? 'Password changed. Other devices were signed out.' : fieldError ? null : change.error}
          tone={change.done ? 'info' : 'error'}
        />
      </form>
    </section>
  );
}
