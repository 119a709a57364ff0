import { env, SELF } from 'cloudflare:test';
import { drizzle } from 'drizzle-orm/d1';
import * as schema from '../src/db/schema';
import type { MembershipTier, UserRole } from '../src/domain/tiers';
import { hashPassword } from '../src/lib/password';

export const PASSWORD = 'correct horse battery staple';
export const API = 'http://api.test';

export const testDb = () => drizzle(env.DB, { schema });

let passwordHash: Promise<string> | undefined;
/** One argon2id hash per test file: hashing is deliberately slow. */
export const knownHash = () => (passwordHash ??= hashPassword(PASSWORD));

let counter = 0;
export async function createUser(
  opts: {
    email?: string;
    role?: UserRole;
    tier?: MembershipTier;
    passwordHash?: string | null;
    displayName?: string;
  } = {},
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

/** Logs in and exchanges the grant: a bearer token for `email`. */
export async function signIn(email: string): Promise<string> {
  const { json, cookie } = await login(email);
  const res = await exchange(json.data.grant, cookie);
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
