import { LinkPasswordPage } from './set-password-form';

/** `/reset?token=…`: a new password from the link of a "Forgot your password?" email. */
export function ResetPage() {
  return (
    <LinkPasswordPage
      kind="reset"
      copy={{
        title: 'Choose a new password',
        intro: 'Choose a new password for your account. Saving it signs you out on every other device.',
      }}
    />
  );
}
