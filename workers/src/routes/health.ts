import { createRoute, z } from '@hono/zod-openapi';
import { describeError, log } from '@hybrid-coach/shared/log';
import { requireSecret } from '../lib/config';
import { AppError, errorResponses, ok, okSchema } from '../lib/errors';
import { createApp } from '../lib/openapi';
import { MailConfigError, mailConfig } from '../mail/config';

const Status = z.object({ status: z.literal('ok') });

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Liveness: the Worker answers',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: okSchema(Status) } } } },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'Readiness: D1 answers a query, mail is configured and the data encryption key is set',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: okSchema(Status) } } },
    ...errorResponses('SERVICE_UNAVAILABLE'),
  },
});

export const health = createApp()
  .openapi(healthRoute, (c) => c.json(ok({ status: 'ok' as const }), 200))
  .openapi(readyRoute, async (c) => {
    try {
      await c.env.DB.prepare('SELECT 1').first();
    } catch (err) {
      log('error', 'readiness: D1 unreachable', { requestId: c.get('requestId'), ...describeError(err) });
      throw new AppError('SERVICE_UNAVAILABLE', 'The database is not answering');
    }
    try {
      // Intake answers and notes cannot be written without it (lib/field-crypto.ts).
      requireSecret(c.env, 'DATA_ENCRYPTION_KEY');
    } catch (err) {
      log('error', 'readiness: no data encryption key', { requestId: c.get('requestId'), ...describeError(err) });
      throw new AppError('SERVICE_UNAVAILABLE', err instanceof Error ? err.message : 'DATA_ENCRYPTION_KEY is not set');
    }
    try {
      mailConfig(c.env);
    } catch (err) {
      if (!(err instanceof MailConfigError)) throw err;
      // The message names the setting to fix (never a secret's value).
      log('error', 'readiness: mail not configured', { requestId: c.get('requestId'), message: err.message });
      throw new AppError('SERVICE_UNAVAILABLE', `Mail is not configured: ${err.message}`);
    }
    return c.json(ok({ status: 'ok' as const }), 200);
  });
