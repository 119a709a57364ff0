import { OpenAPIHono } from '@hono/zod-openapi';
import type { Hook, z } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env';
import { AppError } from './errors';

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

/** A sub-app whose zod validation failures answer in the one error shape. */
export const createApp = () => new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

export const bearerSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { cookieAuth: [] }];

/** An OpenAPI JSON body or response entry for `schema`. */
export const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
