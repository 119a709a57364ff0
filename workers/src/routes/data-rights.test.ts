/**
 * Issue 17, a client's data rights: the export (content, limits), "Delete my account" (password, signed
 * out, the grace period, cancel), and the erasure step by step (each table, the FTS5 index, the session
 * objects' storage, late agent-host deliveries), by the cron after the grace period (its time moved by
 * the test) and by an admin.
 */
import { createScheduledController, env, runInDurableObject, SELF } from 'cloudflare:test';
import { DataExport, DELETION_GRACE_MS } from '@hybrid-coach/shared/data-export';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { eq, sql } from 'drizzle-orm';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, deliverMail, get, ipHeader, login, PASSWORD, post, signIn, testDb } from '../../test/helpers';
import { roomService } from '../../test/livekit';
import { mailTo } from '../../test/mailpit';
import { deliverRun, member, newRun } from '../../test/skool-sync';
import * as schema from '../db/schema';
import worker from '../index';
import { EXPORT_PAGE_SIZE } from '../lib/data-export';
import { ERASURE_CRON, eraseAccount, eraseByAdmin, runDueErasures } from '../lib/erasure';
import { encryptField } from '../lib/field-crypto';
import { httpUrl } from '../lib/livekit';
import { sessionRoom } from '../lib/rooms';
import { outboxInsert } from '../mail/outbox';

/** A client with a bit of everything: two sessions with lines (one rated), an appointment, notes, links, mail, a live object. */
async function clientWithHistory() {
  const db = testDb();
  // A word no other test says: the search index is asked for it.
  const word = `zephyr${crypto
    .randomUUID()
    .replace(/[^a-z]/g, '')
    .slice(0, 10)}`;
  const client = await createUser({ tier: 'PREMIUM', displayName: 'Dana Export' });
  const coach = await createUser({ role: 'COACH', displayName: 'Coach Robin' });
  // Stored sealed, as the profile routes write them: the export opens them.
  await db.insert(schema.profiles).values({
    userId: client.id,
    coachingGoals: await encryptField(env, 'profiles.coaching_goals', client.id, 'Sleep through the night'),
    symptoms: await encryptField(env, 'profiles.symptoms', client.id, 'Racing heart'),
    initialMood: 2,
    preferences: { music: 'rain' },
  });
  await db
    .update(schema.users)
    .set({ skoolBio: 'Breathwork fan from Leeds', skoolProfileUrl: 'https://www.skool.com/@dana-export', vagusSubscriptionStatus: 'active' })
    .where(eq(schema.users.id, client.id));
  const sessions: string[] = [];
  for (let i = 0; i < 2; i++) {
    const id = crypto.randomUUID();
    sessions.push(id);
    await db.insert(schema.coachingSessions).values({
      id,
      roomName: `session-${id}`,
      clientId: client.id,
      coachId: coach.id,
      status: 'COMPLETED',
      tierAtStart: 'PREMIUM',
      createdAt: new Date(Date.now() - (3 - i) * 3600_000),
      startedAt: new Date(Date.now() - (3 - i) * 3600_000),
      endedAt: new Date(Date.now() - (3 - i) * 3600_000 + 600_000),
      minutesCharged: 10,
      aiSummary: `Summary ${i}: breathing helped`,
    });
    await db.insert(schema.messages).values([
      {
        sessionId: id,
        speakerIdentity: client.id,
        speakerRole: 'client',
        text: `I tried the ${word} breath ${i}`,
        heardByAi: true,
        spokenAt: new Date(1000 + i),
        idempotencyKey: `${id}:1`,
      },
      {
        sessionId: id,
        speakerIdentity: 'ai',
        speakerRole: 'ai',
        text: `Lovely, keep going ${i}`,
        heardByAi: true,
        spokenAt: new Date(2000 + i),
        idempotencyKey: `${id}:2`,
      },
      {
        sessionId: id,
        speakerIdentity: coach.id,
        speakerRole: 'coach',
        text: 'Private whisper to the AI',
        heardByAi: true,
        kind: 'whisper',
        spokenAt: new Date(3000 + i),
        idempotencyKey: `${id}:3`,
      },
    ]);
  }
  await db.insert(schema.sessionRatings).values({ sessionId: sessions[0]!, rating: 5, comment: 'Calmer now', tipDollars: 3 });
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO crisis_flags (session_id, state, raised_at, reason, updated_at) VALUES (?, 'OPEN', ?, 'keyword', ?)`).bind(
      sessions[1]!,
      Date.now(),
      Date.now(),
    ),
    env.DB.prepare('INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)').bind(
      crypto.randomUUID(),
      client.id,
      crypto.randomUUID(),
      Date.now(),
    ),
  ]);
  const [appt] = await db
    .insert(schema.appointments)
    .values({ clientId: client.id, coachId: coach.id, scheduledFor: new Date(Date.now() + 86_400_000) })
    .returning();
  const sharedNoteId = crypto.randomUUID();
  await db.insert(schema.clientNotes).values([
    {
      id: sharedNoteId,
      coachId: coach.id,
      clientId: client.id,
      text: await encryptField(env, 'client_notes.text', sharedNoteId, 'Shared: likes the long exhale'),
      shareableWithAi: true,
    },
    { coachId: coach.id, clientId: client.id, text: 'Private: check in about work stress', shareableWithAi: false },
  ]);
  const [run] = await db
    .insert(schema.skoolSyncRuns)
    .values({ id: crypto.randomUUID(), trigger: 'cron', status: 'SUCCEEDED', startedAt: new Date() })
    .returning();
  await db
    .insert(schema.skoolSyncMembers)
    .values({ runId: run!.id, community: 'vagus', email: client.email, name: 'Dana Export', status: 'active', paid: true });
  await db.insert(schema.claimTokens).values({ tokenHash: crypto.randomUUID(), userId: client.id, expiresAt: new Date(Date.now() + 3600_000) });
  await db.insert(schema.passwordResetTokens).values({ tokenHash: crypto.randomUUID(), userId: client.id, expiresAt: new Date(Date.now() + 3600_000) });
  const mail = async (key: string, to: { email: string; userId?: string }, ref?: string) =>
    db.batch(
      await outboxInsert(env, db, {
        to,
        template: 'password-changed',
        kind: 'security',
        idempotencyKey: key,
        expiresAt: new Date(Date.now() + 86_400_000),
        ...(ref ? { ref } : {}),
        content: { subject: 's', text: 't', html: '<p>t</p>' },
      }),
    );
  await mail(`t:${client.id}`, { email: client.email, userId: client.id });
  // A coach's reminder about the client's appointment: about them too.
  await mail(`t:coach:${appt!.id}`, { email: coach.email, userId: coach.id }, `appointment:${appt!.id}`);
  // The session objects hold state (as a live session leaves it) and a WebSocket ticket.
  for (const id of sessions) {
    const stub = sessionRoom(env, id);
    await runInDurableObject(stub, (_o, state) => state.storage.put('state', { sessionId: id, clientId: client.id, status: 'COMPLETED', effects: [] }));
    await stub.mintWsTicket({ userId: client.id, role: 'client' } as never, 60_000);
  }
  return { client, coach, sessions, appointmentId: appt!.id, word };
}

/** A session started through the API: its LiveKit room exists on the test livekit-server. */
async function liveSession(token: string) {
  const res = await post('/api/rooms', {}, bearer(token));
  expect(res.status).toBe(201);
  return (await body<{ sessionId: string; roomName: string }>(res)).data;
}

const storedKeys = (sessionId: string) => runInDurableObject(sessionRoom(env, sessionId), async (_o, state) => [...(await state.storage.list()).keys()]);

const countWhere = async (table: string, where: string, ...args: unknown[]) => {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...args)
    .first<{ n: number }>();
  return row!.n;
};

/** Every row about the client, table by table, and the search index's hits for the transcript's word. */
async function rowsAbout(w: { client: { id: string; email: string }; sessions: string[]; appointmentId: string; word: string }) {
  const ids = w.sessions.map(() => '?').join(',');
  return {
    users: await countWhere('users', 'id = ?', w.client.id),
    profiles: await countWhere('profiles', 'user_id = ?', w.client.id),
    coaching_sessions: await countWhere('coaching_sessions', 'client_id = ?', w.client.id),
    messages: await countWhere('messages', `session_id IN (${ids})`, ...w.sessions),
    messages_fts: await countWhere('messages_fts', 'messages_fts MATCH ?', w.word),
    session_ratings: await countWhere('session_ratings', `session_id IN (${ids})`, ...w.sessions),
    appointments: await countWhere('appointments', 'client_id = ?', w.client.id),
    consent_records: await countWhere('consent_records', 'user_id = ?', w.client.id),
    client_notes: await countWhere('client_notes', 'client_id = ?', w.client.id),
    claim_tokens: await countWhere('claim_tokens', 'user_id = ?', w.client.id),
    password_reset_tokens: await countWhere('password_reset_tokens', 'user_id = ?', w.client.id),
    login_sessions: await countWhere('login_sessions', 'user_id = ?', w.client.id),
    skool_sync_members: await countWhere('skool_sync_members', 'email = ?', w.client.email),
    email_outbox: await countWhere('email_outbox', 'user_id = ? OR to_email = ? OR ref = ?', w.client.id, w.client.email, `appointment:${w.appointmentId}`),
  };
}

/**
 * The tables (all but the audit log, erased_sessions, erasure_suppressions and the FTS5 index's own, asked
 * through MATCH) with a row that mentions any of `needles` in any column.
 */
async function tablesMentioning(needles: string[]) {
  const allowed = ['audit_log', 'erased_sessions', 'erasure_suppressions'];
  const { results } = await env.DB.prepare(
    `SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_cf_%' AND m.name NOT LIKE 'messages_fts%' AND m.name <> 'd1_migrations'`,
  ).all<{ t: string; c: string }>();
  const tables = new Map<string, string[]>();
  for (const { t, c } of results) if (!allowed.includes(t)) tables.set(t, [...(tables.get(t) ?? []), c]);
  expect(tables.size).toBeGreaterThan(20);
  const found: string[] = [];
  for (const [t, cols] of tables) {
    const row = `concat_ws(char(31), ${cols.map((c) => `"${c}"`).join(', ')})`;
    const where = needles.map(() => 'instr(x, ?) > 0').join(' OR ');
    const hit = await env.DB.prepare(`SELECT count(*) AS n FROM (SELECT ${row} AS x FROM "${t}") WHERE ${where}`)
      .bind(...needles)
      .first<{ n: number }>();
    if (hit!.n > 0) found.push(t);
  }
  return found;
}

async function exportOf(token: string) {
  const res = await get('/api/users/me/export', { ...bearer(token), Origin: new URL(env.CLIENT_APP_URL).origin });
  // The client portal (another origin) reads the file name: CORS lets it.
  expect(res.headers.get('access-control-expose-headers')?.split(/,\s*/)).toContain('Content-Disposition');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="hybrid-coach-data-\d{4}-\d{2}-\d{2}\.zip"$/);
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  return { json: DataExport.parse(JSON.parse(strFromU8(files['export.json']!))), html: strFromU8(files['export.html']!), names: Object.keys(files) };
}

describe('GET /api/users/me/export', () => {
  it('answers a zip of export.json (the documented shape) and export.html: profile, sessions with their transcript, ratings, appointments, consent, shared notes', async () => {
    const w = await clientWithHistory();
    const { json, html, names } = await exportOf(await signIn(w.client.email));
    const { word } = w;
    expect(names.sort()).toEqual(['export.html', 'export.json']);
    expect(json.account).toMatchObject({ id: w.client.id, email: w.client.email, displayName: 'Dana Export', tier: 'PREMIUM' });
    expect(json.profile).toMatchObject({ coachingGoals: 'Sleep through the night', symptoms: 'Racing heart', initialMood: 2, preferences: { music: 'rain' } });
    expect(json.account.skool).toMatchObject({ bio: 'Breathwork fan from Leeds', profileUrl: 'https://www.skool.com/@dana-export', vagusStatus: 'active' });
    // The flag on the second session: its state and times, never the coach's resolution note.
    expect(json.sessions.map((s) => s.crisisFlag?.state ?? null)).toEqual([null, 'OPEN']);
    expect(json.sessions.map((s) => s.id)).toEqual(w.sessions);
    expect(json.sessions[0]).toMatchObject({
      minutes: 10,
      coachName: 'Coach Robin',
      summary: 'Summary 0: breathing helped',
      rating: { rating: 5, comment: 'Calmer now', tipDollars: 3 },
    });
    expect(json.sessions[0]!.transcript.map((l) => [l.speaker, l.text])).toEqual([
      ['client', `I tried the ${word} breath 0`],
      ['ai', 'Lovely, keep going 0'],
    ]);
    expect(json.appointments).toEqual([expect.objectContaining({ id: w.appointmentId, status: 'SCHEDULED', coachName: 'Coach Robin' })]);
    expect(json.consents).toHaveLength(1);
    expect(json.sharedNotes.map((n) => n.text)).toEqual(['Shared: likes the long exhale']);
    // Never a coach's private note or whisper, in either file.
    for (const text of [JSON.stringify(json), html]) {
      expect(text).not.toContain('Private: check in');
      expect(text).not.toContain('Private whisper');
    }
    expect(html).toContain(`I tried the ${word} breath 1`);
    expect(html).toContain('Sleep through the night');
    expect(html).toContain('Breathwork fan from Leeds');
    expect(html).toContain('flagged for a coach to follow up');
  });

  it('streams a large account: the first bytes leave before the second page of sessions is read; the whole is a valid zip with every session, in order', async () => {
    const client = await createUser();
    const rows = Array.from({ length: 2 * EXPORT_PAGE_SIZE + 5 }, (_, i) => ({
      id: `big-${client.id}-${String(i).padStart(2, '0')}`,
      roomName: `session-big-${client.id}-${i}`,
      clientId: client.id,
      status: 'COMPLETED' as const,
      tierAtStart: 'FREE' as const,
      createdAt: new Date(1_700_000_000_000 + i * 1000),
      aiSummary: `as first stored ${i}`,
    }));
    for (let i = 0; i < rows.length; i += 8)
      await testDb()
        .insert(schema.coachingSessions)
        .values(rows.slice(i, i + 8));
    // The Worker's own fetch, not SELF: a socket in between would read ahead of the test.
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request(`${API}/api/users/me/export`, { headers: bearer(await signIn(client.email)) }), env, ctx);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // A session of the second page changes once the first bytes are out: a stream reads it only now and
    // exports the change; an export built whole before its first byte would hold what was there before.
    const later = rows[EXPORT_PAGE_SIZE + 3]!.id;
    await testDb().update(schema.coachingSessions).set({ aiSummary: 'changed after the first bytes' }).where(eq(schema.coachingSessions.id, later));
    const chunks = [first.value!];
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    const files = unzipSync(new Uint8Array(await new Blob(chunks).arrayBuffer()));
    const json = DataExport.parse(JSON.parse(strFromU8(files['export.json']!)));
    expect(json.sessions.map((s) => s.id)).toEqual(rows.map((r) => r.id));
    expect(json.sessions.find((s) => s.id === later)?.summary).toBe('changed after the first bytes');
    expect(json.sessions.at(-1)?.summary).toBe(`as first stored ${rows.length - 1}`);
    expect(strFromU8(files['export.html']!)).toContain('changed after the first bytes');
  });

  it(`allows ${3} downloads a day, then answers 429 with Retry-After`, async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    for (let i = 0; i < 3; i++) await exportOf(token);
    const res = await get('/api/users/me/export', bearer(token));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3600);
    expect((await body(res)).error).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('is for clients only (403 for staff), and refused (401) to an account disabled or waiting for deletion', async () => {
    const coach = await createUser({ role: 'COACH' });
    expect((await get('/api/users/me/export', bearer(await signIn(coach.email)))).status).toBe(403);
    const client = await createUser();
    const token = await signIn(client.email);
    await testDb().update(schema.users).set({ disabledAt: new Date() }).where(eq(schema.users.id, client.id));
    const res = await get('/api/users/me/export', bearer(token));
    expect(res.status).toBe(401);
    expect((await body(res)).error).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

const requestDeletion = (token: string, password: string | unknown = PASSWORD) => post('/api/users/me/deletion', { password }, bearer(token));

describe('POST /api/users/me/deletion and the grace period', () => {
  it('refuses a wrong password with 400 naming the field, and changes nothing', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    const res = await requestDeletion(token, 'not my password at all');
    expect(res.status).toBe(400);
    expect((await body(res)).error).toMatchObject({ code: 'VALIDATION_ERROR', fields: { password: expect.any(String) } });
    expect((await get('/api/users/me', bearer(token))).status).toBe(200);
    const bad = await post('/api/users/me/deletion', { password: 'x', extra: 1 }, bearer(token));
    expect(bad.status).toBe(400);
    const row = await testDb().select().from(schema.users).where(eq(schema.users.id, client.id)).get();
    expect(row).toMatchObject({ deletionRequestedAt: null, disabledAt: null });
  });

  it('disables the account at once and signs it out everywhere; a repeated request is a 401; sign-in offers only to cancel', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    const other = await signIn(client.email);
    const res = await requestDeletion(token);
    expect(res.status).toBe(200);
    const { erasesAt } = (await body<{ erasesAt: string }>(res)).data;
    const row = await testDb().select().from(schema.users).where(eq(schema.users.id, client.id)).get();
    expect(new Date(erasesAt).getTime()).toBe(row!.deletionRequestedAt!.getTime() + DELETION_GRACE_MS);
    expect(row!.disabledAt).toEqual(row!.deletionRequestedAt);
    for (const t of [token, other]) expect((await get('/api/users/me', bearer(t))).status).toBe(401);
    expect((await requestDeletion(token)).status).toBe(401);

    const { res: signedIn, json } = await login(client.email);
    expect(signedIn.status).toBe(200);
    expect(json.data).toEqual({ deletionPending: true, erasesAt });
    // A wrong password says nothing about the deletion.
    const wrong = await post('/api/auth/login', { email: client.email, password: 'wrong password here' }, ipHeader());
    expect(wrong.status).toBe(401);
  });

  it('schedules one deletion for two requests at the same moment: the other is a 409 (or a 401, if it reaches auth after the first signed the account out)', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    // Both pass auth before either writes (each checks the password first, which takes a while); the second's
    // batch finds the deletion set and fails whole. Without that guard both would answer 200.
    const answers = await Promise.all([requestDeletion(token), requestDeletion(token)]);
    const [done, refused] = answers.sort((a, b) => a.status - b.status);
    expect(done!.status).toBe(200);
    expect([401, 409]).toContain(refused!.status);
    expect((await body(refused!)).error.code).toBe(refused!.status === 409 ? 'CONFLICT' : 'UNAUTHORIZED');
    expect(await countWhere('audit_log', "target_id = ? AND action = 'user.deletion-request'", client.id)).toBe(1);
    const row = await testDb().select().from(schema.users).where(eq(schema.users.id, client.id)).get();
    expect(row).toMatchObject({ email: client.email, deletionRequestedAt: expect.any(Date) });
  });

  it('cancels with email and password during the grace period and signs in; cancelling again is a 409', async () => {
    const client = await createUser();
    expect((await requestDeletion(await signIn(client.email))).status).toBe(200);
    const wrong = await post('/api/auth/deletion/cancel', { email: client.email, password: 'wrong password here' }, ipHeader());
    expect(wrong.status).toBe(401);
    const res = await post('/api/auth/deletion/cancel', { email: client.email, password: PASSWORD }, ipHeader());
    expect(res.status).toBe(200);
    expect((await body<{ grant: string }>(res)).data.grant).toEqual(expect.any(String));
    const row = await testDb().select().from(schema.users).where(eq(schema.users.id, client.id)).get();
    expect(row).toMatchObject({ deletionRequestedAt: null, disabledAt: null });
    expect((await get('/api/users/me', bearer(await signIn(client.email)))).status).toBe(200);
    const again = await post('/api/auth/deletion/cancel', { email: client.email, password: PASSWORD }, ipHeader());
    expect(again.status).toBe(409);
    const audit = await testDb().select().from(schema.auditLog).where(eq(schema.auditLog.targetId, client.id)).all();
    expect(audit.map((a) => a.action).sort()).toEqual(['user.deletion-cancel', 'user.deletion-request']);
  });

  it('lets a client who forgot the password reset it during the grace period: no grant, then sign in and cancel', async () => {
    const client = await createUser();
    expect((await requestDeletion(await signIn(client.email))).status).toBe(200);
    expect((await post('/api/auth/password/forgot', { email: client.email }, ipHeader())).status).toBe(200);
    await deliverMail();
    const mail = (await mailTo(client.email)).at(-1);
    const token = decodeURIComponent(/\/reset\?token=([A-Za-z0-9_-]+)/.exec(mail?.Text ?? '')?.[1] ?? '');
    const fresh = 'tidepools at low water, twice';
    const reset = await post('/api/auth/password/reset', { token, password: fresh }, ipHeader());
    expect(reset.status).toBe(200);
    expect((await body(reset)).data).toEqual({ deletionPending: true, erasesAt: expect.any(String) });
    expect((await post('/api/auth/login', { email: client.email, password: fresh }, ipHeader())).status).toBe(200);
    const cancel = await post('/api/auth/deletion/cancel', { email: client.email, password: fresh }, ipHeader());
    expect(cancel.status).toBe(200);
    expect((await body<{ grant: string }>(cancel)).data.grant).toEqual(expect.any(String));
  });

  it('ends a call still open: the session is completed and its LiveKit room deleted', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const token = await signIn(client.email);
    const live = await liveSession(token);
    expect(await roomService().listRooms([live.roomName])).toHaveLength(1);
    expect((await requestDeletion(token)).status).toBe(200);
    expect(await roomService().listRooms([live.roomName])).toEqual([]);
    const row = await testDb().select().from(schema.coachingSessions).where(eq(schema.coachingSessions.id, live.sessionId)).get();
    expect(row?.status).toBe('COMPLETED');
  });

  it('leaves no way back into the deleted room: joining with the client’s still-valid room token is refused and creates no room', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const token = await signIn(client.email);
    const res = await post('/api/rooms', {}, bearer(token));
    const live = (await body<{ roomName: string; token: string }>(res)).data;
    const join = (path: string) =>
      fetch(`${httpUrl(env.LIVEKIT_URL)}${path}?access_token=${encodeURIComponent(live.token)}&protocol=15`, { headers: { Upgrade: 'websocket' } });
    expect((await join('/rtc/validate')).status).toBe(200);
    expect((await requestDeletion(token)).status).toBe(200);
    expect(await roomService().listRooms([live.roomName])).toEqual([]);
    // The same token, within its lifetime: livekit-server runs with room.auto_create off (scripts/livekit.mjs).
    const attempt = await join('/rtc');
    attempt.webSocket?.accept();
    attempt.webSocket?.close();
    expect(attempt.status).toBe(404);
    expect(await roomService().listRooms([live.roomName])).toEqual([]);
  });

  it('allows 10 tries in 15 minutes, then answers 429 with Retry-After even for the right password', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    for (let i = 0; i < 10; i++) expect((await requestDeletion(token, 'not-my-password')).status).toBe(400);
    const res = await requestDeletion(token);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await countWhere('users', 'id = ? AND deletion_requested_at IS NULL', client.id)).toBe(1);
  });

  it('is for clients only', async () => {
    const coach = await createUser({ role: 'COACH' });
    expect((await requestDeletion(await signIn(coach.email))).status).toBe(403);
  });
});

const runCron = (at: number) => worker.scheduled(createScheduledController({ cron: ERASURE_CRON, scheduledTime: at }), env);

describe('the erasure', () => {
  it('keeps everything until the grace period has passed (the cron as of a later time), then removes every row, the search index entries and the objects’ storage', async () => {
    const w = await clientWithHistory();
    expect((await requestDeletion(await signIn(w.client.email))).status).toBe(200);
    const before = await rowsAbout(w);
    expect(before).toMatchObject({
      users: 1,
      profiles: 1,
      coaching_sessions: 2,
      messages: 6,
      messages_fts: 2,
      session_ratings: 1,
      appointments: 1,
      client_notes: 2,
    });
    expect(before.email_outbox).toBe(2);
    const needles = [w.client.id, w.client.email, w.word, ...w.sessions];
    expect(await tablesMentioning(needles)).toEqual(expect.arrayContaining(['users', 'messages', 'crisis_flags', 'mfa_recovery_codes', 'email_outbox']));
    const requested = (await testDb().select().from(schema.users).where(eq(schema.users.id, w.client.id)).get())!.deletionRequestedAt!.getTime();

    await runCron(requested + DELETION_GRACE_MS - 60_000);
    expect(await rowsAbout(w)).toEqual(before);
    expect(await storedKeys(w.sessions[0]!)).not.toEqual([]);

    await runCron(requested + DELETION_GRACE_MS + 60_000);
    const after = await rowsAbout(w);
    expect(after).toEqual(Object.fromEntries(Object.keys(before).map((k) => [k, 0])));
    for (const id of w.sessions) expect(await storedKeys(id)).toEqual([]);
    expect(await tablesMentioning(needles)).toEqual([]);
    // The coach and their account stay.
    expect(await countWhere('users', 'id = ?', w.coach.id)).toBe(1);

    // What stays: the audit row (ids and counts, no personal data) and the billing counts.
    const audit = await testDb().select().from(schema.auditLog).where(eq(schema.auditLog.action, 'user.erase')).all();
    const mine = audit.find((a) => a.targetId === w.client.id)!;
    expect(mine).toMatchObject({ actorId: null, targetType: 'user' });
    expect(mine.after).toMatchObject({
      sessions: 2,
      messages: 6,
      searchEntries: 6,
      summaries: 2,
      ratings: 1,
      appointments: 1,
      notes: 2,
      consentRecords: 1,
      claimLinks: 1,
      resetLinks: 1,
      mail: 2,
    });
    expect(JSON.stringify(mine)).not.toContain(w.client.email);
    const kept = await testDb().select().from(schema.erasedSessions).where(sql`${schema.erasedSessions.sessionId} IN ${w.sessions}`).all();
    expect(kept.map((k) => [k.minutesCharged, k.tierAtStart, k.coachId])).toEqual([
      [10, 'PREMIUM', w.coach.id],
      [10, 'PREMIUM', w.coach.id],
    ]);
    // A second run finds nothing to do.
    await runCron(requested + DELETION_GRACE_MS + 3600_000);
    expect(await testDb().select().from(schema.auditLog).where(eq(schema.auditLog.targetId, w.client.id)).all()).toHaveLength(2);
  });

  it('changes nothing, in D1 or the objects, when its guard no longer holds (a deletion cancelled as the run starts)', async () => {
    const w = await clientWithHistory();
    const before = await rowsAbout(w);
    expect(await eraseAccount(env, testDb(), w.client.id, { actorId: null, reason: 'test' }, new Date(), sql`0`)).toBeNull();
    expect(await rowsAbout(w)).toEqual(before);
    expect(await storedKeys(w.sessions[0]!)).not.toEqual([]);
  });

  it('does not erase a client promoted to staff during the grace period: the deletion stays pending', async () => {
    const w = await clientWithHistory();
    expect((await requestDeletion(await signIn(w.client.email))).status).toBe(200);
    await testDb().update(schema.users).set({ role: 'COACH' }).where(eq(schema.users.id, w.client.id));
    const before = await rowsAbout(w);
    await runCron(Date.now() + DELETION_GRACE_MS + 3600_000);
    expect(await rowsAbout(w)).toEqual(before);
    expect(await storedKeys(w.sessions[0]!)).not.toEqual([]);
    const user = await testDb().select().from(schema.users).where(eq(schema.users.id, w.client.id)).get();
    expect(user?.deletionRequestedAt).not.toBeNull();
  });

  it('does not erase an account whose deletion was cancelled', async () => {
    const client = await createUser();
    expect((await requestDeletion(await signIn(client.email))).status).toBe(200);
    expect((await post('/api/auth/deletion/cancel', { email: client.email, password: PASSWORD }, ipHeader())).status).toBe(200);
    await runCron(Date.now() + DELETION_GRACE_MS + 3600_000);
    expect(await countWhere('users', 'id = ?', client.id)).toBe(1);
  });

  it('answers the agent-host’s late deliveries for an erased session 200, every time, and stores nothing', async () => {
    const w = await clientWithHistory();
    const admin = await createUser({ role: 'ADMIN' });
    const adminToken = await adminSession(admin);
    expect((await post(`/api/admin/people/${w.client.id}/erase`, { reason: 'Asked by email' }, bearer(adminToken))).status).toBe(200);
    const sessionId = w.sessions[0]!;
    const { word } = w;
    const late = async (path: string, payload: unknown, key: string) => {
      const raw = JSON.stringify(payload);
      return SELF.fetch(`${API}/api/webhooks/agent/${path}`, { method: 'POST', headers: await signedHeaders(env.AGENT_HOST_SECRET, raw, key), body: raw });
    };
    const line = {
      idempotencyKey: `${sessionId}:late`,
      speakerIdentity: w.client.id,
      role: 'client',
      text: `late ${word}`,
      startedAt: 9_000,
      endedAt: null,
      heardByAi: true,
    };
    for (let i = 0; i < 2; i++) {
      const res = await late('transcript', { sessionId, roomName: `session-${sessionId}`, lines: [line] }, `late-${i}`);
      expect(res.status).toBe(200);
      expect((await body(res)).data).toEqual({ stored: 0, duplicates: 1 });
    }
    const summary = await late(
      'summary',
      { sessionId, roomName: `session-${sessionId}`, summary: 'late', keyInsights: [], nextSteps: [], newFacts: ['a fact'], challenges: [] },
      'late-summary',
    );
    expect(summary.status).toBe(200);
    expect(await countWhere('messages', 'session_id = ?', sessionId)).toBe(0);
    expect(await countWhere('messages_fts', 'messages_fts MATCH ?', w.word)).toBe(0);
    expect(await countWhere('profiles', 'user_id = ?', w.client.id)).toBe(0);
    expect(await storedKeys(sessionId)).toEqual([]);
  });
});

/** `n` more finished sessions for the client of `w`, each with a spoken line and an object holding state. */
async function moreSessions(w: { client: { id: string }; sessions: string[]; word: string }, n: number) {
  for (let i = 0; i < n; i++) {
    const id = crypto.randomUUID();
    w.sessions.push(id);
    await testDb()
      .insert(schema.coachingSessions)
      .values({ id, roomName: `session-${id}`, clientId: w.client.id, status: 'COMPLETED', tierAtStart: 'PREMIUM', minutesCharged: 5 });
    await testDb()
      .insert(schema.messages)
      .values({
        sessionId: id,
        speakerIdentity: w.client.id,
        speakerRole: 'client',
        text: `More ${w.word}`,
        heardByAi: true,
        spokenAt: new Date(),
        idempotencyKey: `${id}:1`,
      });
    await runInDurableObject(sessionRoom(env, id), (_o, state) =>
      state.storage.put('state', { sessionId: id, clientId: w.client.id, status: 'COMPLETED', effects: [] }),
    );
  }
}

/** How many of `sessions` have an object wiped (nothing stored). */
const wipedOf = async (sessions: string[]) => (await Promise.all(sessions.map(storedKeys))).filter((keys) => keys.length === 0).length;

const eraseAudit = async (userId: string) =>
  testDb().select().from(schema.auditLog).where(sql`${schema.auditLog.targetId} = ${userId} AND ${schema.auditLog.action} = 'user.erase'`).all();

/**
 * Marks the client's deletion as asked `daysAgo` days ago and answers the time just past its grace period:
 * a cron as of then finds only this account due (other tests' requests are recent).
 */
async function askedDaysAgo(userId: string, daysAgo: number): Promise<Date> {
  const requested = new Date(Date.now() - daysAgo * 86_400_000);
  await testDb().update(schema.users).set({ deletionRequestedAt: requested, disabledAt: requested }).where(eq(schema.users.id, userId));
  return new Date(requested.getTime() + DELETION_GRACE_MS + 60_000);
}

describe('the erasure of an account with more sessions than one run wipes', () => {
  it('goes on over several cron runs, a chunk of objects each, every row kept until the last; then ends as a one-shot erasure does', async () => {
    const w = await clientWithHistory();
    await moreSessions(w, 5);
    const twin = await clientWithHistory();
    await moreSessions(twin, 5);
    const at = await askedDaysAgo(w.client.id, 30);
    const before = await rowsAbout(w);
    const needles = [w.client.id, w.client.email, w.word, ...w.sessions];
    // A run cut off after wiping an object and before marking it: the next run wipes it again, harmlessly.
    await sessionRoom(env, w.sessions[6]!).erase();

    expect(await runDueErasures(env, testDb(), at, 3)).toEqual({ erased: 0, failed: 0, unfinished: 1 });
    expect(await countWhere('coaching_sessions', 'client_id = ? AND object_erased_at IS NOT NULL', w.client.id)).toBe(3);
    expect(await rowsAbout(w)).toEqual(before);
    expect(await eraseAudit(w.client.id)).toEqual([]);
    expect(await runDueErasures(env, testDb(), at, 3)).toEqual({ erased: 0, failed: 0, unfinished: 1 });
    expect(await countWhere('coaching_sessions', 'client_id = ? AND object_erased_at IS NOT NULL', w.client.id)).toBe(6);
    expect(await rowsAbout(w)).toEqual(before);
    expect(await tablesMentioning(needles)).toContain('coaching_sessions');

    expect(await runDueErasures(env, testDb(), at, 3)).toEqual({ erased: 1, failed: 0, unfinished: 0 });
    expect(await rowsAbout(w)).toEqual(Object.fromEntries(Object.keys(before).map((k) => [k, 0])));
    expect(await wipedOf(w.sessions)).toBe(7);
    expect(await tablesMentioning(needles)).toEqual([]);
    // Nothing left to do: a later run changes nothing.
    expect(await runDueErasures(env, testDb(), at, 3)).toEqual({ erased: 0, failed: 0, unfinished: 0 });
    const [chunkedRow, ...more] = await eraseAudit(w.client.id);
    expect(more).toEqual([]);

    // The twin, erased in one run: the same audit counts and billing rows.
    const oneShot = await eraseAccount(env, testDb(), twin.client.id, { actorId: null, reason: chunkedRow!.reason! }, at);
    expect(oneShot).toMatchObject({ done: true, wiped: 7, counts: { sessions: 7, sessionObjects: 7 } });
    expect(chunkedRow!.after).toEqual((await eraseAudit(twin.client.id))[0]!.after);
    const billing = async (sessions: string[]) =>
      (await testDb().select().from(schema.erasedSessions).where(sql`${schema.erasedSessions.sessionId} IN ${sessions}`).all())
        .map((r) => [r.minutesCharged, r.tierAtStart, r.coachId === w.coach.id || r.coachId === twin.coach.id])
        .sort();
    expect(await billing(w.sessions)).toEqual(await billing(twin.sessions));
    expect(await billing(w.sessions)).toHaveLength(7);
  });

  it('stops, keeping every row, when the deletion is cancelled between runs; asked again, it carries on', async () => {
    const w = await clientWithHistory();
    await moreSessions(w, 3);
    const at = await askedDaysAgo(w.client.id, 40);
    const before = await rowsAbout(w);
    expect(await runDueErasures(env, testDb(), at, 2)).toMatchObject({ unfinished: 1 });
    await testDb().update(schema.users).set({ deletionRequestedAt: null, disabledAt: null }).where(eq(schema.users.id, w.client.id));
    expect(await runDueErasures(env, testDb(), at, 2)).toEqual({ erased: 0, failed: 0, unfinished: 0 });
    expect(await rowsAbout(w)).toEqual(before);
    expect(await wipedOf(w.sessions)).toBe(2);
    await askedDaysAgo(w.client.id, 40);
    expect(await runDueErasures(env, testDb(), at, 2)).toMatchObject({ unfinished: 1 });
    expect(await runDueErasures(env, testDb(), at, 2)).toMatchObject({ erased: 1 });
    expect(Object.values(await rowsAbout(w)).every((n) => n === 0)).toBe(true);
    expect(await wipedOf(w.sessions)).toBe(5);
  });

  it('an admin’s erasure: the account disabled and signed out at once, the cron carries it on, the last audit row names the admin and the reason', async () => {
    const w = await clientWithHistory();
    await moreSessions(w, 5);
    const token = await signIn(w.client.email);
    const admin = await createUser({ role: 'ADMIN' });
    const by = { actorId: admin.id, reason: 'Asked by letter, identity checked' };
    expect(await eraseByAdmin(env, testDb(), w.client.id, by, new Date(), 3)).toEqual({ done: false, wiped: 3, remaining: 4 });
    expect((await get('/api/users/me', bearer(token))).status).toBe(401);
    expect((await testDb().select().from(schema.users).where(eq(schema.users.id, w.client.id)).get())?.disabledAt).not.toBeNull();
    expect(await countWhere('audit_log', "target_id = ? AND action = 'user.erase-start' AND actor_id = ?", w.client.id, admin.id)).toBe(1);
    expect(await countWhere('coaching_sessions', 'client_id = ?', w.client.id)).toBe(7);

    // The cron, at any time: an admin's erasure has no grace period.
    expect(await runDueErasures(env, testDb(), new Date(), 3)).toMatchObject({ unfinished: 1 });
    expect(await wipedOf(w.sessions)).toBe(6);
    expect(await runDueErasures(env, testDb(), new Date(), 3)).toMatchObject({ erased: 1 });
    expect(Object.values(await rowsAbout(w)).every((n) => n === 0)).toBe(true);
    expect(await tablesMentioning([w.client.id, w.client.email, w.word, ...w.sessions])).toEqual([]);
    expect(await eraseAudit(w.client.id)).toEqual([expect.objectContaining({ actorId: admin.id, reason: by.reason })]);
    expect((await eraseAudit(w.client.id))[0]!.after).toMatchObject({ sessions: 7, messages: 11 });
  });
});

/** A signed-in admin (MFA set up at sign-in through the helpers). */
const adminSession = (admin: { email: string }) => signIn(admin.email);

describe('POST /api/admin/people/{id}/erase', () => {
  it('keeps a later Skool sync from making the erased client a new account or mailing them a claim link (a newcomer still gets one)', async () => {
    const w = await clientWithHistory();
    const admin = await createUser({ role: 'ADMIN' });
    expect((await post(`/api/admin/people/${w.client.id}/erase`, { reason: 'Asked by email' }, bearer(await adminSession(admin)))).status).toBe(200);
    const newcomer = `newcomer-${crypto.randomUUID()}@example.com`;
    const runId = await newRun();
    // Skool lists the address in another case: still the same person.
    const res = await deliverRun(runId, { ultra: [], vagus: [member(w.client.email.toUpperCase()), member(newcomer)] }, 10);
    expect(res.status).toBe(200);
    expect(await countWhere('users', 'email = ?', w.client.email)).toBe(0);
    expect(await countWhere('email_outbox', 'to_email = ?', w.client.email)).toBe(0);
    expect(await countWhere('skool_sync_members', 'email = ?', w.client.email)).toBe(0);
    expect(await countWhere('users', 'email = ?', newcomer)).toBe(1);
    expect(await countWhere('email_outbox', 'to_email = ?', newcomer)).toBe(1);
    const run = await testDb().select().from(schema.skoolSyncRuns).where(eq(schema.skoolSyncRuns.id, runId)).get();
    expect(run).toMatchObject({ status: 'SUCCEEDED', skipped: 1 });
    // Only a keyed hash is kept, never the address.
    const rows = await env.DB.prepare('SELECT * FROM erasure_suppressions').all();
    expect(JSON.stringify(rows.results)).not.toContain(w.client.email);
  });

  it('erases a client at once with a reason, audited with the admin as actor', async () => {
    const w = await clientWithHistory();
    const admin = await createUser({ role: 'ADMIN' });
    const res = await post(`/api/admin/people/${w.client.id}/erase`, { reason: 'Asked by email, identity checked' }, bearer(await adminSession(admin)));
    expect(res.status).toBe(200);
    expect((await body<{ counts: Record<string, number> }>(res)).data.counts).toMatchObject({ sessions: 2, messages: 6, sessionObjects: 2 });
    expect(Object.values(await rowsAbout(w)).every((n) => n === 0)).toBe(true);
    const audit = await testDb().select().from(schema.auditLog).where(eq(schema.auditLog.targetId, w.client.id)).all();
    expect(audit).toEqual([expect.objectContaining({ action: 'user.erase', actorId: admin.id, reason: 'Asked by email, identity checked' })]);
  });

  it('ends a call still open before erasing, deleting its LiveKit room', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const live = await liveSession(await signIn(client.email));
    const admin = await createUser({ role: 'ADMIN' });
    expect((await post(`/api/admin/people/${client.id}/erase`, { reason: 'Asked by email' }, bearer(await adminSession(admin)))).status).toBe(200);
    expect(await roomService().listRooms([live.roomName])).toEqual([]);
    expect(await storedKeys(live.sessionId)).toEqual([]);
    expect((await testDb().select().from(schema.erasedSessions).where(eq(schema.erasedSessions.sessionId, live.sessionId)).get())?.sessionId).toBe(
      live.sessionId,
    );
  });

  it('refuses staff accounts (409), unknown ids (404) and a missing reason (400), erasing nothing', async () => {
    const admin = await createUser({ role: 'ADMIN' });
    const token = await adminSession(admin);
    const coach = await createUser({ role: 'COACH' });
    expect((await post(`/api/admin/people/${coach.id}/erase`, { reason: 'Left the team' }, bearer(token))).status).toBe(409);
    expect((await post('/api/admin/people/nobody/erase', { reason: 'Asked by email' }, bearer(token))).status).toBe(404);
    const client = await createUser();
    const res = await post(`/api/admin/people/${client.id}/erase`, {}, bearer(token));
    expect(res.status).toBe(400);
    expect((await body(res)).error).toMatchObject({ fields: { reason: expect.any(String) } });
    expect(await countWhere('users', 'id IN (?, ?)', coach.id, client.id)).toBe(2);
  });
});
