import { DurableObject } from 'cloudflare:workers';
import { ipLimitKey } from '@hybrid-coach/shared/client-ip';

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Seconds until the next attempt would be allowed; 0 when allowed. */
  retryAfterSeconds: number;
  /** When allowed: the instant recorded, which `release` takes back. */
  at?: number;
}

/**
 * A sliding-window rate limiter, one object per key (`login:ip:<ip>`, `login:pair:<email>:<ip>`).
 * The object is single-threaded, so check-and-record is atomic. Timestamps live in storage, so an
 * evicted object keeps counting; an alarm clears the key once its window has passed.
 */
export class RateLimiter extends DurableObject<Env> {
  /** Records an attempt if fewer than `limit` were recorded in the last `windowMs`. */
  async hit(limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = Date.now();
    const recent = (await this.hits()).filter((t) => t > now - windowMs);
    if (recent.length >= limit) {
      const oldest = recent[0] ?? now;
      return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
    }
    recent.push(now);
    await this.ctx.storage.put({ hits: recent, windowMs });
    await this.ctx.storage.setAlarm(now + windowMs);
    return { allowed: true, remaining: limit - recent.length, retryAfterSeconds: 0, at: now };
  }

  /** Takes back one attempt recorded at `at` (one that turned out not to count, e.g. a good password). */
  async release(at: number): Promise<void> {
    const hits = await this.hits();
    const i = hits.indexOf(at);
    if (i < 0) return;
    hits.splice(i, 1);
    await this.ctx.storage.put('hits', hits);
  }

  /** Forget this key once its last attempt has left the window. */
  override async alarm(): Promise<void> {
    const windowMs = (await this.ctx.storage.get<number>('windowMs')) ?? 0;
    const newest = (await this.hits()).at(-1);
    if (newest === undefined || newest <= Date.now() - windowMs) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(newest + windowMs);
  }

  private async hits(): Promise<number[]> {
    return (await this.ctx.storage.get<number[]>('hits')) ?? [];
  }
}

/**
 * Login limits over 15 minutes. Failed sign-ins count per account and client IP (IPv6 by its /64), so
 * someone guessing from one network cannot lock the owner out from another; a generous per-account
 * ceiling still stops guessing spread over many networks; every attempt counts per IP.
 */
export const LOGIN_LIMITS = {
  windowMs: 15 * 60 * 1000,
  /** Failed sign-ins for one account from one IP (or IPv6 /64). */
  perAccountIp: 10,
  /** Failed sign-ins for one account from anywhere. */
  perAccount: 100,
  /** Sign-in attempts, failed or not, from one IP (or IPv6 /64). */
  perIp: 20,
} as const;

export type LoginLimits = { [K in keyof typeof LOGIN_LIMITS]: number };

/**
 * LOGIN_LIMITS, as the wrangler.toml vars set them (the same values; the e2e stack raises them, for it
 * signs in far more often than a person could), when a whole number from 1 to 100000:
 * LOGIN_LIMIT_PER_IP for the per-IP limit, LOGIN_LIMIT_PER_ACCOUNT for the per-account-and-IP failures
 * (and the account ceiling, if that is lower).
 */
export function loginLimits(env: Pick<Env, 'LOGIN_LIMIT_PER_IP' | 'LOGIN_LIMIT_PER_ACCOUNT'>): LoginLimits {
  const read = (v: string | undefined, fallback: number) => {
    const n = Number(v);
    return v && Number.isInteger(n) && n >= 1 && n <= 100_000 ? n : fallback;
  };
  const perAccountIp = read(env.LOGIN_LIMIT_PER_ACCOUNT, LOGIN_LIMITS.perAccountIp);
  return {
    windowMs: LOGIN_LIMITS.windowMs,
    perAccountIp,
    perAccount: Math.max(LOGIN_LIMITS.perAccount, perAccountIp),
    perIp: read(env.LOGIN_LIMIT_PER_IP, LOGIN_LIMITS.perIp),
  };
}

const limiter = (env: Env, key: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));

export async function rateLimit(env: Env, key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
  return limiter(env, key).hit(limit, windowMs);
}

/** The rate limiter keys of the login limits (`network` as from ipLimitKey, `email` normalized). */
export const loginLimitKeys = {
  ip: (network: string) => `login:ip:${network}`,
  pair: (email: string, network: string) => `login:pair:${email}:${network}`,
  account: (email: string) => `login:account:${email}`,
};

/** A sign-in attempt that the limits let through: say how it went, so only failures keep counting. */
export interface LoginAttempt {
  /** The password was right: the attempt is taken back from the failure counts. */
  succeeded(): Promise<void>;
}

/**
 * Checks and records one sign-in attempt against every login limit, before the password is checked
 * (so concurrent guesses cannot overshoot a limit); a success is taken back afterwards. Answers the
 * first limit reached, or the attempt.
 */
export async function startLoginAttempt(
  env: Env,
  ip: string,
  email: string,
): Promise<{ allowed: true; attempt: LoginAttempt } | { allowed: false; retryAfterSeconds: number }> {
  const limits = loginLimits(env);
  const network = ipLimitKey(ip);
  const byIp = await rateLimit(env, loginLimitKeys.ip(network), limits.perIp, limits.windowMs);
  if (!byIp.allowed) return { allowed: false, retryAfterSeconds: byIp.retryAfterSeconds };
  const failureKeys = [
    [loginLimitKeys.pair(email, network), limits.perAccountIp],
    [loginLimitKeys.account(email), limits.perAccount],
  ] as const;
  const held: { key: string; at: number }[] = [];
  const giveBack = () => Promise.all(held.map(({ key, at }) => limiter(env, key).release(at))).then(() => undefined);
  for (const [key, limit] of failureKeys) {
    const result = await rateLimit(env, key, limit, limits.windowMs);
    if (!result.allowed) {
      await giveBack();
      return { allowed: false, retryAfterSeconds: result.retryAfterSeconds };
    }
    if (result.at !== undefined) held.push({ key, at: result.at });
  }
  return { allowed: true, attempt: { succeeded: giveBack } };
}
