/** Where the API and the other sites are; set at build time through HC_PUBLIC_* variables. */
/**
 * Locally `localhost`, like the portals: the API's cookies (the session, the sign-in's browser binding)
 * only reach it from a page of the same site, and localhost and 127.0.0.1 are two sites to a browser.
 */
export const API_URL: string = import.meta.env.HC_PUBLIC_API_URL ?? 'http://localhost:8787';
/** The public site (login, pricing). */
export const PUBLIC_URL: string = import.meta.env.HC_PUBLIC_PUBLIC_URL ?? 'http://localhost:5170';

export const publicLoginUrl = new URL('/login', PUBLIC_URL).href;
export const publicPricingUrl = new URL('/pricing', PUBLIC_URL).href;
/** What is recorded and for how long (the consent text). */
export const publicPrivacyUrl = new URL('/privacy', PUBLIC_URL).href;
/** The client portal: where the coach portal sends a client who reaches it. */
export const CLIENT_URL: string = import.meta.env.HC_PUBLIC_CLIENT_URL ?? 'http://localhost:5172';
export const clientDashboardUrl = new URL('/dashboard', CLIENT_URL).href;
