/**
 * The authorization matrix: every operation of the OpenAPI document, called by each of six people, answers
 * the status `routes/access.ts` says. A fresh little world per operation (and per person, for calls that
 * change something): a client with a live and a finished session, a booked appointment and a note, all with
 * "their" coach; another client; another coach; an admin. An operation missing from the table fails, and so
 * does a row of the README's matrix that no longer says what the table says.
 */
import { env, SELF } from 'cloudflare:test';
import { CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import readme from '../../../README.md?raw';
import { API, bearer, body, createUser, login, post, testDb, totpCode } from '../../test/helpers';
import * as schema from '../db/schema';
import { flagRaiseWrites } from '../lib/crisis-flags';
import { sha256Hex } from '../lib/crypto';
import { issueSession } from '../lib/session';
import { ACCESS, ACTORS, type Actor, accessMarkdown } from './access';

type Person = Exclude<Actor, 'anonymous'>;
interface World {
  users: Record<Person, typeof schema.users.$inferSelect>;
  tokens: Record<Person, string>;
  /** The client's live session (WAITING), which the coach has joined. */
  live: string;
  /** The client's finished session with the coach. */
  done: string;
  /** Booked with the coach for tomorrow 10:00 UTC. */
  appointment: string;
  /** Booked with the coach, starting in five minutes (its room is open). */
  appointmentNow: string;
  /** The coach's note on the client. */
  note: string;
  /** The coach's weekly window (tomorrow's weekday, 09:00–12:00 UTC). */
  window: string;
  /** A slot of the coach's window a client may book. */
  freeSlot: string;
  /** The client's finished session with the coach, flagged for crisis (the flag open). */
  flagged: string;
  /** A placeholder account's claim token. */
  claimToken?: string;
}

interface Call {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

const tomorrowAt = (h: number) => {
  const d = new Date(Date.now() + 24 * 3600_000);
  d.setUTCHours(h, 0, 0, 0);
  return d;
};

async function buildWorld(opts: { live?: boolean } = {}): Promise<World> {
  const db = testDb();
  const users = {
    client: await createUser({ tier: 'PREMIUM', displayName: 'Owning Client' }),
    otherClient: await createUser({ tier: 'PREMIUM', displayName: 'Other Client' }),
    coach: await createUser({ role: 'COACH', displayName: 'Their Coach' }),
    otherCoach: await createUser({ role: 'COACH', displayName: 'Other Coach' }),
    admin: await createUser({ role: 'ADMIN', displayName: 'An Admin' }),
  };
  const tokens = {} as Record<Person, string>;
  for (const [who, u] of Object.entries(users) as [Person, (typeof users)[Person]][]) {
    tokens[who] = (await issueSession(env, db, u, { ip: null, userAgent: 'access matrix' })).token;
  }
  await db.update(schema.users).set({ isAvailable: true }).where(eq(schema.users.id, users.coach.id));
  const doneId = crypto.randomUUID();
  await db.insert(schema.coachingSessions).values({
    id: doneId,
    roomName: `session-${doneId}`,
    clientId: users.client.id,
    coachId: users.coach.id,
    status: 'COMPLETED',
    tierAtStart: 'PREMIUM',
    startedAt: new Date(Date.now() - 3600_000),
    endedAt: new Date(Date.now() - 3000_000),
    durationSeconds: 600,
    minutesCharged: 10,
  });
  const [appointment] = await db
    .insert(schema.appointments)
    .values({ clientId: users.client.id, coachId: users.coach.id, scheduledFor: tomorrowAt(10) })
    .returning();
  const [appointmentNow] = await db
    .insert(schema.appointments)
    .values({ clientId: users.client.id, coachId: users.coach.id, scheduledFor: new Date(Math.ceil((Date.now() + 5 * 60_000) / 60_000) * 60_000) })
    .returning();
  const [note] = await db
    .insert(schema.clientNotes)
    .values({ coachId: users.coach.id, clientId: users.client.id, text: 'Breathes better after humming' })
    .returning();
  const [window] = await db
    .insert(schema.coachAvailability)
    .values({ coachId: users.coach.id, dayOfWeek: tomorrowAt(9).getUTCDay(), startTime: '09:00', endTime: '12:00' })
    .returning();
  const flaggedId = crypto.randomUUID();
  const flaggedAt = new Date(Date.now() - 2400_000);
  await db.batch([
    db.insert(schema.coachingSessions).values({
      id: flaggedId,
      roomName: `session-${flaggedId}`,
      clientId: users.client.id,
      coachId: users.coach.id,
      status: 'COMPLETED',
      tierAtStart: 'PREMIUM',
      flaggedAt,
      flagReason: 'The client said “want to die”',
    }),
    ...flagRaiseWrites(db, flaggedId, { at: flaggedAt, reason: 'The client said “want to die”' }),
  ]);
  let live = '';
  if (opts.live) {
    const started = await post('/api/rooms', {}, bearer(tokens.client));
    if (started.status !== 201) throw new Error(`the world's live session did not start: ${started.status} ${await started.text()}`);
    live = (await body<{ sessionId: string }>(started)).data.sessionId;
    const joined = await post(`/api/rooms/${live}/join`, {}, bearer(tokens.coach));
    if (joined.status !== 200) throw new Error(`the coach did not join the world's session: ${joined.status}`);
  }
  return {
    users,
    tokens,
    live,
    done: doneId,
    appointment: appointment!.id,
    appointmentNow: appointmentNow!.id,
    note: note!.id,
    window: window!.id,
    freeSlot: tomorrowAt(11).toISOString(),
    flagged: flaggedId,
  };
}

/** A sync run that finished (and was not held back), for the run routes. */
async function finishedRun(): Promise<string> {
  const id = crypto.randomUUID();
  await testDb()
    .insert(schema.skoolSyncRuns)
    .values({ id, trigger: 'cron', status: 'SUCCEEDED', startedAt: new Date(Date.now() - 3600_000), finishedAt: new Date() });
  return id;
}

/** How to call each operation in a given world, with a valid body: so what is tested is who may, not what is valid. */
const CALLS: Record<string, { call: (w: World, actor: Actor) => Call | Promise<Call>; live?: boolean }> = {
  'GET /api/health': { call: () => ({ path: '/api/health' }) },
  'GET /api/ready': { call: () => ({ path: '/api/ready' }) },
  'POST /api/auth/login': { call: (w) => ({ path: '/api/auth/login', body: { email: w.users.client.email, password: 'correct horse battery staple' } }) },
  'POST /api/auth/exchange': {
    call: async (w) => {
      const res = await post(
        '/api/auth/login',
        { email: w.users.client.email, password: 'correct horse battery staple' },
        { 'CF-Connecting-IP': '203.0.113.9' },
      );
      const cookie = (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
      return { path: '/api/auth/exchange', body: { grant: (await body<{ grant: string }>(res)).data.grant }, headers: { Cookie: cookie } };
    },
  },
  'POST /api/auth/claim/request': { call: (w) => ({ path: '/api/auth/claim/request', body: { email: w.users.client.email } }) },
  'POST /api/auth/claim': {
    call: async () => {
      const placeholder = await createUser({ passwordHash: null });
      const token = crypto.randomUUID();
      await testDb()
        .insert(schema.claimTokens)
        .values({ tokenHash: await sha256Hex(token), userId: placeholder.id, expiresAt: new Date(Date.now() + 3600_000) });
      return { path: '/api/auth/claim', body: { token, password: 'tidepools at low water, twice' } };
    },
  },
  'POST /api/auth/password/forgot': { call: (w) => ({ path: '/api/auth/password/forgot', body: { email: w.users.client.email } }) },
  'POST /api/auth/password/reset': {
    call: async (w) => {
      const token = crypto.randomUUID();
      await testDb()
        .insert(schema.passwordResetTokens)
        .values({ tokenHash: await sha256Hex(token), userId: w.users.client.id, expiresAt: new Date(Date.now() + 600_000) });
      return { path: '/api/auth/password/reset', body: { token, password: 'tidepools at low water, twice' } };
    },
  },
  'POST /api/users/me/password': {
    call: () => ({ path: '/api/users/me/password', body: { currentPassword: 'correct horse battery staple', newPassword: 'tidepools at low water, twice' } }),
  },
  'POST /api/auth/logout': { call: () => ({ path: '/api/auth/logout', body: {} }) },
  'GET /api/users/me/profile': { call: () => ({ path: '/api/users/me/profile' }) },
  'PATCH /api/users/me/profile': { call: () => ({ path: '/api/users/me/profile', body: { symptoms: 'Tight chest' } }) },
  'GET /api/users/me': { call: () => ({ path: '/api/users/me' }) },
  'PATCH /api/users/me': { call: () => ({ path: '/api/users/me', body: { displayName: 'Renamed' } }) },
  'GET /api/users/me/consent': { call: () => ({ path: '/api/users/me/consent' }) },
  'POST /api/users/me/consent': { call: () => ({ path: '/api/users/me/consent', body: { version: CONSENT_VERSION } }) },
  'GET /api/users/me/export': { call: () => ({ path: '/api/users/me/export' }) },
  'POST /api/users/me/deletion': { call: () => ({ path: '/api/users/me/deletion', body: { password: 'correct horse battery staple' } }) },
  'POST /api/auth/deletion/cancel': {
    call: async (w) => {
      const at = new Date();
      await testDb().update(schema.users).set({ deletionRequestedAt: at, disabledAt: at }).where(eq(schema.users.id, w.users.client.id));
      return { path: '/api/auth/deletion/cancel', body: { email: w.users.client.email, password: 'correct horse battery staple' } };
    },
  },
  'POST /api/admin/people/{id}/erase': { call: (w) => ({ path: `/api/admin/people/${w.users.client.id}/erase`, body: { reason: 'Asked by email' } }) },
  'POST /api/rooms': { call: () => ({ path: '/api/rooms', body: {} }) },
  'POST /api/rooms/appointment/{id}': { call: (w) => ({ path: `/api/rooms/appointment/${w.appointmentNow}`, body: {} }) },
  'POST /api/rooms/{sessionId}/join': { call: (w) => ({ path: `/api/rooms/${w.live}/join`, body: {} }), live: true },
  'POST /api/rooms/{sessionId}/mute-ai': { call: (w) => ({ path: `/api/rooms/${w.live}/mute-ai`, body: { muted: true } }), live: true },
  'POST /api/rooms/{sessionId}/whisper': { call: (w) => ({ path: `/api/rooms/${w.live}/whisper`, body: { text: 'Slow down' } }), live: true },
  'POST /api/rooms/{sessionId}/end': { call: (w) => ({ path: `/api/rooms/${w.live}/end`, body: {} }), live: true },
  'GET /api/rooms/{sessionId}': { call: (w) => ({ path: `/api/rooms/${w.live}` }), live: true },
  'POST /api/rooms/{sessionId}/ws-ticket': { call: (w) => ({ path: `/api/rooms/${w.live}/ws-ticket`, body: {} }), live: true },
  'GET /api/sessions': { call: () => ({ path: '/api/sessions' }) },
  'GET /api/sessions/{id}': { call: (w) => ({ path: `/api/sessions/${w.done}` }) },
  'POST /api/sessions/{id}/rating': { call: (w) => ({ path: `/api/sessions/${w.done}/rating`, body: { rating: 5 } }) },
  'POST /api/admin/skool-sync': { call: () => ({ path: '/api/admin/skool-sync', body: {} }) },
  'GET /api/admin/skool-sync/runs': { call: () => ({ path: '/api/admin/skool-sync/runs' }) },
  'GET /api/admin/skool-sync/runs/{id}': { call: async () => ({ path: `/api/admin/skool-sync/runs/${await finishedRun()}` }) },
  'GET /api/admin/skool-sync/runs/{id}/changes': { call: async () => ({ path: `/api/admin/skool-sync/runs/${await finishedRun()}/changes` }) },
  'POST /api/admin/skool-sync/runs/{id}/override': {
    call: async () => ({
      path: `/api/admin/skool-sync/runs/${await finishedRun()}/override`,
      body: { reason: 'The list is right', confirm: [{ community: 'vagus', previous: 10, found: 4 }] },
    }),
  },
  // The staff console: on the client; enabling on an account disabled for it, the claim email on a placeholder.
  'GET /api/admin/people': { call: () => ({ path: '/api/admin/people?q=client' }) },
  'GET /api/admin/people/{id}': { call: (w) => ({ path: `/api/admin/people/${w.users.client.id}` }) },
  'POST /api/admin/people/{id}/tier': { call: (w) => ({ path: `/api/admin/people/${w.users.client.id}/tier`, body: { tier: 'FREE', reason: 'Refunded' } }) },
  'POST /api/admin/people/{id}/role': {
    call: (w) => ({ path: `/api/admin/people/${w.users.client.id}/role`, body: { role: 'COACH', reason: 'Joined the team' } }),
  },
  'POST /api/admin/people/{id}/disable': { call: (w) => ({ path: `/api/admin/people/${w.users.client.id}/disable`, body: { reason: 'Chargeback' } }) },
  'POST /api/admin/people/{id}/enable': {
    call: async () => {
      const disabled = await createUser();
      await testDb().update(schema.users).set({ disabledAt: new Date() }).where(eq(schema.users.id, disabled.id));
      return { path: `/api/admin/people/${disabled.id}/enable`, body: { reason: 'Chargeback withdrawn' } };
    },
  },
  'POST /api/admin/people/{id}/sign-out': { call: (w) => ({ path: `/api/admin/people/${w.users.client.id}/sign-out`, body: { reason: 'Lost their phone' } }) },
  'POST /api/admin/people/{id}/claim-email': {
    call: async () => {
      const placeholder = await createUser({ passwordHash: null });
      return { path: `/api/admin/people/${placeholder.id}/claim-email`, body: { reason: 'The first email never came' } };
    },
  },
  'GET /api/admin/audit': { call: () => ({ path: '/api/admin/audit' }) },
  'GET /api/admin/agent-latency': { call: () => ({ path: '/api/admin/agent-latency?days=14' }) },
  'GET /api/clients/{clientId}/notes': { call: (w) => ({ path: `/api/clients/${w.users.client.id}/notes` }) },
  'POST /api/clients/{clientId}/notes': { call: (w) => ({ path: `/api/clients/${w.users.client.id}/notes`, body: { text: 'Likes the long exhale' } }) },
  'PATCH /api/notes/{id}': { call: (w) => ({ path: `/api/notes/${w.note}`, body: { text: 'Changed' } }) },
  'DELETE /api/notes/{id}': { call: (w) => ({ path: `/api/notes/${w.note}` }) },
  'GET /api/search/transcripts': { call: () => ({ path: '/api/search/transcripts?q=breath' }) },
  'GET /api/coach/clients': { call: () => ({ path: '/api/coach/clients' }) },
  'GET /api/coach/clients/{clientId}': { call: (w) => ({ path: `/api/coach/clients/${w.users.client.id}` }) },
  'GET /api/coach/live': { call: () => ({ path: '/api/coach/live' }) },
  'GET /api/availability': { call: () => ({ path: '/api/availability' }) },
  'POST /api/availability': { call: () => ({ path: '/api/availability', body: { dayOfWeek: 2, startTime: '14:00', endTime: '15:00' } }) },
  'PUT /api/availability/{id}': { call: (w) => ({ path: `/api/availability/${w.window}`, body: { dayOfWeek: 3, startTime: '10:00', endTime: '11:00' } }) },
  'DELETE /api/availability/{id}': { call: (w) => ({ path: `/api/availability/${w.window}` }) },
  'GET /api/coaches/slots': { call: () => ({ path: '/api/coaches/slots?days=3' }) },
  'POST /api/appointments': { call: (w) => ({ path: '/api/appointments', body: { coachId: w.users.coach.id, scheduledFor: w.freeSlot } }) },
  'GET /api/appointments': { call: () => ({ path: '/api/appointments' }) },
  'POST /api/appointments/{id}/cancel': { call: (w) => ({ path: `/api/appointments/${w.appointment}/cancel`, body: {} }) },
  'GET /api/appointments/{id}/ics': { call: (w) => ({ path: `/api/appointments/${w.appointment}/ics` }) },
  'POST /api/appointments/{id}/reschedule': {
    call: (w) => ({ path: `/api/appointments/${w.appointment}/reschedule`, body: { scheduledFor: w.freeSlot } }),
  },
  'POST /api/appointments/{id}/reassign': { call: (w) => ({ path: `/api/appointments/${w.appointment}/reassign`, body: { coachId: w.users.otherCoach.id } }) },
  'GET /api/appointments/{id}/reassign-options': { call: (w) => ({ path: `/api/appointments/${w.appointment}/reassign-options` }) },
  'GET /api/flags': { call: () => ({ path: '/api/flags' }) },
  'GET /api/flags/resolved': { call: () => ({ path: '/api/flags/resolved' }) },
  'GET /api/flags/{sessionId}': { call: (w) => ({ path: `/api/flags/${w.flagged}` }) },
  'POST /api/flags/{sessionId}/acknowledge': { call: (w) => ({ path: `/api/flags/${w.flagged}/acknowledge`, body: {} }) },
  'POST /api/flags/{sessionId}/resolve': {
    call: async (w, actor) => {
      if (actor === 'coach' || actor === 'otherCoach' || actor === 'admin') await post(`/api/flags/${w.flagged}/acknowledge`, {}, bearer(w.tokens[actor]));
      return { path: `/api/flags/${w.flagged}/resolve`, body: { note: 'Called the client; safe, with a friend tonight' } };
    },
  },
  'POST /api/flags/{sessionId}/reopen': {
    call: async (w) => {
      await post(`/api/flags/${w.flagged}/acknowledge`, {}, bearer(w.tokens.coach));
      await post(`/api/flags/${w.flagged}/resolve`, { note: 'Called the client' }, bearer(w.tokens.coach));
      return { path: `/api/flags/${w.flagged}/reopen`, body: { note: 'She wrote again' } };
    },
  },
  'POST /api/staff/ws-ticket': { call: () => ({ path: '/api/staff/ws-ticket', body: {} }) },
  // Staff MFA. At sign-in: the coach has it on (a recovery code, so no step is spent twice); the admin has not set it up yet.
  'POST /api/auth/mfa': {
    call: async (w) => {
      const { recoveryCodes } = await enrolInSettings(w.tokens.coach);
      const step = await passwordStep(w.users.coach.email);
      return { path: '/api/auth/mfa', body: { challenge: step.challenge, recoveryCode: recoveryCodes[0] }, headers: step.cookie };
    },
  },
  'POST /api/auth/mfa/enrol': {
    call: async (w) => {
      const step = await passwordStep(w.users.admin.email);
      return { path: '/api/auth/mfa/enrol', body: { challenge: step.challenge }, headers: step.cookie };
    },
  },
  'POST /api/auth/mfa/enrol/confirm': {
    call: async (w) => {
      const step = await passwordStep(w.users.admin.email);
      const started = await body<{ secret: string }>(await post('/api/auth/mfa/enrol', { challenge: step.challenge }, step.cookie));
      return { path: '/api/auth/mfa/enrol/confirm', body: { challenge: step.challenge, code: totpCode(started.data.secret) }, headers: step.cookie };
    },
  },
  'GET /api/users/me/mfa': { call: () => ({ path: '/api/users/me/mfa' }) },
  'POST /api/users/me/mfa/enrol': { call: () => ({ path: '/api/users/me/mfa/enrol', body: {} }) },
  'POST /api/users/me/mfa/confirm': {
    call: async (w, actor) => {
      const token = actor === 'anonymous' ? null : w.tokens[actor];
      const started = token ? await post('/api/users/me/mfa/enrol', {}, bearer(token)) : null;
      const secret = started?.status === 200 ? (await body<{ secret: string }>(started)).data.secret : null;
      return { path: '/api/users/me/mfa/confirm', body: { code: secret ? totpCode(secret) : '000000' } };
    },
  },
  'POST /api/users/me/mfa/recovery-codes': { call: async (w, actor) => ({ path: '/api/users/me/mfa/recovery-codes', body: await proofFor(w, actor) }) },
  'POST /api/users/me/mfa/disable': { call: async (w, actor) => ({ path: '/api/users/me/mfa/disable', body: await proofFor(w, actor) }) },
};

/** Sets MFA up in settings for a signed-in coach or admin; its secret and recovery codes. */
async function enrolInSettings(token: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await body<{ secret: string }>(await post('/api/users/me/mfa/enrol', {}, bearer(token)));
  const confirmed = await post('/api/users/me/mfa/confirm', { code: totpCode(started.data.secret) }, bearer(token));
  if (confirmed.status !== 200) throw new Error(`MFA setup failed: ${confirmed.status}`);
  return { secret: started.data.secret, recoveryCodes: (await body<{ recoveryCodes: string[] }>(confirmed)).data.recoveryCodes };
}

/** A recovery code of the actor's own MFA (set up first), or one that proves nothing for people who cannot have MFA. */
async function proofFor(w: World, actor: Actor): Promise<{ recoveryCode: string }> {
  if (actor === 'coach' || actor === 'otherCoach' || actor === 'admin') return { recoveryCode: (await enrolInSettings(w.tokens[actor])).recoveryCodes[0]! };
  return { recoveryCode: 'aaaa-bbbb-cccc-dddd' };
}

/** The password step of a sign-in: the challenge it answered and the browser's binding cookie. */
async function passwordStep(email: string): Promise<{ challenge?: string; cookie: { Cookie: string } }> {
  const { json, cookie } = await login(email);
  return { challenge: (json.data as { challenge?: string }).challenge, cookie };
}

async function send(method: string, call: Call, token: string | null): Promise<number> {
  const res = await SELF.fetch(`${API}${call.path}`, {
    method,
    headers: {
      ...(call.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? bearer(token) : {}),
      ...call.headers,
    },
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
  });
  await res.body?.cancel();
  return res.status;
}

const operations = async () => {
  const doc = (await (await SELF.fetch(`${API}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
};

describe('who may call what', () => {
  it('has a row in the table, and a way to call it, for every operation in the OpenAPI document (and none that is gone)', async () => {
    const ops = await operations();
    expect(ops.filter((op) => !(op in ACCESS))).toEqual([]);
    expect(ops.filter((op) => !(op in CALLS))).toEqual([]);
    expect(Object.keys(ACCESS).filter((op) => !ops.includes(op))).toEqual([]);
  });

  it('answers each operation for each person as the table says', { timeout: 300_000 }, async () => {
    const answered: Record<string, Record<Actor, number>> = {};
    for (const op of await operations()) {
      const how = CALLS[op];
      if (!how) continue;
      const [method] = op.split(' ') as [string];
      const changes = method !== 'GET';
      let shared: World | undefined;
      const row = {} as Record<Actor, number>;
      for (const actor of ACTORS) {
        // A call that changes something gets a world of its own for each person; reads share one.
        const world = changes || !shared ? await buildWorld({ live: how.live }) : shared;
        shared ??= world;
        row[actor] = await send(method, await how.call(world, actor), actor === 'anonymous' ? null : world.tokens[actor]);
      }
      answered[op] = row;
    }
    const expected = Object.fromEntries(Object.keys(answered).map((op) => [op, ACCESS[op]]));
    expect(answered).toEqual(expected);
  });

  it('is the matrix the README shows', () => {
    const start = readme.indexOf('<!-- access-matrix:start -->');
    const end = readme.indexOf('<!-- access-matrix:end -->');
    expect(start, 'README.md has the access-matrix markers').toBeGreaterThan(0);
    expect(readme.slice(start + '<!-- access-matrix:start -->'.length, end).trim()).toBe(accessMarkdown().trim());
  });
});
