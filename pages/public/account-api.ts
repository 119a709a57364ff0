/**
 * The account routes of issue 15 (claim, forgotten password, reset, change password), called with
 * their request and answer shapes declared here: the Worker's OpenAPI document (its zod schemas in
 * workers/src/routes/) is the authority, and once those routes are in `AppType` each call below
 * becomes `call(api.api.…$post({ json }))` and this file goes away. Same credentials and envelope as
 * the typed client: the HttpOnly cookies ride along (the claim and reset set the sign-in's browser
 * binding, as the login does), the session token as a Bearer, errors thrown as ApiError by `call`.
 */
import { call, sessionToken } from '../api/client';
import { API_URL } from '../api/config';
import type { LoginResult } from './sign-in-steps';

/** An answer in the API's envelope, as `call` reads it. */
interface Answer<T> {
  status: number;
  headers: Headers;
  json(): Promise<{ success: true; data: T } | { success: false; error: { code: string; message: string } }>;
}

function post<T>(path: string, body: unknown): Promise<Answer<T>> {
  const token = sessionToken.get();
  return fetch(new URL(path, API_URL), {
    method: 'POST',
    credentials: 'include',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** Which emailed link a person asks for: the first one (claim an account the Skool sync made) or a reset. */
export type LinkKind = 'claim' | 'reset';

/** POST /api/auth/claim/request or /api/auth/password/forgot: the same `message` whether or not the account exists. */
export const requestLink = (kind: LinkKind, email: string) =>
  call(post<{ message: string }>(kind === 'claim' ? '/api/auth/claim/request' : '/api/auth/password/forgot', { email }));

/** POST /api/auth/claim or /api/auth/password/reset: the token from the email and the new password; signs in like the login. */
export const setPasswordWithLink = (kind: LinkKind, token: string, password: string) =>
  call(post<LoginResult>(kind === 'claim' ? '/api/auth/claim' : '/api/auth/password/reset', { token, password }));

/** POST /api/users/me/password: the signed-in person's own password; their other sessions are signed out. */
export const changePassword = (currentPassword: string, newPassword: string) =>
  call(post<{ changed: true }>('/api/users/me/password', { currentPassword, newPassword }));
