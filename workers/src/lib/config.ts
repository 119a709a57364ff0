import type { UserRole } from '@hybrid-coach/shared/tiers';
import { portalForRole } from '@hybrid-coach/shared/tiers';

/** Reads a required secret, failing with a message that names it. */
export function requireSecret(env: Env, name: 'JWT_SECRET' | 'DATA_ENCRYPTION_KEY', minLength = 32): string {
  const value = env[name];
  if (!value || value.length < minLength) {
    throw new Error(`${name} is required (at least ${minLength} characters): set it with \`wrangler secret put ${name}\`, or in .dev.vars locally`);
  }
  // The .dev.vars.example placeholder is long enough, and public: never a key outside development.
  if (env.ENVIRONMENT !== 'development' && value.startsWith('replace-with-')) {
    throw new Error(`${name} is still the .dev.vars.example placeholder in ${env.ENVIRONMENT}: \`wrangler secret put ${name}\` with a random value`);
  }
  return value;
}

/** The secret shared with the agent-host: signs calls both ways and seals the room's packets. */
export function agentHostSecret(env: Env): string {
  if (!env.AGENT_HOST_SECRET || env.AGENT_HOST_SECRET.length < 32) {
    throw new Error('AGENT_HOST_SECRET is required (at least 32 characters): `wrangler secret put AGENT_HOST_SECRET`, or .dev.vars locally');
  }
  return env.AGENT_HOST_SECRET;
}

/** The origins allowed to call the API with credentials: the three sites. */
export function portalOrigins(env: Env): string[] {
  return [env.PUBLIC_APP_URL, env.COACH_APP_URL, env.CLIENT_APP_URL].map((u) => new URL(u).origin);
}

export function portalUrl(env: Env, role: UserRole): string {
  return portalForRole(role) === 'client' ? env.CLIENT_APP_URL : env.COACH_APP_URL;
}
