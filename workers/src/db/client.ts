import type { BatchItem } from 'drizzle-orm/batch';
import { drizzle } from 'drizzle-orm/d1';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import * as schema from './schema';

export const db = (env: Pick<Env, 'DB'>) => drizzle(env.DB, { schema });
export type Db = ReturnType<typeof db>;

/** Puts the database on the context once, for every handler and middleware after it: `c.var.db`. */
export const withDb: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('db', db(c.env));
  await next();
};

/** What `db.batch` takes: at least one statement (D1 refuses an empty batch). */
export type Batch = [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]];

/**
 * `statements` as a list `db.batch` takes, with no cast: a list that has a first or last element by its
 * shape (`[...writes, last]`) is one; any other list is one unless it is empty (then `undefined`, and
 * there is nothing to run): `const batch = batchOf(writes); if (batch) await db.batch(batch);`.
 */
export function batchOf<T extends BatchItem<'sqlite'>>(statements: readonly [T, ...T[]] | readonly [...T[], T]): [T, ...T[]];
export function batchOf<T extends BatchItem<'sqlite'>>(statements: readonly T[]): [T, ...T[]] | undefined;
export function batchOf<T extends BatchItem<'sqlite'>>(statements: readonly T[]): [T, ...T[]] | undefined {
  const [first, ...rest] = statements;
  return first === undefined ? undefined : [first, ...rest];
}

/** A UNIQUE constraint refused the write (drizzle wraps D1's error in its own, as `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message.includes('UNIQUE constraint failed')) return true;
  return false;
}

/** D1 binds at most 100 parameters a statement: ids for an `IN (…)` go this many at a time. */
export const IN_LIST_CHUNK = 90;

/** `items` cut into lists of at most `size` (the last one shorter; none for no items). */
export function chunked<T>(items: readonly T[], size = IN_LIST_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `read` over `ids` in chunks of IN_LIST_CHUNK and joins the rows (an empty list reads nothing). */
export async function readInChunks<T>(ids: readonly string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const chunk of chunked(ids)) out.push(...(await read(chunk)));
  return out;
}
