import { DurableObject } from 'cloudflare:workers';

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Seconds until the next attempt would be allowed; 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * A sliding-window rate limiter, one object per key (`login:ip:<ip>`, `login:account:<email>`).
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
    return { allowed: true, remaining: limit - recent.length, retryAfterSeconds: 0 };
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

/** Login limits: per account and per client IP, over 15 minutes. */
export const LOGIN_LIMITS = {
  windowMs: 15 * 60 * 1000,
  perAccount: 10,
  perIp: 20,
} as const;

/** Optional overrides, for a harness that signs in far more often than a person could (the e2e stack). */
type LimitVars = Partial<Record<'LOGIN_LIMIT_PER_IP' | 'LOGIN_LIMIT_PER_ACCOUNT', string>>;

/** LOGIN_LIMITS, with LOGIN_LIMIT_PER_IP / LOGIN_LIMIT_PER_ACCOUNT when set to a whole number from 1 to 100000. */
export function loginLimits(env: Env): { windowMs: number; perAccount: number; perIp: number } {
  const vars = env as unknown as LimitVars;
  const read = (v: string | undefined, fallback: number) => {
    const n = Number(v);
    return v && Number.isInteger(n) && n >= 1 && n <= 100_000 ? n : fallback;
  };
  return {
    windowMs: LOGIN_LIMITS.windowMs,
    perAccount: read(vars.LOGIN_LIMIT_PER_ACCOUNT, LOGIN_LIMITS.perAccount),
    perIp: read(vars.LOGIN_LIMIT_PER_IP, LOGIN_LIMITS.perIp),
  };
}

export async function rateLimit(env: Env, key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
  return stub.hit(limit, windowMs);
}
