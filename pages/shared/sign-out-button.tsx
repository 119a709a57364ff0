import { useState } from 'react';
import { useLocation } from 'react-router';
import { api, call, sessionToken } from '../api/client';
import { publicLoginUrl } from '../api/config';

/** Revokes the session on the server, forgets the token, and returns to the public sign-in. */
export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  // Read again on each navigation: the callback page stores the token after this header rendered.
  useLocation();
  if (!sessionToken.get()) return null;
  async function signOut() {
    setBusy(true);
    // Signed out locally whatever the server says: an expired session is signed out already.
    await call(api.api.auth.logout.$post()).catch(() => undefined);
    sessionToken.clear();
    window.location.assign(publicLoginUrl);
  }
  return (
    <button type="button" className="hc-button hc-button-secondary" onClick={signOut} disabled={busy}>
      Sign out
    </button>
  );
}
