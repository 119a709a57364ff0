import { createRoute, z } from '@hono/zod-openapi';
import { describeError, log } from '@hybrid-coach/shared/log';
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
  summary: 'Readiness: D1 answers a query and mail is configured',
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
      mailConfig(c.env);
    } catch (err) {
      if (!(err instanceof MailConfigError)) throw err;
      // The message names the setting to fix (never a secret's value).
      log('error', 'readiness: mail not configured', { requestId: c.get('requestId'), message: err.message });
      throw new AppError('SERVICE_UNAVAILABLE', `Mail is not configured: ${err.message}`);
    }
    return c.json(ok({ status: 'ok' as const }), 200);
  });
