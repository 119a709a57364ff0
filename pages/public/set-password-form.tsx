import { type FormEvent, type ReactNode, useEffect, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, messageOf } from '../api/client';
import { failureMessage, useAction } from '../shared/action';
import { type NewPassword, NewPasswordFields, newPasswordProblems } from '../shared/new-password-fields';
import { Alert, Button, NoticeLine } from '../ui';
import { type LinkKind, setPasswordWithLink } from './account-api';
import { RequestLinkForm } from './request-link-form';
import { useSignInSteps } from './sign-in-steps';

/** What a claim page and a reset page say; the rest of them is the same. */
export interface LinkPageCopy {
  title: string;
  intro: string;
}

/**
 * The `?token=` of an emailed link, read once; then taken out of the address bar (and so out of the
 * history, a bookmark or a screenshot). State keeps it for the page's life, StrictMode's second render
 * included.
 */
function useLinkToken(): string | null {
  const location = useLocation();
  const navigate = useNavigate();
  const [token] = useState(() => new URLSearchParams(location.search).get('token'));
  useEffect(() => {
    const params = new URLSearchParams(location.search);
    if (!params.has('token')) return;
    params.delete('token');
    const search = params.toString();
    navigate({ pathname: location.pathname, search: search ? `?${search}` : '', hash: location.hash }, { replace: true });
  }, [location, navigate]);
  return token;
}

/** The new password (twice) and its button; `onSubmit` throws an ApiError to show (a weak password beside its field). */
export function SetPasswordForm({ submitLabel, onSubmit }: { submitLabel: string; onSubmit: (password: string) => Promise<void> }) {
  const [value, setValue] = useState<NewPassword>({ password: '', confirm: '' });
  const [checked, setChecked] = useState<{ password?: string; confirm?: string }>({});
  const save = useAction(onSubmit, failureMessage);
  const fromApi = save.failure instanceof ApiError ? save.failure.fields : {};
  const errors = { password: checked.password ?? fromApi.password, confirm: checked.confirm };
  const fieldError = Boolean(errors.password || errors.confirm);

  function submit(e: FormEvent) {
    e.preventDefault();
    const problems = newPasswordProblems(value);
    setChecked(problems);
    if (problems.password || problems.confirm) {
      save.clear();
      return;
    }
    save.run(value.password);
  }

  return (
    <form className="hc-stack" onSubmit={submit} noValidate data-testid="set-password">
      <NewPasswordFields
        value={value}
        errors={errors}
        onChange={(next) => {
          setValue(next);
          setChecked({});
          save.clear();
        }}
      />
      <Button type="submit" block busy={save.busy} busyLabel="Signing you in…">
        {submitLabel}
      </Button>
      <NoticeLine text={fieldError ? null : save.error} />
    </form>
  );
}

/** Where a link page stands: choosing the password; the link refused; or the password set, but the sign-in to begin again. */
type State = { kind: 'form' } | { kind: 'refused'; message: string } | { kind: 'set'; message: string };

/**
 * `/claim?token=…` and `/reset?token=…`: a new password from an emailed link, then signed in as the
 * sign-in page does (a grant, or two-step sign-in first). A link that is missing, used or expired says
 * so, with a form to get a new one.
 */
export function LinkPasswordPage({ kind, copy }: { kind: LinkKind; copy: LinkPageCopy }) {
  const token = useLinkToken();
  const [state, setState] = useState<State>(
    token ? { kind: 'form' } : { kind: 'refused', message: 'This link is incomplete: open it again from your email, or ask for a new one.' },
  );
  const [email, setEmail] = useState('');
  // The password is set by then: a two-step sign-in that cannot go on ends on the sign-in page.
  const steps = useSignInSteps((message) => setState({ kind: 'set', message }));

  if (steps.screen) return steps.screen;

  if (state.kind === 'refused') {
    return (
      <LinkCard title="This link does not work">
        <Alert title="We could not use this link">
          <p>{state.message}</p>
        </Alert>
        <p className="hc-muted">Send yourself a new link: it goes to the email you sign in with.</p>
        <RequestLinkForm kind={kind} email={email} onEmail={setEmail} submitLabel="Send me a new link" />
      </LinkCard>
    );
  }

  if (state.kind === 'set') {
    return (
      <LinkCard title="Your password is set">
        <Alert tone="info">
          <p>{state.message}</p>
        </Alert>
        <p>
          <Link to="/login">Go to sign in</Link>
        </p>
      </LinkCard>
    );
  }

  return (
    <LinkCard title={copy.title}>
      <p className="hc-muted">{copy.intro}</p>
      <SetPasswordForm
        submitLabel="Save password and sign in"
        onSubmit={async (password) => {
          let answer: Awaited<ReturnType<typeof setPasswordWithLink>>;
          try {
            answer = await setPasswordWithLink(kind, token ?? '', password);
          } catch (err) {
            // Used, expired or unknown: nothing to retry with this link.
            if (err instanceof ApiError && err.code === 'UNAUTHORIZED') {
              setState({ kind: 'refused', message: err.message });
              return;
            }
            throw err;
          }
          // An account waiting for deletion: the password is set; signing in with it offers to cancel.
          if ('deletionPending' in answer) {
            window.location.assign(`/login?deletion=${encodeURIComponent(answer.erasesAt)}`);
            return;
          }
          try {
            await steps.follow(answer);
          } catch (err) {
            // The password is set (the link is spent): the sign-in goes on from the sign-in page.
            setState({ kind: 'set', message: `${messageOf(err)} Sign in with your new password to continue.` });
          }
        }}
      />
    </LinkCard>
  );
}

function LinkCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="hc-card hc-narrow hc-stack" aria-labelledby="link-page-title">
      <h1 id="link-page-title">{title}</h1>
      {children}
    </section>
  );
}
