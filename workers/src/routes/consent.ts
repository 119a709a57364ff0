import { z } from '@hono/zod-openapi';
import { CONSENT_POINTS, CONSENT_TEXT, CONSENT_TITLE, CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { log } from '@hybrid-coach/shared/log';
import type { Db } from '../db/client';
import { consentedAt, recordConsent } from '../lib/consent';
import { AppError, ok } from '../lib/errors';
import { authRoute, createApp, jsonBody, okBody } from '../lib/openapi';

const Consent = z
  .object({
    version: z.number().int().openapi({ description: 'The current version of the text' }),
    title: z.string(),
    points: z.array(z.string()).openapi({ description: 'The facts, one sentence each, in order' }),
    text: z.string().openapi({ description: 'Title and points as one text, what a consent record refers to' }),
    agreed: z.boolean().openapi({ description: 'Whether the signed-in user agreed to this version' }),
    agreedAt: z.string().datetime().nullable(),
  })
  .openapi('Consent');

const consentRoute = authRoute({
  method: 'get',
  path: '/',
  summary: 'What is recorded in a session (the current consent text), and whether and when the signed-in user agreed to it',
  responses: { 200: okBody('The current text and this user’s agreement', Consent) },
});

const ConsentAgree = z
  .object({ version: z.number().int().openapi({ description: 'The version the user read: must be the current one' }) })
  .strict()
  .openapi('ConsentAgree');

const agreeRoute = authRoute({
  method: 'post',
  path: '/',
  summary: 'The signed-in user agrees to the current consent text (again: no change)',
  description:
    'A version other than the current one is a 400 with `fields.version` (the text changed since it was shown: show it again). Clients need this before POST /api/rooms answers anything but 403 CONSENT_REQUIRED.',
  request: { body: jsonBody(ConsentAgree) },
  responses: { 200: okBody('The agreement as recorded', Consent) },
});

async function consentOf(db: Db, userId: string) {
  const at = await consentedAt(db, userId);
  return {
    version: CONSENT_VERSION,
    title: CONSENT_TITLE,
    points: [...CONSENT_POINTS],
    text: CONSENT_TEXT,
    agreed: at !== null,
    agreedAt: at?.toISOString() ?? null,
  };
}

/** Consent before sessions, mounted at /api/users/me/consent. */
export const consent = createApp()
  .openapi(consentRoute, async (c) => c.json(ok(await consentOf(c.var.db, c.get('user').id)), 200))
  .openapi(agreeRoute, async (c) => {
    const userId = c.get('user').id;
    const { version } = c.req.valid('json');
    if (version !== CONSENT_VERSION) {
      throw new AppError('VALIDATION_ERROR', 'This is not the current consent text: read it again', {
        fields: { version: `The current version is ${CONSENT_VERSION}` },
      });
    }
    await recordConsent(c.var.db, userId);
    log('info', 'consent given', { requestId: c.get('requestId'), userId, version });
    return c.json(ok(await consentOf(c.var.db, userId)), 200);
  });
