import { LinkPasswordPage } from './set-password-form';

/** `/claim?token=…`: the first password of an account the Skool sync made, from the link in its email. */
export function ClaimPage() {
  return (
    <LinkPasswordPage
      kind="claim"
      copy={{
        title: 'Choose your password',
        intro: 'Welcome to Hybrid Coach. Choose a password to finish setting up your account: you will sign in with your email and this password.',
      }}
    />
  );
}
