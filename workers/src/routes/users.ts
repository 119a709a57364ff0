import { createRoute, z } from '@hono/zod-openapi';
import { db as openDb } from '../db/client';
import { MEMBERSHIP_TIERS, TIERS, USER_ROLES } from '../domain/tiers';
import { errorResponses, ok, okSchema } from '../lib/errors';
import { bearerSecurity, createApp } from '../lib/openapi';
import { requireAuth } from '../lib/session';
import { usageOf } from '../lib/usage';

const Me = z
  .object({
    id: z.string(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(USER_ROLES),
    tier: z.enum(MEMBERSHIP_TIERS),
    limits: z.object({
      sessionsPerMonth: z.number().int().nullable(),
      minutesPerMonth: z.number().int().nullable(),
      humanCoachAccess: z.boolean(),
      aiReportsEnabled: z.boolean(),
      prioritySupport: z.boolean(),
    }),
    usage: z.object({
      sessionsThisMonth: z.number().int(),
      minutesThisMonth: z.number().int(),
      remainingMinutes: z.number().int().nullable().openapi({ description: 'null = unlimited' }),
      resetsAt: z.string().datetime(),
    }),
  })
  .openapi('Me');

const meRoute = createRoute({
  method: 'get',
  path: '/me',
  summary: 'The signed-in user, tier limits and this month’s usage (read from D1 at each call)',
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: 'The signed-in user', content: { 'application/json': { schema: okSchema(Me) } } },
    ...errorResponses('UNAUTHORIZED'),
  },
});

export const usersApp = createApp().openapi(meRoute, async (c) => {
  const { user, usage } = await usageOf(openDb(c.env), c.get('user').id);
  return c.json(
    ok({
      id: user.id,
      email: user.email,
      displayName: user.displayName,
      role: user.role,
      tier: user.membershipTier,
      limits: TIERS[user.membershipTier].limits,
      usage: {
        sessionsThisMonth: usage.sessionsThisMonth,
        minutesThisMonth: usage.minutesThisMonth,
        remainingMinutes: usage.remainingMinutes,
        resetsAt: usage.resetsAt.toISOString(),
      },
    }),
    200,
  );
});
