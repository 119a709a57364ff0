import { env, SELF } from 'cloudflare:test';
import { CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import type { MembershipTier, UserRole } from '@hybrid-coach/shared/tiers';
import { drizzle } from 'drizzle-orm/d1';
import { TOTP } from 'otpauth';
import { vi } from 'vitest';
import * as schema from '../src/db/schema';
import { hashPassword } from '../src/lib/password';
import { drainOutbox } from '../src/mail/drain';

export const PASSWORD = 'correct horse battery staple';
export const API = 'http://api.test';

export const testDb = () => drizzle(env.DB, { schema });

let passwordHash: Promise<string> | undefined;
/** One argon2id hash per test file: hashing is deliberately slow. */
export const knownHash = () => (passwordHash ??= hashPassword(PASSWORD));

let counter = 0;
/**
 * A user; a client has agreed to the current consent text (as the dev seed's clients have) unless
 * `consented: false`, so that tests of sessions start sessions.
 */
export async function createUser(
  opts: { email?: string; role?: UserRole; tier?: MembershipTier; passwordHash?: string | null; displayName?: string; consented?: boolean } = {},
) {
  counter += 1;
  const email = opts.email ?? `user${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const [user] = await testDb()
    .insert(schema.users)
    .values({
      email,
      displayName: opts.displayName ?? `Test User ${counter}`,
      role: opts.role ?? 'CLIENT',
      membershipTier: opts.tier ?? 'FREE',
      passwordHash: opts.passwordHash === undefined ? await knownHash() : opts.passwordHash,
    })
    .returning();
  if (!user) throw new Error('user not created');
  if (user.role === 'CLIENT' && opts.consented !== false) {
    await testDb().insert(schema.consentRecords).values({ userId: user.id, version: CONSENT_VERSION, agreedAt: new Date() });
  }
  return user;
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`${API}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function get(path: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`${API}${path}`, { headers });
}

export interface Envelope<T> {
  success: boolean;
  data: T;
  error: { code: string; message: string; fields?: Record<string, string>; details?: Record<string, unknown> };
}

export const body = async <T = Record<string, unknown>>(res: Response) => (await res.json()) as Envelope<T>;

/** Each test its own client IP, so the per-IP login limit never couples tests. */
export const ipHeader = () => ({ 'CF-Connecting-IP': `10.${Math.floor(Math.random() * 250)}.${counter % 250}.${Math.floor(Math.random() * 250)}` });

export async function login(email: string, password = PASSWORD) {
  const res = await post('/api/auth/login', { email, password }, ipHeader());
  return { res, json: await body<{ grant: string; redirectUrl: string; role: UserRole }>(res), cookie: bindingCookie(res) };
}

/** The browser-binding cookie a login answer set, as a request's Cookie header (what the browser would send back). */
export function bindingCookie(res: Response): { Cookie: string } {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('__Host-hc_login='));
  return { Cookie: set?.split(';')[0] ?? '' };
}

/** Exchanges a grant from the browser that signed in (its binding cookie). */
export function exchange(grant: string, cookie: { Cookie: string }) {
  return post('/api/auth/exchange', { grant }, cookie);
}

/** What these helpers know of the MFA of staff they set up (admins must have it), by email. */
const staffMfa = new Map<string, { secret: string; recoveryCodes: string[]; lastStep: number }>();

/** The current code of a base32 TOTP secret, or the code of `step` (30-second steps since the epoch). */
export function totpCode(secret: string, step?: number): string {
  const totp = new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' });
  return step === undefined ? totp.generate() : totp.generate({ timestamp: step * 30_000 });
}

export const currentStep = () => Math.floor(Date.now() / 30_000);

/** The secret and recovery codes a helper set up for `email` (undefined if none). */
export const knownMfa = (email: string) => staffMfa.get(email);

type LoginData =
  | { grant: string; redirectUrl: string; role: UserRole }
  | { mfaRequired: true; challenge: string }
  | { mfaEnrollmentRequired: true; challenge: string };

/**
 * Completes a sign-in the login answered, as a person would: a grant as it is; for staff, a code
 * first (the next step's code if this step's was used, else a recovery code), or enrolment first
 * (admins must have MFA) with the secret it shows. Answers the grant.
 */
export async function completeSignIn(email: string, data: LoginData, cookie: { Cookie: string }): Promise<string> {
  if ('grant' in data) return data.grant;
  if ('mfaEnrollmentRequired' in data) {
    const started = await body<{ secret: string }>(await post('/api/auth/mfa/enrol', { challenge: data.challenge }, cookie));
    const step = currentStep();
    const confirm = await post('/api/auth/mfa/enrol/confirm', { challenge: data.challenge, code: totpCode(started.data.secret, step) }, cookie);
    const out = await body<{ grant: string; recoveryCodes: string[] }>(confirm);
    if (confirm.status !== 200) throw new Error(`MFA setup at sign-in failed: ${confirm.status} ${JSON.stringify(out)}`);
    staffMfa.set(email, { secret: started.data.secret, recoveryCodes: out.data.recoveryCodes, lastStep: step });
    return out.data.grant;
  }
  const known = staffMfa.get(email);
  if (!known) throw new Error(`${email} has MFA on, set up outside these helpers: sign in with its code`);
  // A code is good once, and the next step's code is accepted already (clock drift).
  const step = Math.max(currentStep(), known.lastStep + 1);
  const proof = step <= currentStep() + 1 ? { code: totpCode(known.secret, step) } : { recoveryCode: known.recoveryCodes.shift() };
  const res = await post('/api/auth/mfa', { challenge: data.challenge, ...proof }, cookie);
  const out = await body<{ grant: string }>(res);
  if (res.status !== 200) throw new Error(`MFA at sign-in failed: ${res.status} ${JSON.stringify(out)}`);
  if ('code' in proof) known.lastStep = step;
  return out.data.grant;
}

/** Logs in (with MFA where the account has it) and exchanges the grant: a bearer token for `email`. */
export async function signIn(email: string): Promise<string> {
  const { json, cookie } = await login(email);
  const grant = await completeSignIn(email, json.data as LoginData, cookie);
  const res = await exchange(grant, cookie);
  const out = await body<{ token: string }>(res);
  if (res.status !== 200) throw new Error(`exchange failed: ${res.status} ${JSON.stringify(out)}`);
  return out.data.token;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Opens a session's live events WebSocket as a portal does: a ticket first (POST …/ws-ticket), then the upgrade. */
export async function openRoomSocket(sessionId: string, token: string): Promise<Response> {
  const minted = await post(`/api/rooms/${sessionId}/ws-ticket`, {}, bearer(token));
  if (minted.status !== 201) return minted;
  const { ticket } = (await body<{ ticket: string }>(minted)).data;
  return SELF.fetch(`${API}/api/rooms/${sessionId}/ws?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: 'websocket' } });
}

/** Every console line written while `run` runs (the app logs JSON lines through console). */
export async function captureLogs(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? `${a.stack ?? ''} ${a.message}` : JSON.stringify(a))).join(' '));
  };
  const spies = (['error', 'warn', 'log', 'info', 'debug'] as const).map((level) => vi.spyOn(console, level).mockImplementation(keep));
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

/**
 * Sends the mail that is due now (by the test's clock, fake or not) to the test Mailpit. The MailOutbox
 * Durable Object would do it by itself on the real clock; a test whose clock is faked, or that wants the
 * mail at once, drains here (the rows' states keep the two from sending a message twice).
 */
export async function deliverMail(): Promise<void> {
  for (;;) {
    const result = await drainOutbox(env, testDb());
    if (!result.more) return;
  }
}
