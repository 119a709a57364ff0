/**
 * The environment read through zod: each part of the agent-host declares its variables as one schema
 * (agent/config.ts, skool/config.ts, host.ts), parsed once at start into an options object with its
 * defaults. A bad or missing variable stops the start with every problem, each naming its variable.
 */
import { z } from 'zod';

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A variable as set: trimmed; empty counts as unset. */
const trimmed = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

/** A variable that must be set (and not blank); `why` says what it is or how to do without it. */
export const required = (name: string, why = '') =>
  z
    .string({ error: `${name} is required${why}` })
    .trim()
    .min(1, `${name} is required${why}`);

/** A variable that may be unset: trimmed, then `fallback` (or undefined) when blank. */
export const optional = <F extends string | undefined = undefined>(fallback?: F) => trimmed.transform((v) => (v ?? fallback) as string | F);

/** One of `values`, `fallback` when unset. */
export const oneOf = <const T extends readonly [string, ...string[]]>(name: string, values: T, fallback: T[number]) =>
  trimmed.pipe(
    z.enum(values, { error: (issue) => `${name} must be ${values.map((v) => `"${v}"`).join(' or ')} (got "${String(issue.input)}")` }).default(fallback),
  );

/** A whole number at least `min`, `fallback` when unset; `unit` names what it counts, for the message. */
export const wholeNumber = <F extends number | undefined>(name: string, unit: string, fallback: F, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  trimmed.transform((text, ctx) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (Number.isInteger(value) && value >= min && value <= max) return value as number | F;
    ctx.addIssue({ code: 'custom', message: `${name} must be ${unit} (got "${text}")` });
    return z.NEVER;
  });

/** Parses `env` with `schema`, or throws one ConfigError listing every problem (each names its variable). */
export function parseEnv<T extends z.ZodType>(schema: T, env: Env, what: string): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) =>
    i.path.length > 0 && !i.message.startsWith(String(i.path[0])) ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
  throw new ConfigError(`${what} is misconfigured:\n  ${[...new Set(problems)].join('\n  ')}`);
}
