/**
 * The API, through Hono's typed client over the Worker's own route types (`AppType`). Sessions ride
 * on the HttpOnly cookie the Worker sets (`credentials: 'include'`) and, where the browser does not
 * send it (API and portal on different sites), on the token kept in sessionStorage as a Bearer.
 */
import type { AppType } from '@hc/api';
import { hc } from 'hono/client';
import { API_URL } from './config';

const TOKEN_KEY = 'hc_token';

export const sessionToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

const clientOptions = {
  init: { credentials: 'include' },
  headers: (): Record<string, string> => {
    const token = sessionToken.get();
    return token ? { Authorization: `Bearer ${token}` } : {};
  },
} satisfies Parameters<typeof hc>[1];

export const api = hc<AppType>(API_URL, clientOptions);

/** The Skool sync console's routes: `skoolSyncApi['skool-sync']`. */
export const skoolSyncApi = api.api.admin;

/** An answer in the API's error shape (or no answer at all: code NETWORK_ERROR, status 0). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
    /** From Retry-After (or details.retryAfterSeconds) on a 429. */
    readonly retryAfterSeconds?: number,
    /** On a VALIDATION_ERROR: what is wrong with each field, by name. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorEnvelope {
  success: false;
  error: { code: string; message: string; details?: Record<string, unknown>; fields?: Record<string, string> };
}
type DataOf<J> = J extends { success: true; data: infer D } ? D : never;
interface TypedResponse {
  status: number;
  headers: Headers;
  json(): Promise<unknown>;
}

/** Awaits a typed-client call and answers its `data`, or throws an ApiError in the one error shape. */
export async function call<R extends TypedResponse>(request: Promise<R>): Promise<DataOf<Awaited<ReturnType<R['json']>>>> {
  let res: R;
  try {
    res = await request;
  } catch {
    throw new ApiError('NETWORK_ERROR', 'We could not reach Hybrid Coach. Check your connection and try again.', 0);
  }
  const body = (await res.json().catch(() => null)) as { success: true; data: unknown } | ErrorEnvelope | null;
  if (body?.success === true) return body.data as DataOf<Awaited<ReturnType<R['json']>>>;
  const error = body?.error ?? { code: 'INTERNAL_ERROR', message: `Unexpected answer (${res.status})` };
  const header = Number(res.headers.get('Retry-After'));
  const fromDetails = Number(error.details?.retryAfterSeconds);
  const retryAfter = header > 0 ? header : fromDetails > 0 ? fromDetails : undefined;
  throw new ApiError(error.code, error.message, res.status, error.details ?? {}, retryAfter, 'fields' in error ? (error.fields ?? {}) : {});
}

/** The message to show for anything thrown by `call`. */
export function messageOf(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong. Please try again.';
}
