import { createRoute, type Hook, OpenAPIHono, z } from '@hono/zod-openapi';
import type { UserRole } from '@hybrid-coach/shared/tiers';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env';
import { AppError, type ErrorCode, errorResponses, okSchema } from './errors';
import { requireAuth, requireRole } from './session';

/** Names each invalid field (dotted path; `body` when the whole body is wrong). */
export function fieldsOf(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    const key = issue.path.map(String).join('.') || 'body';
    fields[key] ??= issue.message;
  }
  return fields;
}

/** Every route's zod failure becomes the one VALIDATION_ERROR shape, naming the fields. */
const validationHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (!result.success) {
    throw new AppError('VALIDATION_ERROR', 'Some fields are missing or invalid', { fields: fieldsOf(result.error.issues) });
  }
};

type RouteConfig = Parameters<OpenAPIHono<AppEnv>['openapi']>[0];

/**
 * The route as documented: one that takes path or query parameters, headers, cookies or a body is
 * validated (validationHook) and so may answer 400 VALIDATION_ERROR, whether or not it says so.
 */
export function withValidationError<R extends RouteConfig>(route: R): R {
  const r = route.request;
  const takesInput = Boolean(r && (r.params || r.query || r.headers || r.cookies || r.body));
  if (!takesInput || route.responses[400]) return route;
  return { ...route, responses: { ...route.responses, ...errorResponses('VALIDATION_ERROR') } };
}

/**
 * A change (POST, PUT, PATCH, DELETE) from a browser page of another site is refused 403 before it is
 * read (lib/origin-check.ts: a foreign Origin, or the cookie alone without one): the document says so.
 */
export function withOriginRefusal<R extends RouteConfig>(route: R): R {
  if (route.method === 'get' || route.method === 'head' || route.method === 'options' || route.responses[403]) return route;
  return { ...route, responses: { ...route.responses, ...errorResponses('FORBIDDEN') } };
}

/**
 * A sub-app whose zod validation failures answer in the one error shape, and whose OpenAPI document
 * lists that answer for every route that validates input, and the Origin check's 403 for every change.
 */
export const createApp = () => {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const register = app.openapi;
  // Route types are unchanged (a 400 is thrown, never returned by a handler): only the document learns of it.
  app.openapi = ((route: RouteConfig, ...rest: unknown[]) =>
    (register as (...args: unknown[]) => unknown)(withOriginRefusal(withValidationError(route)), ...rest)) as typeof app.openapi;
  return app;
};

export const bearerSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

interface Access {
  /** Only these roles (403 for the others); none named: anyone signed in. */
  roles?: readonly UserRole[];
  /** The errors the handler itself answers, besides 401 (and 403 with roles) and what createApp adds. */
  errors?: readonly ErrorCode[];
}

/**
 * A route for signed-in users: documented as bearer or cookie, behind requireAuth (then requireRole
 * with `roles`), its 401 (and 403) and `errors` in the document with the route's own responses.
 */
export const authRoute = <P extends string, R extends Omit<RouteConfig, 'path' | 'security' | 'middleware'> & { path: P } & Access>({
  roles,
  errors = [],
  ...route
}: R) => {
  const middleware: MiddlewareHandler<AppEnv>[] = roles ? [requireAuth, requireRole(...roles)] : [requireAuth];
  const codes = new Set<ErrorCode>(['UNAUTHORIZED', ...(roles ? (['FORBIDDEN'] as const) : []), ...errors]);
  return createRoute({ ...route, security: bearerSecurity, middleware, responses: { ...route.responses, ...errorResponses(...codes) } });
};

/** An OpenAPI JSON body or response entry for `schema`. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
/** A required JSON request body of `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ ...json(schema), required: true as const });
/** A success response: `schema` inside the `{ success: true, data }` envelope. */
export const okBody = <T extends z.ZodType>(description: string, schema: T) => ({ description, ...json(okSchema(schema)) });

/** An id in a path or a body: what the API takes for any row's id. */
export const Id = z.string().min(1).max(64);
/** `{id}` in the path. */
export const IdParams = z.object({ id: Id });
/** Coaches and admins: who coach-side routes admit. */
export const COACHES = ['COACH', 'ADMIN'] as const;
/** Admins only: who the staff console's admin routes admit. */
export const ADMINS = ['ADMIN'] as const;

/**
 * An admin's change to one row (`{id}` in the path), with a JSON body that says why (`reason`, kept in the
 * audit log): it answers `after`, the row after the change; 404 for an unknown id, 409 when the row's
 * state refuses the change.
 */
export const adminChange = <P extends `${string}{id}${string}`, B extends z.ZodType<{ reason: string }>, A extends ReturnType<typeof okBody>>(
  path: P,
  summary: string,
  body: B,
  after: A,
) =>
  authRoute({
    method: 'post',
    path,
    summary,
    roles: ADMINS,
    errors: ['NOT_FOUND', 'CONFLICT'],
    request: { params: IdParams, body: jsonBody(body) },
    responses: { 200: after },
  });

/** `?limit=`: a whole number from 1 to `max`, `fallback` when not given. */
export const limitQuery = (max: number, fallback: number, description?: string) => {
  const limit = z.coerce.number().int().min(1).max(max).default(fallback);
  return description ? limit.openapi({ description }) : limit;
};
