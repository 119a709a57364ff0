import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env';
import { portalOrigins } from './config';
import { AppError } from './errors';
import { SESSION_COOKIE } from './session';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Cross-site request forgery guard for /api. A state-changing request (POST, PUT, PATCH, DELETE) or a
 * WebSocket upgrade that carries an Origin must come from one of the portals: SameSite=Lax sends the
 * cookie from every sibling subdomain (same site), and a bodiless POST needs no CORS preflight, so
 * the cookie alone proves nothing. Without an Origin, bearer calls (scripts, servers) go on; a state
 * change riding on the cookie alone is refused, as every browser sends Origin on these requests.
 * Webhooks are server-to-server calls, answered by their signatures.
 */
export const originCheck: MiddlewareHandler<AppEnv> = async (c, next) => {
  const upgrade = c.req.header('Upgrade')?.toLowerCase() === 'websocket';
  if ((!STATE_CHANGING.has(c.req.method) && !upgrade) || c.req.path.startsWith('/api/webhooks/')) return next();
  const origin = c.req.header('Origin');
  if (origin !== undefined) {
    if (!portalOrigins(c.env).includes(origin)) throw new AppError('FORBIDDEN', 'This request did not come from a Hybrid Coach site');
  } else if (!upgrade && !c.req.header('Authorization') && getCookie(c, SESSION_COOKIE) !== undefined) {
    throw new AppError('FORBIDDEN', 'A change sent with the sign-in cookie must come from a Hybrid Coach site (no Origin was sent)');
  }
  await next();
};
