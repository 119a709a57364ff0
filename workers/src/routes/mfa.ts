/**
 * Staff two-step sign-in (TOTP). Two sub-apps:
 * - `signInMfa` (/api/auth/mfa): the step between a right password and a grant, through the
 *   challenge the login answered: a code or a recovery code, or, for staff who must have MFA and
 *   have none yet, enrolment first.
 * - `myMfa` (/api/users/me/mfa): the coach portal's settings: status, set up (or move to a new app),
 *   new recovery codes, turn off.
 * Every code attempt counts against the challenge (sign-in) and the account (lib/mfa.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { log } from '@hybrid-coach/shared/log';
import { mfaRequiredFor } from '@hybrid-coach/shared/mfa';
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env';
import type { Db } from '../db/client';
import { staffMfa, users } from '../db/schema';
import { AppError, errorResponses, ok } from '../lib/errors';
import {
  checkProof,
  confirmEnrolment,
  mfaEnabled,
  openChallenge,
  type Proof,
  recoveryCodesLeft,
  regenerateRecoveryCodes,
  removeMfa,
  requiredForCoaches,
  spendChallengeAttempt,
  startCodeAttempt,
  startEnrolment,
  useChallenge,
  wrongCode,
} from '../lib/mfa';
import { authRoute, COACHES, createApp, jsonBody, okBody } from '../lib/openapi';
import { GrantResult, grantAnswer, prepareGrant } from '../lib/sign-in';

const Challenge = z.string().min(1).max(128).openapi({ description: 'From the login answer: single-use, bound to this browser' });
const Code = z.string().trim().min(1, 'Enter the 6-digit code').max(16).openapi({ description: 'The 6-digit code the authenticator app shows now' });
const RecoveryCode = z.string().trim().min(1, 'Enter a recovery code').max(64).openapi({ description: 'One of the recovery codes (each works once)' });

const oneProof = (p: { code?: string; recoveryCode?: string }) => (p.code === undefined) !== (p.recoveryCode === undefined);
const ONE_PROOF = { message: 'Give either code or recoveryCode', path: ['code'] };
const proofOf = (p: { code?: string; recoveryCode?: string }): Proof => (p.code !== undefined ? { code: p.code } : { recoveryCode: p.recoveryCode ?? '' });

const VerifyBody = z
  .object({ challenge: Challenge, code: Code.optional(), recoveryCode: RecoveryCode.optional() })
  .strict()
  .refine(oneProof, ONE_PROOF)
  .openapi('MfaVerifyRequest');
const ChallengeBody = z.object({ challenge: Challenge }).strict().openapi('MfaEnrolRequest');
const ConfirmAtSignInBody = z.object({ challenge: Challenge, code: Code }).strict().openapi('MfaEnrolConfirmRequest');

const ProofBody = z.object({ code: Code.optional(), recoveryCode: RecoveryCode.optional() }).strict().refine(oneProof, ONE_PROOF).openapi('MfaProof');
const EnrolBody = z
  .object({ code: Code.optional(), recoveryCode: RecoveryCode.optional() })
  .strict()
  .refine((p) => p.code === undefined || p.recoveryCode === undefined, ONE_PROOF)
  .openapi('MfaEnrolStart', { description: 'Empty to set up MFA; with MFA on already, a current code or a recovery code to move to a new app' });
const ConfirmBody = z.object({ code: Code }).strict().openapi('MfaConfirm');

const Enrolment = z
  .object({
    secret: z.string().openapi({ description: 'Base32, for typing into the app by hand; shown this once' }),
    otpauthUri: z.string().openapi({ description: 'otpauth://totp/… for the QR code' }),
  })
  .openapi('MfaEnrolment');
const RecoveryCodes = z.array(z.string()).openapi({ description: 'Shown this once; each works once; a new set replaces the old' });

const MfaStatus = z
  .object({
    enabled: z.boolean(),
    enabledAt: z.string().datetime().nullable(),
    required: z.boolean().openapi({ description: 'Required of this account (admins; coaches when MFA_REQUIRED_FOR_COACHES is on): it cannot be turned off' }),
    recoveryCodesLeft: z.number().int(),
  })
  .openapi('MfaStatus');

const post = <P extends string, B extends z.ZodType, R extends z.ZodType>(
  path: P,
  summary: string,
  body: B,
  result: R,
  errors: Parameters<typeof errorResponses>,
) =>
  createRoute({
    method: 'post',
    path,
    summary,
    request: { body: jsonBody(body) },
    responses: { 200: okBody('Done', result), ...errorResponses('VALIDATION_ERROR', 'PAYLOAD_TOO_LARGE', ...errors) },
  });

// ---- At sign-in ----------------------------------------------------------------------------------

const verifyRoute = post(
  '/',
  'Sign-in step two for staff with MFA: a current code or a recovery code, with the login’s challenge; answers the grant',
  VerifyBody,
  GrantResult,
  ['UNAUTHORIZED', 'RATE_LIMITED'],
);
const enrolAtSignInRoute = post(
  '/enrol',
  'Sign-in for staff who must have MFA and have none yet: a new secret to set up an authenticator app with',
  ChallengeBody,
  Enrolment,
  ['UNAUTHORIZED', 'CONFLICT'],
);
const confirmAtSignInRoute = post(
  '/enrol/confirm',
  'Sign-in for staff setting up MFA: the first code turns it on; answers the recovery codes (shown once) and the grant',
  ConfirmAtSignInBody,
  GrantResult.extend({ recoveryCodes: RecoveryCodes }),
  ['UNAUTHORIZED', 'CONFLICT', 'RATE_LIMITED'],
);

/** The signed-in-to-be user a challenge names (live, not deleted). */
async function userOf(db: Db, userId: string) {
  const user = await db
    .select({ id: users.id, email: users.email, role: users.role })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .get();
  if (!user) throw new AppError('UNAUTHORIZED', 'This sign-in has expired or was already used. Sign in again.');
  return user;
}

/** A code tried through the login's challenge: it counts against the challenge and the account (lib/mfa.ts). */
async function challengeAttempt(c: Context<AppEnv>, value: string, purpose: 'verify' | 'enrol') {
  const challenge = await openChallenge(c, c.var.db, value, purpose);
  const attempt = await startCodeAttempt(c.env, challenge.userId);
  const attemptsLeft = await spendChallengeAttempt(c.var.db, challenge.id);
  return { challenge, attempt, attemptsLeft };
}

/** The code was right: the challenge is used up, the attempt does not count, and the grant is written. */
async function grantAfter(c: Context<AppEnv>, { challenge, attempt }: Awaited<ReturnType<typeof challengeAttempt>>) {
  await useChallenge(c.var.db, challenge.id);
  await attempt.succeeded();
  const user = await userOf(c.var.db, challenge.userId);
  const grant = await prepareGrant(c, c.var.db, user.id);
  await grant.write;
  return { user, answer: grantAnswer(c.env, user.role, grant.value) };
}

export const signInMfa = createApp()
  .openapi(verifyRoute, async (c) => {
    const body = c.req.valid('json');
    const tried = await challengeAttempt(c, body.challenge, 'verify');
    const { challenge, attemptsLeft } = tried;
    const { outcome, recoveryCodesLeft: left } = await checkProof(c.env, c.var.db, challenge.userId, proofOf(body));
    const requestId = c.get('requestId');
    if (outcome !== 'ok') {
      log('info', 'mfa code refused', { requestId, userId: challenge.userId, outcome, attemptsLeft });
      throw wrongCode(outcome, attemptsLeft);
    }
    const { user, answer } = await grantAfter(c, tried);
    if (left !== undefined) log('warn', 'mfa recovery code used', { requestId, userId: user.id, recoveryCodesLeft: left });
    log('info', 'login granted', { requestId, userId: user.id, mfa: left !== undefined ? 'recovery-code' : 'totp' });
    return c.json(ok(answer), 200);
  })
  .openapi(enrolAtSignInRoute, async (c) => {
    const db = c.var.db;
    const challenge = await openChallenge(c, db, c.req.valid('json').challenge, 'enrol');
    const user = await userOf(db, challenge.userId);
    // Set up in another browser meanwhile: this sign-in must then give a code like any other.
    if (await mfaEnabled(db, user.id)) throw new AppError('CONFLICT', 'Two-step sign-in is on already for this account. Sign in again.');
    const enrolment = await startEnrolment(c.env, db, user);
    log('info', 'mfa setup started', { requestId: c.get('requestId'), userId: user.id, at: 'sign-in' });
    return c.json(ok(enrolment), 200);
  })
  .openapi(confirmAtSignInRoute, async (c) => {
    const body = c.req.valid('json');
    const tried = await challengeAttempt(c, body.challenge, 'enrol');
    const { challenge, attemptsLeft } = tried;
    const confirmed = await confirmEnrolment(c.env, c.var.db, challenge.userId, body.code);
    const requestId = c.get('requestId');
    if (confirmed.outcome === 'none') throw new AppError('CONFLICT', 'Start setting up the app first (or again).');
    if (confirmed.outcome === 'wrong') {
      log('info', 'mfa code refused', { requestId, userId: challenge.userId, outcome: 'wrong', attemptsLeft, at: 'sign-in setup' });
      throw wrongCode('wrong', attemptsLeft);
    }
    const { user, answer } = await grantAfter(c, tried);
    log('info', 'mfa enabled', { requestId, userId: user.id, at: 'sign-in' });
    log('info', 'login granted', { requestId, userId: user.id, mfa: 'enrolled' });
    return c.json(ok({ ...answer, recoveryCodes: confirmed.recoveryCodes }), 200);
  });

// ---- Settings --------------------------------------------------------------------------------------

const statusRoute = authRoute({
  method: 'get',
  path: '/',
  summary: 'Staff: whether two-step sign-in is on, whether it is required, recovery codes left',
  roles: COACHES,
  responses: { 200: okBody('MFA status', MfaStatus) },
});

/** The recovery codes a change answers, with the status after it. */
const NewRecoveryCodes = z.object({ recoveryCodes: RecoveryCodes, status: MfaStatus });

/** A settings change: staff only; it reads a body (413 past the limit) and may try a code (429 past the account's limit). */
const settingsPost = <P extends string, B extends z.ZodType, R extends z.ZodType>(
  path: P,
  summary: string,
  body: B,
  description: string,
  result: R,
  conflict = true,
) =>
  authRoute({
    method: 'post',
    path,
    summary,
    roles: COACHES,
    errors: ['PAYLOAD_TOO_LARGE', 'RATE_LIMITED', ...(conflict ? (['CONFLICT'] as const) : [])],
    request: { body: jsonBody(body) },
    responses: { 200: okBody(description, result) },
  });

const enrolRoute = settingsPost(
  '/enrol',
  'Staff: start setting up an authenticator app (with MFA on already, a current code or a recovery code moves it to a new app)',
  EnrolBody,
  'A new secret, pending until confirmed',
  Enrolment,
  false,
);
const confirmRoute = settingsPost(
  '/confirm',
  'Staff: the first code from the new app turns two-step sign-in on (or completes the move); answers new recovery codes, shown once',
  ConfirmBody,
  'On, with new recovery codes',
  NewRecoveryCodes,
);
const recoveryRoute = settingsPost(
  '/recovery-codes',
  'Staff: a new set of recovery codes replacing all the old ones (needs a current code or a recovery code)',
  ProofBody,
  'The new recovery codes',
  NewRecoveryCodes,
);
const disableRoute = settingsPost(
  '/disable',
  'Staff: turn two-step sign-in off (needs a current code or a recovery code; refused where it is required)',
  ProofBody,
  'Off',
  MfaStatus,
);

async function statusOf(c: Context<AppEnv>, db: Db) {
  const user = c.get('user');
  const row = await db.select({ enabledAt: staffMfa.enabledAt }).from(staffMfa).where(eq(staffMfa.userId, user.id)).get();
  return {
    enabled: Boolean(row?.enabledAt),
    enabledAt: row?.enabledAt?.toISOString() ?? null,
    required: mfaRequiredFor(user.role, requiredForCoaches(c.env)),
    recoveryCodesLeft: row?.enabledAt ? await recoveryCodesLeft(db, user.id) : 0,
  };
}

/**
 * Checks a settings proof against the account limit; a wrong one is a 400 on the field (the person
 * is signed in: a 401 would read as signed out).
 */
async function requireProof(c: Context<AppEnv>, db: Db, proof: Proof): Promise<void> {
  const user = c.get('user');
  const attempt = await startCodeAttempt(c.env, user.id);
  const { outcome, recoveryCodesLeft: left } = await checkProof(c.env, db, user.id, proof);
  const field = proof.code !== undefined ? 'code' : 'recoveryCode';
  if (outcome !== 'ok') {
    log('info', 'mfa code refused', { requestId: c.get('requestId'), userId: user.id, outcome, at: 'settings' });
    const { message } = wrongCode(outcome);
    throw new AppError('VALIDATION_ERROR', message, { fields: { [field]: message } });
  }
  await attempt.succeeded();
  if (left !== undefined) log('warn', 'mfa recovery code used', { requestId: c.get('requestId'), userId: user.id, recoveryCodesLeft: left, at: 'settings' });
}

const mfaIsOff = () => new AppError('CONFLICT', 'Two-step sign-in is off. Set it up first.');

export const myMfa = createApp()
  .openapi(statusRoute, async (c) => c.json(ok(await statusOf(c, c.var.db)), 200))
  .openapi(enrolRoute, async (c) => {
    const body = c.req.valid('json');
    const user = c.get('user');
    const db = c.var.db;
    if (await mfaEnabled(db, user.id)) {
      // A stolen session alone must not move the second factor to someone else's phone.
      if (body.code === undefined && body.recoveryCode === undefined) {
        const message = 'Enter a code from your current app (or a recovery code) to move to a new app.';
        throw new AppError('VALIDATION_ERROR', message, { fields: { code: message } });
      }
      await requireProof(c, db, proofOf(body));
    }
    const enrolment = await startEnrolment(c.env, db, user);
    log('info', 'mfa setup started', { requestId: c.get('requestId'), userId: user.id, at: 'settings' });
    return c.json(ok(enrolment), 200);
  })
  .openapi(confirmRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    const attempt = await startCodeAttempt(c.env, user.id);
    const confirmed = await confirmEnrolment(c.env, db, user.id, c.req.valid('json').code);
    if (confirmed.outcome === 'none') throw new AppError('CONFLICT', 'Start setting up the app first (or again).');
    if (confirmed.outcome === 'wrong') {
      log('info', 'mfa code refused', { requestId: c.get('requestId'), userId: user.id, outcome: 'wrong', at: 'settings setup' });
      const { message } = wrongCode('wrong');
      throw new AppError('VALIDATION_ERROR', message, { fields: { code: message } });
    }
    await attempt.succeeded();
    log('info', confirmed.replaced ? 'mfa moved to a new app' : 'mfa enabled', { requestId: c.get('requestId'), userId: user.id, at: 'settings' });
    return c.json(ok({ recoveryCodes: confirmed.recoveryCodes, status: await statusOf(c, db) }), 200);
  })
  .openapi(recoveryRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    if (!(await mfaEnabled(db, user.id))) throw mfaIsOff();
    await requireProof(c, db, proofOf(c.req.valid('json')));
    const recoveryCodes = await regenerateRecoveryCodes(db, user.id);
    if (!recoveryCodes) throw mfaIsOff();
    log('info', 'mfa recovery codes replaced', { requestId: c.get('requestId'), userId: user.id });
    return c.json(ok({ recoveryCodes, status: await statusOf(c, db) }), 200);
  })
  .openapi(disableRoute, async (c) => {
    const user = c.get('user');
    const db = c.var.db;
    if (mfaRequiredFor(user.role, requiredForCoaches(c.env))) {
      throw new AppError('FORBIDDEN', 'Two-step sign-in is required for your account and cannot be turned off. You can move it to a new app instead.');
    }
    if (!(await mfaEnabled(db, user.id))) throw mfaIsOff();
    await requireProof(c, db, proofOf(c.req.valid('json')));
    await removeMfa(db, user.id);
    log('warn', 'mfa disabled', { requestId: c.get('requestId'), userId: user.id });
    return c.json(ok(await statusOf(c, db)), 200);
  });
