/**
 * The end of every sign-in: the single-use grant, bound to the browser that signed in, and the answer
 * that carries it to the portal. Every step of a sign-in (password, then a staff MFA code) comes
 * before `prepareGrant`; it is the one place a grant is made.
 */
import { z } from '@hono/zod-openapi';
import type { UserRole } from '@hybrid-coach/shared/tiers';
import { USER_ROLES } from '@hybrid-coach/shared/tiers';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Db } from '../db/client';
import { authGrants } from '../db/schema';
import { portalUrl } from './config';
import { randomToken, sha256Hex } from './crypto';
import { bindBrowser } from './login-binding';

export const GRANT_TTL_MS = 5 * 60 * 1000;

/** A finished sign-in: the grant and the portal callback to redeem it at. */
export const GrantResult = z
  .object({
    grant: z.string().openapi({ description: 'Single-use, valid 5 minutes' }),
    redirectUrl: z.string().url(),
    role: z.enum(USER_ROLES),
  })
  .openapi('SignInGrant');

export const clientMeta = (c: Context<AppEnv>) => ({
  ip: c.req.header('CF-Connecting-IP') ?? null,
  userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
});

/**
 * The single-use grant that ends a sign-in, bound to the browser asking (lib/login-binding.ts): its
 * value for the answer, and the row to write (in the caller's batch).
 */
export async function prepareGrant(c: Context<AppEnv>, db: Db, userId: string) {
  const value = randomToken(32);
  const binding = bindBrowser(c);
  const write = db.insert(authGrants).values({
    grantHash: await sha256Hex(value),
    bindingHash: await sha256Hex(binding),
    userId,
    expiresAt: new Date(Date.now() + GRANT_TTL_MS),
    ...clientMeta(c),
  });
  return { value, write };
}

/** The answer of a finished sign-in, for a grant made by `prepareGrant`. */
export function grantAnswer(env: Env, role: UserRole, grant: string): z.infer<typeof GrantResult> {
  const redirectUrl = `${portalUrl(env, role)}/auth/callback?grant=${encodeURIComponent(grant)}`;
  return { grant, redirectUrl, role };
}
