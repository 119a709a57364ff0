/**
 * Ties a sign-in grant to the browser that signed in (login CSRF / account fixation): without it, a
 * link `…/auth/callback?grant=<someone else's grant>` signs whoever opens it into someone else's
 * account.
 *
 * The sign-in answer sets a random value in a cookie on the API's own origin (HttpOnly, Secure,
 * SameSite=Lax, `__Host-` so no sibling subdomain can plant one); the grant row keeps its hash; the
 * exchange (the portal's credentialed fetch to the API) must present the same cookie. Why this works
 * across the three sites: the public site, the portals and the API are subdomains of one site in
 * production (hybrid.coach, coach., app., api.), so the API's cookie, set during the public site's
 * login fetch, comes back on the portal's exchange fetch. Locally every origin must be same-site too:
 * the portals call the API as localhost:8787 in development and as 127.0.0.1 in the e2e stack.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { randomToken } from './crypto';

/** Sent as `__Host-hc_login`. */
const COOKIE = 'hc_login';
/** Outlives the grant (5 minutes) it is set with; set again with every grant. */
const MAX_AGE_SECONDS = 10 * 60;
const SHAPE = /^[A-Za-z0-9_-]{43}$/;

const options = { httpOnly: true, secure: true, sameSite: 'Lax', path: '/', prefix: 'host' } as const;

/**
 * The value binding this browser: the one its cookie already holds (a sign-in in another tab, or an
 * earlier step of this sign-in), else a new one; the cookie is set again either way, for a fresh
 * lifetime. Store its hash beside whatever it binds.
 */
export function bindBrowser(c: Context): string {
  const held = presentedBinding(c);
  const value = held ?? randomToken(32);
  setCookie(c, COOKIE, value, { ...options, maxAge: MAX_AGE_SECONDS });
  return value;
}

/** The binding this request's browser holds, if any (well-formed). */
export function presentedBinding(c: Context): string | undefined {
  const value = getCookie(c, COOKIE, 'host');
  return value && SHAPE.test(value) ? value : undefined;
}

/** Forgets the binding (after a refused exchange: a planted or stale value must not linger). */
export function clearBinding(c: Context): void {
  deleteCookie(c, COOKIE, options);
}
