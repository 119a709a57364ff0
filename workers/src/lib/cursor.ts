/**
 * Cursor pagination for lists that must never answer unbounded: the cursor is where the last page ended
 * (the sort key of its last row), opaque to callers (base64url of a JSON array), checked when read back.
 */
import { z } from '@hono/zod-openapi';
import { AppError } from './errors';

/** `?cursor=`: the `nextCursor` of the page before. */
export const CursorQuery = z.string().min(1).max(512).optional().openapi({ description: 'The nextCursor of the page before; none for the first page' });

/** The cursor that continues after a row with these sort keys. */
export function encodeCursor(keys: readonly (string | number)[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(keys));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** The sort keys a cursor carries, of the kinds `shape` names; a cursor that is not one answers 400. */
export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'number' ? number : string } {
  const invalid = () => new AppError('VALIDATION_ERROR', 'The cursor is not one this list gave', { fields: { cursor: 'unknown cursor' } });
  let keys: unknown;
  try {
    const binary = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
    keys = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(keys) || keys.length !== shape.length || keys.some((k, i) => typeof k !== shape[i])) throw invalid();
  return keys as { [K in keyof T]: T[K] extends 'number' ? number : string };
}

/** One page of `rows` read with `limit + 1`: the page and the cursor after its last row (null at the end). */
export function pageOf<R>(rows: R[], limit: number, keysOf: (row: R) => readonly (string | number)[]): { items: R[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keysOf(last)) : null };
}

/** The envelope of a page: its items, and the cursor for the next page (null when this is the last). */
export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
