import { createRoute, z } from '@hono/zod-openapi';
import { ipLimitKey } from '@hybrid-coach/shared/client-ip';
import { DELETION_GRACE_MS } from '@hybrid-coach/shared/data-export';
import { log } from '@hybrid-coach/shared/log';
import { signInStep } from '@hybrid-coach/shared/mfa';
import { MAX_PASSWORD_LENGTH, passwordProblem } from '@hybrid-coach/shared/password-policy';
import type { UserRole } from '@hybrid-coach/shared/tiers';
import { MEMBERSHIP_TIERS, USER_ROLES } from '@hybrid-coach/shared/tiers';
import { and, eq, gt, isNotNull, isNull, or } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../app-env';
import { batchOf, type Db } from '../db/client';
import { authGrants, claimTokens, passwordResetTokens, staffMfa, users } from '../db/schema';
import { claimLinkWrites, resetLinkWrites } from '../lib/account-links';
import { auditInsert } from '../lib/audit';
import { normalizeEmail, sha256Hex } from '../lib/crypto';
import { AppError, errorResponses, ok } from '../lib/errors';
import { clearBinding, presentedBinding } from '../lib/login-binding';
import { prepareChallenge, requiredForCoaches } from '../lib/mfa';
import { authRoute, createApp, jsonBody, okBody } from '../lib/openapi';
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from '../lib/password';
import { passwordSetWrites } from '../lib/password-change';
import { issueSession, revokeSession, SESSION_COOKIE, SESSION_TTL_SECONDS, signInAllowed } from '../lib/session';
import { clientMeta, GrantResult, grantAnswer, prepareGrant } from '../lib/sign-in';
import { kickOutbox, outboxInsert } from '../mail/outbox';
import { passwordChangedMail } from '../mail/templates';
import type { LoginAttempt } from '../rate-limiter';
import { LOGIN_LIMITS, loginLimits, rateLimit, startLoginAttempt } from '../rate-limiter';

/**
 * Emailed links (claim or reset) a client IP may ask for in 15 minutes: half its sign-in attempts
 * (LOGIN_LIMIT_PER_IP, 20 by default, so 10; the e2e stack raises it with the login limits).
 */
const linkRequestsPerIp = (env: Env) => Math.max(1, Math.floor(loginLimits(env).perIp / 2));
/** Claim emails one address may be sent in an hour (more requests queue nothing, same answer). */
const CLAIM_REQUESTS_PER_EMAIL = 3;
const CLAIM_EMAIL_WINDOW_MS = 60 * 60 * 1000;

const LoginBody = z
  .object({
    email: z.string().trim().max(254).email(),
    password: z.string().min(1).max(256),
  })
  .openapi('LoginRequest');

/** A step before the grant: `step: true`, and a challenge for the calls that `challengeFor` names. */
const challengeStep = <K extends string>(step: K, challengeFor: string) =>
  z.object({
    ...({ [step]: z.literal(true) } as Record<K, z.ZodLiteral<true>>),
    challenge: z.string().openapi({ description: `For ${challengeFor}: single-use, bound to this browser` }),
    expiresAt: z.string().datetime(),
  });

const MfaRequired = challengeStep('mfaRequired', 'POST /api/auth/mfa with a code').openapi('MfaRequired');
const MfaEnrollmentRequired = challengeStep('mfaEnrollmentRequired', 'POST /api/auth/mfa/enrol and /enrol/confirm only').openapi('MfaEnrollmentRequired');

/** A grant; or, for staff, a code first (MFA on), or enrolment first (MFA required and not set up yet). */
const LoginResult = z.union([GrantResult, MfaRequired, MfaEnrollmentRequired]).openapi('LoginResult');

/** A client who asked to delete their account signs in during the grace period: no grant, only the offer to cancel. */
const DeletionPending = z
  .object({
    deletionPending: z.literal(true),
    erasesAt: z.string().datetime().openapi({ description: 'When the account is erased unless the deletion is cancelled (POST /api/auth/deletion/cancel)' }),
  })
  .openapi('DeletionPending');

/** The login's answer: a LoginResult, or (the right password of an account waiting for deletion) DeletionPending. */
const LoginAnswer = z.union([GrantResult, MfaRequired, MfaEnrollmentRequired, DeletionPending]).openapi('LoginAnswer');

const ExchangeBody = z.object({ grant: z.string().min(1).max(128) }).openapi('ExchangeRequest');

/** Who a user is, as every answer about one says it (also the start of GET /api/users/me). */
export const publicUserFields = {
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  role: z.enum(USER_ROLES),
  tier: z.enum(MEMBERSHIP_TIERS),
};

export const PublicUser = z.object(publicUserFields).openapi('User');

const ExchangeResult = z.object({ token: z.string(), user: PublicUser });

const loginRoute = createRoute({
  method: 'post',
  path: '/login',
  summary: 'Check email and password; answer a single-use grant and the portal to redeem it at, or the MFA step first',
  description:
    'Also sets the HttpOnly cookie `__Host-hc_login` (10 minutes) that binds the grant to this browser: only a request carrying it can exchange the grant. ' +
    'Staff with two-step sign-in on get `mfaRequired` and a challenge for POST /api/auth/mfa instead of a grant; admins (and coaches when MFA_REQUIRED_FOR_COACHES is on) without it get `mfaEnrollmentRequired` and a challenge for POST /api/auth/mfa/enrol. Clients never get an MFA step.',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: okBody('Signed in (or, for an account waiting for deletion, only the offer to cancel it)', LoginAnswer),
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED'),
  },
});

const cancelDeletionRoute = createRoute({
  method: 'post',
  path: '/deletion/cancel',
  summary: 'Cancel the deletion of one’s account during the grace period (email and password again), and sign in',
  description:
    'Answers as POST /api/auth/login does (a grant). A wrong email or password is a 401 as at sign-in (same limits); an account not waiting for deletion is a 409.',
  request: { body: jsonBody(LoginBody) },
  responses: {
    200: okBody('Deletion cancelled and signed in', LoginResult),
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED', 'CONFLICT', 'RATE_LIMITED'),
  },
});

const exchangeRoute = createRoute({
  method: 'post',
  path: '/exchange',
  summary: 'Exchange a grant (once, within 5 minutes) for a session token and cookie',
  description:
    "Only from the browser that signed in: the request must carry the `__Host-hc_login` cookie set by the login (a credentialed fetch). A grant presented without it, or with another browser's, is refused with 401 and spent, and the cookie is cleared. After a success the cookie stays (10 minutes), so a sign-in in a second tab works too.",
  request: { body: jsonBody(ExchangeBody) },
  responses: {
    200: okBody('Session issued', ExchangeResult),
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED'),
  },
});

const logoutRoute = authRoute({
  method: 'post',
  path: '/logout',
  summary: 'Revoke the current session',
  responses: { 200: okBody('Signed out', z.object({ signedOut: z.literal(true) })) },
});

const ClaimRequestBody = z.object({ email: z.string().trim().max(254).email() }).openapi('ClaimRequest');
const ClaimBody = z.object({ token: z.string().min(1).max(128), password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }).openapi('Claim');

const claimRequestRoute = createRoute({
  method: 'post',
  path: '/claim/request',
  summary: 'Ask for a claim link for an account made by the Skool sync (same answer whether or not it exists)',
  request: { body: jsonBody(ClaimRequestBody) },
  responses: {
    200: okBody('Accepted', z.object({ message: z.string() })),
    ...errorResponses('VALIDATION_ERROR', 'RATE_LIMITED'),
  },
});

const claimRoute = createRoute({
  method: 'post',
  path: '/claim',
  summary: 'Set the password of a placeholder account with a claim token (single use, 7 days), and sign in',
  description:
    'Answers as POST /api/auth/login does (a grant, or the staff MFA step), and sets the same `__Host-hc_login` cookie. A weak password is refused (400) without spending the token.',
  request: { body: jsonBody(ClaimBody) },
  responses: {
    200: okBody('Claimed and signed in', LoginResult),
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED', 'RATE_LIMITED'),
  },
});

const ForgotBody = z.object({ email: z.string().trim().max(254).email() }).openapi('PasswordForgotRequest');
const ResetBody = z.object({ token: z.string().min(1).max(128), password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }).openapi('PasswordReset');

const forgotRoute = createRoute({
  method: 'post',
  path: '/password/forgot',
  summary: 'Ask for a password reset link (same answer whether or not the account exists)',
  description:
    'An account with a password gets a reset link (single use, 30 minutes); an account never claimed gets its claim link instead; an unknown address gets nothing. Limited per IP (429) and per address (silently: the answer stays the same).',
  request: { body: jsonBody(ForgotBody) },
  responses: {
    200: okBody('Accepted', z.object({ message: z.string() })),
    ...errorResponses('VALIDATION_ERROR', 'RATE_LIMITED'),
  },
});

const resetRoute = createRoute({
  method: 'post',
  path: '/password/reset',
  summary: 'Set a new password with a reset token (single use, 30 minutes); signs the account out everywhere, then signs in here',
  description:
    'Answers as POST /api/auth/login does (a grant, or the staff MFA step; for an account waiting for deletion, `deletionPending`: the password is set, and signing in offers to cancel). A weak password is refused (400) without spending the token.',
  request: { body: jsonBody(ResetBody) },
  responses: {
    200: okBody('Password reset and signed in', LoginAnswer),
    ...errorResponses('VALIDATION_ERROR', 'UNAUTHORIZED', 'RATE_LIMITED'),
  },
});

const CLAIM_REQUEST_ANSWER = 'If that email belongs to an account that has not been claimed yet, a link to set its password is on its way.';
const FORGOT_ANSWER = 'If that email belongs to an account, a link to choose a new password is on its way. It works for 30 minutes.';
/** Reset links one address may be sent in an hour (more requests queue nothing, same answer). */
const RESET_REQUESTS_PER_EMAIL = 3;
const INVALID_LINK = 'This link is invalid, used or expired. Ask for a new one.';

/** Lets one sign-in attempt through the login limits (rate-limiter.ts), or refuses it with 429. */
async function startAttempt(env: Env, ip: string, email: string): Promise<LoginAttempt> {
  const limited = await startLoginAttempt(env, ip, email);
  if (!limited.allowed) {
    throw new AppError('RATE_LIMITED', 'Too many sign-in attempts. Try again later.', {
      retryAfterSeconds: limited.retryAfterSeconds,
      details: { retryAfterSeconds: limited.retryAfterSeconds },
    });
  }
  return limited.attempt;
}

/** Who is signing in: enough to choose the next step. */
interface SigningIn {
  id: string;
  role: UserRole;
  mfaEnabledAt: Date | null;
}

/**
 * The end of a sign-in whose password (or emailed link) checked out: staff MFA comes before any grant
 * (password right → code, or enrolment → grant; routes/mfa.ts). `writes` go in the same batch, before
 * the grant or challenge (a reset spends the old ones).
 */
async function finishSignIn(c: Context<AppEnv>, db: Db, user: SigningIn, writes: BatchItem<'sqlite'>[]): Promise<z.infer<typeof LoginResult>> {
  const step = signInStep(user.role, Boolean(user.mfaEnabledAt), requiredForCoaches(c.env));
  if (step !== 'none') {
    const challenge = await prepareChallenge(c, db, user.id, step);
    await db.batch(batchOf([...writes, challenge.write]));
    log('info', step === 'verify' ? 'login needs mfa code' : 'login needs mfa setup', { requestId: c.get('requestId'), userId: user.id });
    const expiresAt = challenge.expiresAt.toISOString();
    return step === 'verify'
      ? { mfaRequired: true as const, challenge: challenge.value, expiresAt }
      : { mfaEnrollmentRequired: true as const, challenge: challenge.value, expiresAt };
  }
  const grant = await prepareGrant(c, db, user.id);
  await db.batch(batchOf([...writes, grant.write]));
  log('info', 'login granted', { requestId: c.get('requestId'), userId: user.id });
  return grantAnswer(c.env, user.role, grant.value);
}

/** An account that may sign in, or one disabled because it waits for deletion (which only cancelling lets in). */
const signInOrDeletionPending = or(signInAllowed, and(isNull(users.deletedAt), isNotNull(users.deletionRequestedAt)));

/** The answer to a right password of an account waiting for deletion: no grant, the offer to cancel. */
const deletionPendingAnswer = (requestedAt: Date) => ({
  deletionPending: true as const,
  erasesAt: new Date(requestedAt.getTime() + DELETION_GRACE_MS).toISOString(),
});

/**
 * The account by email (not deleted or disabled), with what signing in needs; also one disabled because it
 * waits for deletion (`deletionRequestedAt` set), which signing in answers with the offer to cancel.
 */
const accountByEmail = (db: Db, email: string) =>
  db
    .select({
      id: users.id,
      role: users.role,
      displayName: users.displayName,
      passwordHash: users.passwordHash,
      mfaEnabledAt: staffMfa.enabledAt,
      deletionRequestedAt: users.deletionRequestedAt,
    })
    .from(users)
    .leftJoin(staffMfa, eq(staffMfa.userId, users.id))
    .where(and(eq(users.email, email), signInOrDeletionPending))
    .get();

/** Email and password checked against the sign-in limits: the account, or 401 as at sign-in. */
async function checkedAccount(c: Context<AppEnv>, body: { email: string; password: string }) {
  const email = normalizeEmail(body.email);
  const attempt = await startAttempt(c.env, clientMeta(c).ip ?? 'unknown', email);
  const user = await accountByEmail(c.var.db, email);
  // Unknown email and unclaimed account verify a dummy hash: same answer, about the same time.
  const valid = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, body.password);
  if (!user?.passwordHash || !valid) {
    log('info', 'login refused', { requestId: c.get('requestId') });
    throw new AppError('UNAUTHORIZED', 'Email or password is incorrect');
  }
  // Only failures count towards the per-account limits: the owner is never locked out by signing in.
  await attempt.succeeded();
  return { ...user, passwordHash: user.passwordHash };
}

/** Link redemptions a client IP may try in 15 minutes (guessing a 256-bit token is hopeless; this keeps it so). */
const LINK_USES_PER_IP = 20;

async function limitLinkUse(c: Context<AppEnv>, kind: 'claim' | 'reset'): Promise<void> {
  const ip = ipLimitKey(clientMeta(c).ip ?? 'unknown');
  const limit = await rateLimit(c.env, `${kind}-use:ip:${ip}`, LINK_USES_PER_IP, LOGIN_LIMITS.windowMs);
  if (!limit.allowed) throw new AppError('RATE_LIMITED', 'Too many attempts. Try again later.', { retryAfterSeconds: limit.retryAfterSeconds });
}

/**
 * Redeems a claim or reset token with a new password: checks the password first (a weak one is refused
 * without spending the token), then spends the token in one conditional UPDATE (of two concurrent uses,
 * one wins). Answers the account and the writes that set the password, for the sign-in's batch: a claim
 * only spends the other links; a reset also signs the account out everywhere and queues the
 * "password changed" email.
 */
async function spendLink(
  c: Context<AppEnv>,
  table: typeof claimTokens | typeof passwordResetTokens,
  token: string,
  password: string,
  account: 'unclaimed' | 'claimed',
): Promise<{ user: SigningIn; writes: BatchItem<'sqlite'>[]; deletionRequestedAt: Date | null }> {
  const db = c.var.db;
  const now = new Date();
  const tokenHash = await sha256Hex(token);
  const live = and(eq(table.tokenHash, tokenHash), isNull(table.usedAt), gt(table.expiresAt, now));
  const pending = await db
    .select({
      tokenId: table.id,
      id: users.id,
      email: users.email,
      displayName: users.displayName,
      role: users.role,
      passwordHash: users.passwordHash,
      mfaEnabledAt: staffMfa.enabledAt,
      deletionRequestedAt: users.deletionRequestedAt,
    })
    .from(table)
    .innerJoin(users, eq(users.id, table.userId))
    .leftJoin(staffMfa, eq(staffMfa.userId, users.id))
    // An account waiting for deletion may set a new password (to sign in and cancel), never get a grant by it.
    .where(and(live, signInOrDeletionPending))
    .get();
  // A claim link for an account claimed meanwhile, or a reset link for one never claimed: not usable.
  if (!pending || (account === 'unclaimed') !== (pending.passwordHash === null)) throw new AppError('UNAUTHORIZED', INVALID_LINK);
  const problem = passwordProblem(password, pending.email);
  if (problem) throw new AppError('VALIDATION_ERROR', problem, { fields: { password: problem } });
  const passwordHash = await hashPassword(password);
  const consumed = await db.update(table).set({ usedAt: now }).where(live).returning({ userId: table.userId }).get();
  if (!consumed) throw new AppError('UNAUTHORIZED', INVALID_LINK);
  const writes = passwordSetWrites(db, pending.id, passwordHash, now, { signOut: account === 'claimed' });
  if (account === 'claimed') {
    writes.push(
      ...(await outboxInsert(c.env, db, {
        to: { email: pending.email, userId: pending.id },
        template: 'password-changed',
        kind: 'security',
        idempotencyKey: `password-changed:reset:${pending.tokenId}`,
        expiresAt: new Date(now.getTime() + 7 * 86_400_000),
        content: passwordChangedMail({ name: pending.displayName, signInUrl: `${c.env.PUBLIC_APP_URL}/login`, how: 'reset' }),
      })),
    );
    kickOutbox(c.env, c.executionCtx);
  }
  return { user: { id: pending.id, role: pending.role, mfaEnabledAt: pending.mfaEnabledAt }, writes, deletionRequestedAt: pending.deletionRequestedAt };
}

export const auth = createApp()
  .openapi(loginRoute, async (c) => {
    const body = c.req.valid('json');
    const db = c.var.db;
    const user = await checkedAccount(c, body);
    if (user.deletionRequestedAt) {
      log('info', 'login offered deletion cancel', { requestId: c.get('requestId'), userId: user.id });
      return c.json(ok(deletionPendingAnswer(user.deletionRequestedAt)), 200);
    }
    const rehash = needsRehash(user.passwordHash)
      ? [
          db
            .update(users)
            .set({ passwordHash: await hashPassword(body.password) })
            .where(eq(users.id, user.id)),
        ]
      : [];

    return c.json(ok(await finishSignIn(c, db, user, rehash)), 200);
  })
  .openapi(cancelDeletionRoute, async (c) => {
    const db = c.var.db;
    const user = await checkedAccount(c, c.req.valid('json'));
    if (!user.deletionRequestedAt) throw new AppError('CONFLICT', 'This account is not waiting for deletion');
    // The account back, its audit row and the sign-in's grant: one batch.
    const writes = [
      db.update(users).set({ deletionRequestedAt: null, disabledAt: null }).where(eq(users.id, user.id)),
      auditInsert(db, { actorId: user.id, action: 'user.deletion-cancel', target: { type: 'user', id: user.id }, requestId: c.get('requestId') }),
    ];
    log('info', 'account deletion cancelled', { requestId: c.get('requestId'), userId: user.id });
    return c.json(ok(await finishSignIn(c, db, user, writes)), 200);
  })
  .openapi(exchangeRoute, async (c) => {
    const { grant } = c.req.valid('json');
    const binding = presentedBinding(c);
    const db = c.var.db;
    const now = new Date();
    const grantHash = await sha256Hex(grant);
    const live = and(eq(authGrants.grantHash, grantHash), isNull(authGrants.usedAt), gt(authGrants.expiresAt, now));
    // One conditional UPDATE: of two concurrent exchanges, exactly one sees used_at still null.
    const redeemed = binding
      ? await db
          .update(authGrants)
          .set({ usedAt: now })
          .where(and(live, eq(authGrants.bindingHash, await sha256Hex(binding))))
          .returning({ userId: authGrants.userId })
          .get()
      : undefined;
    if (!redeemed) {
      // A live grant from another browser: someone holds a link that is not theirs (or opened it in
      // the wrong browser). Spend it, so it cannot be tried again elsewhere.
      const misplaced = await db.update(authGrants).set({ usedAt: now }).where(live).returning({ userId: authGrants.userId }).get();
      if (misplaced) {
        clearBinding(c);
        log('warn', 'grant refused: presented by another browser', {
          requestId: c.get('requestId'),
          userId: misplaced.userId,
          bindingCookie: binding ? 'different' : 'missing',
        });
        throw new AppError('UNAUTHORIZED', 'This sign-in link was opened in a different browser from the one that signed in.');
      }
    }
    const user = redeemed
      ? await db
          .select()
          .from(users)
          .where(and(eq(users.id, redeemed.userId), signInAllowed))
          .get()
      : undefined;
    // The binding stays here: this browser may still hold another grant (a second tab).
    if (!user) throw new AppError('UNAUTHORIZED', 'This sign-in link is invalid, used or expired.');

    const { token } = await issueSession(c.env, db, user, clientMeta(c));
    setCookie(c, SESSION_COOKIE, token, {
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: SESSION_TTL_SECONDS,
    });
    log('info', 'session issued', { requestId: c.get('requestId'), userId: user.id });
    const publicUser = { id: user.id, email: user.email, displayName: user.displayName, role: user.role, tier: user.membershipTier };
    return c.json(ok({ token, user: publicUser }), 200);
  })
  .openapi(claimRequestRoute, async (c) => {
    const email = normalizeEmail(c.req.valid('json').email);
    const ip = ipLimitKey(clientMeta(c).ip ?? 'unknown');
    const limit = await rateLimit(c.env, `claim:ip:${ip}`, linkRequestsPerIp(c.env), LOGIN_LIMITS.windowMs);
    if (!limit.allowed) {
      throw new AppError('RATE_LIMITED', 'Too many requests. Try again later.', { retryAfterSeconds: limit.retryAfterSeconds });
    }
    // Per address too, counted for every address, known or not: past the limit nothing more is
    // queued for it, and the answer stays the same, so the limit reveals nothing about accounts.
    const perEmail = await rateLimit(c.env, `claim:email:${email}`, CLAIM_REQUESTS_PER_EMAIL, CLAIM_EMAIL_WINDOW_MS);
    const db = c.var.db;
    const user = await db
      .select({ id: users.id, displayName: users.displayName })
      .from(users)
      .where(and(eq(users.email, email), signInAllowed, isNull(users.passwordHash)))
      .get();
    if (user && !perEmail.allowed) log('info', 'claim link not queued: per-email limit', { requestId: c.get('requestId'), userId: user.id });
    if (user && perEmail.allowed) {
      await c.var.db.batch(await claimLinkWrites(c.env, db, { ...user, email }, 'request'));
      kickOutbox(c.env, c.executionCtx);
    }
    return c.json(ok({ message: CLAIM_REQUEST_ANSWER }), 200);
  })
  .openapi(claimRoute, async (c) => {
    const { token, password } = c.req.valid('json');
    await limitLinkUse(c, 'claim');
    const spent = await spendLink(c, claimTokens, token, password, 'unclaimed');
    log('info', 'account claimed', { requestId: c.get('requestId'), userId: spent.user.id });
    return c.json(ok(await finishSignIn(c, c.var.db, spent.user, spent.writes)), 200);
  })
  .openapi(forgotRoute, async (c) => {
    const email = normalizeEmail(c.req.valid('json').email);
    const ip = ipLimitKey(clientMeta(c).ip ?? 'unknown');
    const limit = await rateLimit(c.env, `reset:ip:${ip}`, linkRequestsPerIp(c.env), LOGIN_LIMITS.windowMs);
    if (!limit.allowed) throw new AppError('RATE_LIMITED', 'Too many requests. Try again later.', { retryAfterSeconds: limit.retryAfterSeconds });
    // Counted for every address, known or not: the limit says nothing about accounts.
    const perEmail = await rateLimit(c.env, `reset:email:${email}`, RESET_REQUESTS_PER_EMAIL, CLAIM_EMAIL_WINDOW_MS);
    const db = c.var.db;
    const user = await accountByEmail(db, email);
    if (user && !perEmail.allowed) log('info', 'reset link not queued: per-email limit', { requestId: c.get('requestId'), userId: user.id });
    if (user && perEmail.allowed) {
      // Never claimed: there is no password to reset; the claim link is what lets them in.
      const account = { ...user, email };
      await db.batch(user.passwordHash ? await resetLinkWrites(c.env, db, account) : await claimLinkWrites(c.env, db, account, 'request'));
      kickOutbox(c.env, c.executionCtx);
      log('info', user.passwordHash ? 'reset link queued' : 'claim link queued instead of a reset', { requestId: c.get('requestId'), userId: user.id });
    }
    return c.json(ok({ message: FORGOT_ANSWER }), 200);
  })
  .openapi(resetRoute, async (c) => {
    const { token, password } = c.req.valid('json');
    await limitLinkUse(c, 'reset');
    const spent = await spendLink(c, passwordResetTokens, token, password, 'claimed');
    log('info', 'password reset', { requestId: c.get('requestId'), userId: spent.user.id });
    if (spent.deletionRequestedAt) {
      // The password is set; signing in with it offers to cancel the deletion, as for anyone waiting.
      const batch = batchOf(spent.writes);
      if (batch) await c.var.db.batch(batch);
      return c.json(ok(deletionPendingAnswer(spent.deletionRequestedAt)), 200);
    }
    return c.json(ok(await finishSignIn(c, c.var.db, spent.user, spent.writes)), 200);
  })
  .openapi(logoutRoute, async (c) => {
    await revokeSession(c.var.db, c.get('user').sessionId);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    return c.json(ok({ signedOut: true as const }), 200);
  });
