import type { MembershipTier, UserRole } from '@hybrid-coach/shared/tiers';
import type { Db } from './db/client';

/** Who is asking, as read from D1 for this request (never from the token alone). */
export interface AuthUser {
  id: string;
  email: string;
  displayName: string;
  role: UserRole;
  tier: MembershipTier;
  /** The login session (JWT jti) the request came with. */
  sessionId: string;
}

export interface AppVariables {
  requestId: string;
  /** The request's D1 through drizzle (db/client.ts `withDb`): `c.var.db`. */
  db: Db;
  user: AuthUser;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
