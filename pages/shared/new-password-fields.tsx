import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from '@hybrid-coach/shared/password-policy';
import { TextField } from '../ui';

/** A new password and its confirmation, as typed. */
export interface NewPassword {
  password: string;
  confirm: string;
}

/**
 * What is wrong with a new password before it is sent, by field (`password`, `confirm`): the shared
 * policy (the Worker checks it again and stays the authority) and the two typings agreeing.
 */
export function newPasswordProblems({ password, confirm }: NewPassword, email?: string): { password?: string; confirm?: string } {
  const problem = passwordProblem(password, email);
  return {
    ...(problem ? { password: `${problem}.` } : {}),
    ...(confirm !== password ? { confirm: 'The two passwords are not the same.' } : {}),
  };
}

/** The hint under the new password as it is typed: the policy's first word on it, or that it will do. */
export function newPasswordHint(password: string, email?: string): string {
  if (password === '') return `At least ${MIN_PASSWORD_LENGTH} characters.`;
  const problem = passwordProblem(password, email);
  return problem ? `${problem}.` : 'Long enough, and not a common one.';
}

/**
 * The new password and its confirmation. Each field has one line under it, a hint that becomes the
 * error when there is one (the API's, by field, or the check made on sending), so the form does not
 * move as the person types or when an error appears. The confirmation's mismatch shows as soon as it
 * can no longer become equal (it is not the start of the password).
 */
export function NewPasswordFields({
  value,
  onChange,
  errors,
  email,
  label = 'New password',
}: {
  value: NewPassword;
  onChange: (value: NewPassword) => void;
  errors: { password?: string; confirm?: string };
  email?: string;
  label?: string;
}) {
  const mismatch = errors.confirm ?? (value.confirm !== '' && !value.password.startsWith(value.confirm) ? 'The two passwords are not the same.' : undefined);
  return (
    <>
      <TextField
        label={label}
        type="password"
        name="newPassword"
        autoComplete="new-password"
        required
        maxLength={MAX_PASSWORD_LENGTH}
        value={value.password}
        onChange={(e) => onChange({ ...value, password: e.target.value })}
        hint={errors.password ? undefined : newPasswordHint(value.password, email)}
        error={errors.password}
      />
      <TextField
        label={`Confirm ${label.toLowerCase()}`}
        type="password"
        name="confirmPassword"
        autoComplete="new-password"
        required
        maxLength={MAX_PASSWORD_LENGTH}
        value={value.confirm}
        onChange={(e) => onChange({ ...value, confirm: e.target.value })}
        hint={mismatch ? undefined : 'Type it again.'}
        error={mismatch}
      />
    </>
  );
}
