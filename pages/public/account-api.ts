/**
 * The account calls (claim, forgotten password, reset, change password) through the typed client: their
 * shapes come from the Worker's OpenAPI routes (workers/src/routes/auth.ts and users.ts).
 */
import { api, call } from '../api/client';

/** Which emailed link a person asks for: the first one (claim an account the Skool sync made) or a reset. */
export type LinkKind = 'claim' | 'reset';

/** POST /api/auth/claim/request or /api/auth/password/forgot: the same `message` whether or not the account exists. */
export const requestLink = (kind: LinkKind, email: string) =>
  kind === 'claim' ? call(api.api.auth.claim.request.$post({ json: { email } })) : call(api.api.auth.password.forgot.$post({ json: { email } }));

/** POST /api/auth/claim or /api/auth/password/reset: the token from the email and the new password; signs in like the login. */
export const setPasswordWithLink = (kind: LinkKind, token: string, password: string) =>
  kind === 'claim' ? call(api.api.auth.claim.$post({ json: { token, password } })) : call(api.api.auth.password.reset.$post({ json: { token, password } }));

/** POST /api/users/me/password: the signed-in person's own password; their other sessions are signed out. */
export const changePassword = (currentPassword: string, newPassword: string) =>
  call(api.api.users.me.password.$post({ json: { currentPassword, newPassword } }));
