import { useState } from 'react';
import { ApiError, api, call, sessionToken } from '../api/client';
import { publicLoginUrl } from '../api/config';
import { failureMessage, useAction } from '../shared/action';
import { Button, ConfirmDialog, NoticeLine, TextField } from '../ui';

/** The file name the Worker gave the export (Content-Disposition), or a plain one. */
const fileNameOf = (res: Response) => /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'hybrid-coach-data.zip';

/** GET /api/users/me/export, saved by the browser as the zip the Worker named. */
async function downloadMyData(): Promise<void> {
  const res = await api.api.users.me.export.$get();
  // An error answer is JSON in the one error shape: `call` turns it into the ApiError to show.
  if (!res.ok) await call(Promise.resolve(res));
  const url = URL.createObjectURL(await res.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = fileNameOf(res);
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the file to the browser's download; the URL is not needed after it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Settings › Your data (issue 17): download everything held about you (a zip: export.json and a readable
 * export.html), and delete the account (the password confirms it; erased after the grace period, during
 * which signing in offers to cancel).
 */
export function DataRights() {
  const download = useAction(downloadMyData, (err) => failureMessage(err, 'You can download your data 3 times a day.'));
  const [asking, setAsking] = useState(false);
  const [password, setPassword] = useState('');
  const remove = useAction(async (pw: string) => {
    const { erasesAt } = await call(api.api.users.me.deletion.$post({ json: { password: pw } }));
    sessionToken.clear();
    window.location.assign(`${publicLoginUrl}?deletion=${encodeURIComponent(erasesAt)}`);
    // Never settles: the page is leaving.
    await new Promise(() => undefined);
  }, failureMessage);
  const passwordError = remove.failure instanceof ApiError ? remove.failure.fields.password : undefined;

  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="data-title" data-testid="data-rights">
      <h2 id="data-title">Your data</h2>
      <p className="hc-muted">
        Everything we hold about you: your answers, every session with its transcript and summary, ratings, appointments and the notes a coach shared with the
        AI coach. A zip with a readable page and a file for programs.
      </p>
      <div>
        <Button variant="secondary" busy={download.busy} busyLabel="Preparing…" onClick={() => download.run()}>
          Download my data
        </Button>
      </div>
      <NoticeLine tone="error" text={download.error} />
      <h3>Delete my account</h3>
      <p className="hc-muted">
        You are signed out everywhere at once. Seven days later your account is erased with everything about you; until then, signing in lets you cancel the
        deletion.
      </p>
      <div>
        <Button
          variant="secondary"
          onClick={() => {
            remove.clear();
            setPassword('');
            setAsking(true);
          }}
        >
          Delete my account…
        </Button>
      </div>
      <ConfirmDialog
        open={asking}
        title="Delete your account?"
        confirmLabel="Delete my account"
        busy={remove.busy}
        onConfirm={() => remove.run(password)}
        onClose={() => setAsking(false)}
      >
        <p>Enter your password to confirm. You can cancel the deletion by signing in within seven days.</p>
        <TextField
          label="Password"
          type="password"
          name="deletePassword"
          autoComplete="current-password"
          value={password}
          onChange={(e) => {
            setPassword(e.target.value);
            remove.clear();
          }}
          error={passwordError}
        />
        <NoticeLine tone="error" text={passwordError ? null : remove.error} />
      </ConfirmDialog>
    </section>
  );
}
