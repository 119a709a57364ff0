import { drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

export const db = (env: Pick<Env, 'DB'>) => drizzle(env.DB, { schema });
export type Db = ReturnType<typeof db>;

/** A UNIQUE constraint refused the write (drizzle wraps D1's error in its own, as `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message.includes('UNIQUE constraint failed')) return true;
  return false;
}
