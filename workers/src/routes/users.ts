import { z } from '@hono/zod-openapi';
import { log } from '@hybrid-coach/shared/log';
import { MAX_PASSWORD_LENGTH, passwordProblem } from '@hybrid-coach/shared/password-policy';
import { canonicalTimeZone, DEFAULT_TIME_ZONE } from '@hybrid-coach/shared/slots';
import { TIERS } from '@hybrid-coach/shared/tiers';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { Profile as ProfileRow } from '../db/schema';
import { profiles, users } from '../db/schema';
import { AppError, ok } from '../lib/errors';
import { encryptField, openProfile } from '../lib/field-crypto';
import { authRoute, createApp, jsonBody, okBody } from '../lib/openapi';
import { hashPassword, verifyPassword } from '../lib/password';
import { passwordSetWrites } from '../lib/password-change';
import { usageOf } from '../lib/usage';
import { kickOutbox, outboxInsert } from '../mail/outbox';
import { passwordChangedMail } from '../mail/templates';
import { LOGIN_LIMITS, rateLimit } from '../rate-limiter';
import { publicUserFields } from './auth';
import { confirmZoneWrites } from './availability';

const Me = z
  .object({
    ...publicUserFields,
    isAvailable: z.boolean().openapi({ description: 'Coaches: open for bookings by Premium clients' }),
    emailReminders: z.boolean().openapi({ description: 'Reminder emails before appointments (security emails always go)' }),
    timeZone: z.string().openapi({ description: 'IANA time zone a coach’s availability is read in (UTC until one is chosen)' }),
    timeZoneConfirmed: z.boolean().openapi({ description: 'false until the user chooses a zone: the coach portal asks them to confirm it' }),
    passwordChangedAt: z.string().datetime().nullable(),
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

const meRoute = authRoute({
  method: 'get',
  path: '/me',
  summary: 'The signed-in user, tier limits and this month’s usage (read from D1 at each call)',
  responses: { 200: okBody('The signed-in user', Me) },
});

const MePatch = z
  .object({
    displayName: z.string().trim().min(1, 'Give a name').max(80).optional(),
    isAvailable: z.boolean().optional().openapi({ description: 'Coaches and admins only: open for bookings' }),
    emailReminders: z.boolean().optional().openapi({ description: 'Reminder emails before appointments' }),
    timeZone: z
      .string()
      .max(64)
      .transform((name, ctx) => {
        const zone = canonicalTimeZone(name);
        if (zone === null) ctx.addIssue({ code: 'custom', message: 'Not an IANA time zone (such as Europe/London)' });
        return zone ?? z.NEVER;
      })
      .optional()
      .openapi({
        type: 'string',
        description:
          'IANA time zone, such as America/New_York. The first one chosen moves the windows typed until then in UTC into it, each slot at the same instant; a later change keeps their local hours',
      }),
  })
  .strict()
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'Give displayName, isAvailable, emailReminders or timeZone' })
  .openapi('MePatch');

const patchMeRoute = authRoute({
  method: 'patch',
  path: '/me',
  summary: 'Settings: the display name, reminder emails, time zone; for coaches, whether they take bookings',
  errors: ['FORBIDDEN'],
  request: { body: jsonBody(MePatch) },
  responses: { 200: okBody('The signed-in user after the change', Me) },
});

const PasswordChange = z
  .object({
    currentPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
    newPassword: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  })
  .strict()
  .openapi('PasswordChange');

const changePasswordRoute = authRoute({
  method: 'post',
  path: '/me/password',
  summary: 'Change the password (the current one is needed); every other session is signed out',
  description:
    'A wrong current password is a 400 with `fields.currentPassword` (not a 401: the caller is signed in). A "password changed" email goes to the account. Limited to 10 tries in 15 minutes per account.',
  errors: ['RATE_LIMITED'],
  request: { body: jsonBody(PasswordChange) },
  responses: { 200: okBody('Changed', z.object({ changed: z.literal(true) })) },
});

/** Password changes (right or wrong) one account may try in 15 minutes. */
const PASSWORD_CHANGES_PER_WINDOW = 10;

const Profile = z
  .object({
    coachingGoals: z.string().nullable(),
    symptoms: z.string().nullable(),
    initialMood: z.number().int().min(1).max(5).nullable().openapi({ description: '1 (low) to 5 (good), given at onboarding' }),
    favouriteTrackUrl: z.string().nullable().openapi({ description: 'Played in the waiting room; null = the bundled calm track' }),
    onboardingCompleted: z.boolean(),
    onboardingCompletedAt: z.string().datetime().nullable().openapi({ description: 'Set once, when goals and mood are first both given' }),
  })
  .openapi('Profile');

/** Free text, trimmed; blank means "not given" (null). */
const freeText = z
  .string()
  .max(2000)
  .transform((v) => (v.trim() ? v.trim() : null));

const ProfilePatch = z
  .object({
    coachingGoals: freeText.optional(),
    symptoms: freeText.optional(),
    initialMood: z.number().int().min(1).max(5).optional(),
    favouriteTrackUrl: z
      .url({ protocol: /^https?$/, error: 'Must be an http(s) URL' })
      .max(2048)
      .nullable()
      .optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'Give at least one field to change' })
  .openapi('ProfilePatch');

const profileRoute = authRoute({
  method: 'get',
  path: '/me/profile',
  summary: 'The signed-in user’s coaching profile (onboarding answers, favourite track)',
  responses: { 200: okBody('The profile (empty until onboarding)', Profile) },
});

const patchProfileRoute = authRoute({
  method: 'patch',
  path: '/me/profile',
  summary: 'Onboarding and settings: change some of the profile; onboarding completes when goals and mood are given',
  request: { body: jsonBody(ProfilePatch) },
  responses: { 200: okBody('The profile after the change', Profile) },
});

const trackOf = (p: ProfileRow | undefined) => {
  const url = p?.preferences?.favouriteTrackUrl;
  return typeof url === 'string' ? url : null;
};

const profileOut = (p: ProfileRow | undefined) => ({
  coachingGoals: p?.coachingGoals ?? null,
  symptoms: p?.symptoms ?? null,
  initialMood: p?.initialMood ?? null,
  favouriteTrackUrl: trackOf(p),
  onboardingCompleted: p?.onboardingCompleted ?? false,
  onboardingCompletedAt: p?.onboardingCompletedAt?.toISOString() ?? null,
});

export const usersApp = createApp()
  .openapi(profileRoute, async (c) => {
    const row = await c.var.db
      .select()
      .from(profiles)
      .where(eq(profiles.userId, c.get('user').id))
      .get();
    return c.json(ok(profileOut(await openProfile(c.env, row))), 200);
  })
  .openapi(patchProfileRoute, async (c) => {
    const userId = c.get('user').id;
    const patch = c.req.valid('json');
    const db = c.var.db;
    const before = await openProfile(c.env, await db.select().from(profiles).where(eq(profiles.userId, userId)).get());
    const next = {
      coachingGoals: patch.coachingGoals !== undefined ? patch.coachingGoals : (before?.coachingGoals ?? null),
      symptoms: patch.symptoms !== undefined ? patch.symptoms : (before?.symptoms ?? null),
      initialMood: patch.initialMood ?? before?.initialMood ?? null,
      preferences:
        patch.favouriteTrackUrl !== undefined ? { ...(before?.preferences ?? {}), favouriteTrackUrl: patch.favouriteTrackUrl } : (before?.preferences ?? null),
    };
    const complete = next.coachingGoals !== null && next.initialMood !== null;
    const now = new Date();
    // Every write seals both answers under the current key: a value from before field encryption, or
    // under the previous key during a rotation, is sealed again here (lib/field-crypto.ts).
    const sealed = {
      ...next,
      coachingGoals: await encryptField(c.env, 'profiles.coaching_goals', userId, next.coachingGoals),
      symptoms: await encryptField(c.env, 'profiles.symptoms', userId, next.symptoms),
    };
    const row = await db
      .insert(profiles)
      .values({ userId, ...sealed, onboardingCompleted: complete, onboardingCompletedAt: complete ? now : null })
      .onConflictDoUpdate({
        target: profiles.userId,
        set: {
          ...sealed,
          // Once completed, onboarding stays completed, and keeps the moment it first did.
          onboardingCompleted: sql`${profiles.onboardingCompleted} OR excluded.onboarding_completed`,
          onboardingCompletedAt: sql`coalesce(${profiles.onboardingCompletedAt}, excluded.onboarding_completed_at)`,
          updatedAt: now,
        },
      })
      .returning()
      .get();
    return c.json(ok(profileOut({ ...row, coachingGoals: next.coachingGoals, symptoms: next.symptoms })), 200);
  })
  .openapi(changePasswordRoute, async (c) => {
    const caller = c.get('user');
    const { currentPassword, newPassword } = c.req.valid('json');
    const limit = await rateLimit(c.env, `password-change:${caller.id}`, PASSWORD_CHANGES_PER_WINDOW, LOGIN_LIMITS.windowMs);
    if (!limit.allowed) throw new AppError('RATE_LIMITED', 'Too many tries. Try again later.', { retryAfterSeconds: limit.retryAfterSeconds });
    const db = c.var.db;
    const user = await db.select().from(users).where(eq(users.id, caller.id)).get();
    if (!user?.passwordHash || !(await verifyPassword(user.passwordHash, currentPassword))) {
      throw new AppError('VALIDATION_ERROR', 'Your current password is not right', { fields: { currentPassword: 'Not your current password' } });
    }
    const problem = newPassword === currentPassword ? 'Choose a password different from the current one' : passwordProblem(newPassword, user.email);
    if (problem) throw new AppError('VALIDATION_ERROR', problem, { fields: { newPassword: problem } });
    const now = new Date();
    await db.batch([
      ...passwordSetWrites(db, user.id, await hashPassword(newPassword), now, { signOut: true, keepSession: caller.sessionId }),
      ...(await outboxInsert(c.env, db, {
        to: { email: user.email, userId: user.id },
        template: 'password-changed',
        kind: 'security',
        idempotencyKey: `password-changed:${user.id}:${now.getTime()}`,
        expiresAt: new Date(now.getTime() + 7 * 86_400_000),
        content: passwordChangedMail({ name: user.displayName, signInUrl: `${c.env.PUBLIC_APP_URL}/login`, how: 'changed' }),
      })),
    ]);
    kickOutbox(c.env, c.executionCtx);
    log('info', 'password changed', { requestId: c.get('requestId'), userId: user.id });
    return c.json(ok({ changed: true as const }), 200);
  })
  .openapi(meRoute, async (c) => c.json(ok(await meOf(c.var.db, c.get('user').id)), 200))
  .openapi(patchMeRoute, async (c) => {
    const user = c.get('user');
    const patch = c.req.valid('json');
    if (patch.isAvailable !== undefined && user.role === 'CLIENT') throw new AppError('FORBIDDEN', 'Only coaches take bookings');
    const db = c.var.db;
    const now = new Date();
    const zoneBefore = patch.timeZone ? (await db.select({ timeZone: users.timeZone }).from(users).where(eq(users.id, user.id)).get())?.timeZone : undefined;
    // A first zone: the windows typed in UTC until now move into it, keeping their instants (same batch, before the zone is set).
    const zoneWrites = patch.timeZone && zoneBefore === null ? await confirmZoneWrites(db, user.id, patch.timeZone, now) : [];
    const setMe = db
      .update(users)
      .set({
        ...(patch.displayName !== undefined ? { displayName: patch.displayName } : {}),
        ...(patch.isAvailable !== undefined ? { isAvailable: patch.isAvailable } : {}),
        ...(patch.emailReminders !== undefined ? { emailReminders: patch.emailReminders } : {}),
        ...(patch.timeZone !== undefined ? { timeZone: patch.timeZone } : {}),
        updatedAt: now,
      })
      .where(eq(users.id, user.id));
    const [first, ...rest] = zoneWrites;
    await (first ? db.batch([first, ...rest, setMe]) : setMe);
    return c.json(ok(await meOf(db, user.id)), 200);
  });

async function meOf(db: Db, userId: string) {
  const { user, usage } = await usageOf(db, userId);
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    tier: user.membershipTier,
    isAvailable: user.isAvailable,
    emailReminders: user.emailReminders,
    timeZone: user.timeZone ?? DEFAULT_TIME_ZONE,
    timeZoneConfirmed: user.timeZone !== null,
    passwordChangedAt: user.passwordChangedAt?.toISOString() ?? null,
    limits: TIERS[user.membershipTier].limits,
    usage: {
      sessionsThisMonth: usage.sessionsThisMonth,
      minutesThisMonth: usage.minutesThisMonth,
      remainingMinutes: usage.remainingMinutes,
      resetsAt: usage.resetsAt.toISOString(),
    },
  };
}
