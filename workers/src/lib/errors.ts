import { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  TIER_LIMIT_REACHED: 403,
  CONSENT_REQUIRED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error the app throws; `app.onError` turns it into the one error shape. */
export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: {
      fields?: Record<string, string>;
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const ErrorBody = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().openapi({ example: 'VALIDATION_ERROR' }),
      message: z.string(),
      fields: z.record(z.string(), z.string()).optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

export type ErrorBody = z.infer<typeof ErrorBody>;

export function errorBody(err: AppError): ErrorBody {
  return {
    success: false,
    error: {
      code: err.code,
      message: err.message,
      ...(err.extra.fields ? { fields: err.extra.fields } : {}),
      ...(err.extra.details ? { details: err.extra.details } : {}),
    },
  };
}

/** OpenAPI response entries for the errors a route can answer. */
export function errorResponses(...codes: ErrorCode[]) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorBody } } }> = {};
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const prior = out[status]?.description;
    out[status] = {
      description: prior ? `${prior} or ${code}` : code,
      content: { 'application/json': { schema: ErrorBody } },
    };
  }
  return out;
}

/** Wraps a success payload in the envelope every endpoint answers with. */
export const ok = <T>(data: T) => ({ success: true as const, data });

export const okSchema = <T extends z.ZodType>(data: T) => z.object({ success: z.literal(true), data });
