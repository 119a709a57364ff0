/**
 * Login sessions: a JWT (HS256, jose) whose jti names a `login_sessions` row, so that logout can
 * revoke it. Accepted as `Authorization: Bearer` or as the `hc_session` cookie.
 */

import type { MembershipTier, UserRole } from '@hybrid-coach/shared/tiers';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { jwtVerify, SignJWT } from 'jose';
import type { AppEnv, AuthUser } from '../app-env';
import type { Db } from '../db/client';
import { loginSessions, users } from '../db/schema';
import { requireSecret } from './config';
import { AppError } from './errors';

export const SESSION_COOKIE = 'hc_session';
export const SESSION_TTL_SECONDS = 7 * 24 * 60 * 60;
const ISSUER = 'hybrid-coach';
const AUDIENCE = 'hybrid-coach';

const key = (env: Env) => new TextEncoder().encode(requireSecret(env, 'JWT_SECRET'));

export interface SessionClaims {
  sub: string;
  role: UserRole;
  tier: MembershipTier;
  jti: string;
}

/** Records a login session and signs its token. */
export async function issueSession(
  env: Env,
  db: Db,
  user: { id: string; role: UserRole; membershipTier: MembershipTier },
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; expiresAt: Date }> {
  const jti = crypto.randomUUID();
  const now = Date.now();
  const expiresAt = new Date(now + SESSION_TTL_SECONDS * 1000);
  const token = await new SignJWT({ role: user.role, tier: user.membershipTier })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.id)
    .setJti(jti)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key(env));
  await db.insert(loginSessions).values({ id: jti, userId: user.id, expiresAt, ip: meta.ip, userAgent: meta.userAgent });
  return { token, expiresAt };
}

const unauthorized = () => new AppError('UNAUTHORIZED', 'Sign in to continue');

function presentedToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header('Authorization');
  if (header) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw unauthorized();
    return m[1];
  }
  // Never from the URL, where request logs keep it: a WebSocket opens with a single-use ticket (routes/rooms.ts).
  return getCookie(c, SESSION_COOKIE);
}

/** Checks signature, algorithm, issuer, audience and expiry. Any failure → 401. */
async function verifyToken(env: Env, token: string): Promise<SessionClaims> {
  try {
    const { payload } = await jwtVerify(token, key(env), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'jti', 'exp'],
    });
    return payload as unknown as SessionClaims;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('JWT_SECRET')) throw err;
    throw unauthorized();
  }
}

/** An account that may sign in and be signed in: not deleted, not disabled by an admin. */
export const signInAllowed = and(isNull(users.deletedAt), isNull(users.disabledAt));

/**
 * Requires a valid, unrevoked session of a live user (a disabled account's token is refused at once). Role and tier come from D1, so a change by
 * the nightly sync applies at once, whatever the token says.
 */
export const requireAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = presentedToken(c);
  if (!token) throw unauthorized();
  const claims = await verifyToken(c.env, token);
  const row = await c.var.db
    .select({ id: users.id, email: users.email, displayName: users.displayName, role: users.role, tier: users.membershipTier })
    .from(loginSessions)
    .innerJoin(users, eq(users.id, loginSessions.userId))
    .where(
      and(
        eq(loginSessions.id, claims.jti),
        eq(loginSessions.userId, claims.sub),
        isNull(loginSessions.revokedAt),
        gt(loginSessions.expiresAt, new Date()),
        signInAllowed,
      ),
    )
    .get();
  if (!row) throw unauthorized();
  const user: AuthUser = { ...row, sessionId: claims.jti };
  c.set('user', user);
  await next();
};

/** Requires one of `roles` (after `requireAuth`). */
export const requireRole =
  (...roles: UserRole[]): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    if (!roles.includes(c.get('user').role)) throw new AppError('FORBIDDEN', 'You do not have access to this');
    await next();
  };

export async function revokeSession(db: Db, jti: string): Promise<void> {
  await db
    .update(loginSessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(loginSessions.id, jti), isNull(loginSessions.revokedAt)));
}
