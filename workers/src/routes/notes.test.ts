import { env, SELF } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { clientNotes, coachingSessions, messages, users } from '../db/schema';
import { decryptField } from '../lib/field-crypto';
import { MAX_NOTES } from './notes';
import { ftsQuery, pieces } from './search';

const send = (method: 'PATCH' | 'DELETE', path: string, payload: unknown, token: string) =>
  SELF.fetch(`${API}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...bearer(token) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });

type Note = { id: string; text: string; sessionId: string | null; shareableWithAi: boolean };

/** A coach, a client they coached (one session together), another coach and the client signed in. */
async function cast() {
  const coach = await createUser({ role: 'COACH', displayName: 'Casey Coach' });
  const other = await createUser({ role: 'COACH' });
  const client = await createUser({ role: 'CLIENT', tier: 'PREMIUM', displayName: 'Robin Calm' });
  const [session] = await testDb()
    .insert(coachingSessions)
    .values({ roomName: `session-${crypto.randomUUID()}`, clientId: client.id, coachId: coach.id, status: 'COMPLETED', tierAtStart: 'PREMIUM' })
    .returning();
  return {
    coach: { ...coach, token: await signIn(coach.email) },
    other: { ...other, token: await signIn(other.email) },
    client: { ...client, token: await signIn(client.email) },
    sessionId: session!.id,
  };
}

describe('coach notes', () => {
  it('lets a coach keep private notes on a client they coach, per client and per session', async () => {
    const { coach, client, sessionId } = await cast();
    const created = await post(`/api/clients/${client.id}/notes`, { text: '  Sleeps badly before exams ' }, bearer(coach.token));
    expect(created.status).toBe(201);
    const note = (await body<Note>(created)).data;
    expect(note).toMatchObject({ text: 'Sleeps badly before exams', sessionId: null, shareableWithAi: false });
    const onSession = await post(`/api/clients/${client.id}/notes`, { text: 'Humming helped', sessionId, shareableWithAi: true }, bearer(coach.token));
    expect(onSession.status).toBe(201);

    const all = (await body<Note[]>(await get(`/api/clients/${client.id}/notes`, bearer(coach.token)))).data;
    expect(all.map((n) => n.text).sort()).toEqual(['Humming helped', 'Sleeps badly before exams']);
    const forSession = (await body<Note[]>(await get(`/api/clients/${client.id}/notes?sessionId=${sessionId}`, bearer(coach.token)))).data;
    expect(forSession.map((n) => n.text)).toEqual(['Humming helped']);

    const changed = await send('PATCH', `/api/notes/${note.id}`, { shareableWithAi: true }, coach.token);
    expect((await body<Note>(changed)).data).toMatchObject({ text: 'Sleeps badly before exams', shareableWithAi: true });
    expect((await send('DELETE', `/api/notes/${note.id}`, undefined, coach.token)).status).toBe(200);
    expect((await body<Note[]>(await get(`/api/clients/${client.id}/notes`, bearer(coach.token)))).data).toHaveLength(1);
  });

  it('keeps notes from clients (403), from other coaches (404) and from nobody (401); bad input writes nothing', async () => {
    const { coach, other, client, sessionId } = await cast();
    const note = (await body<Note>(await post(`/api/clients/${client.id}/notes`, { text: 'Private' }, bearer(coach.token)))).data;

    expect((await get(`/api/clients/${client.id}/notes`, bearer(client.token))).status).toBe(403);
    expect((await post(`/api/clients/${client.id}/notes`, { text: 'x' }, bearer(client.token))).status).toBe(403);
    expect((await get(`/api/clients/${client.id}/notes`)).status).toBe(401);
    // A coach who never coached this client cannot see or write their notes, nor touch another coach's note.
    expect((await get(`/api/clients/${client.id}/notes`, bearer(other.token))).status).toBe(404);
    expect((await post(`/api/clients/${client.id}/notes`, { text: 'x' }, bearer(other.token))).status).toBe(404);
    expect((await send('PATCH', `/api/notes/${note.id}`, { text: 'mine now' }, other.token)).status).toBe(404);
    expect((await send('DELETE', `/api/notes/${note.id}`, undefined, other.token)).status).toBe(404);

    for (const bad of [{}, { text: '   ' }, { text: 'x'.repeat(5001) }, { text: 'ok', shareableWithAi: 'yes' }, { text: 'ok', extra: 1 }]) {
      const res = await post(`/api/clients/${client.id}/notes`, bad, bearer(coach.token));
      expect(res.status, JSON.stringify(bad).slice(0, 40)).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
    const elsewhere = await post(`/api/clients/${client.id}/notes`, { text: 'ok', sessionId: 'someone-elses' }, bearer(coach.token));
    expect(elsewhere.status).toBe(400);
    expect((await send('PATCH', `/api/notes/${note.id}`, {}, coach.token)).status).toBe(400);
    const rows = await testDb().select().from(clientNotes).all();
    const kept = rows.filter((r) => r.clientId === client.id);
    expect(await Promise.all(kept.map((r) => decryptField(env, 'client_notes.text', r.id, r.text)))).toEqual(['Private']);
    expect(sessionId).toBeTruthy();
  });

  it('lists the newest notes up to `limit` (at most MAX_NOTES)', async () => {
    const { coach, client } = await cast();
    const t0 = Date.now() - 60_000;
    await testDb()
      .insert(clientNotes)
      .values(
        [1, 2, 3].map((n) => ({
          coachId: coach.id,
          clientId: client.id,
          text: `Note ${n}`,
          createdAt: new Date(t0 + n * 1000),
          updatedAt: new Date(t0 + n * 1000),
        })),
      );
    const page = await get(`/api/clients/${client.id}/notes?limit=2`, bearer(coach.token));
    expect((await body<Note[]>(page)).data.map((n) => n.text)).toEqual(['Note 3', 'Note 2']);
    expect((await body<Note[]>(await get(`/api/clients/${client.id}/notes`, bearer(coach.token)))).data).toHaveLength(3);
    for (const limit of [0, MAX_NOTES + 1, 'many']) {
      const res = await get(`/api/clients/${client.id}/notes?limit=${limit}`, bearer(coach.token));
      expect(res.status, String(limit)).toBe(400);
      expect(Object.keys((await body(res)).error.fields ?? {})).toEqual(['limit']);
    }
  });

  it('answers an admin’s note on an unknown or deleted client with 404, writing nothing', async () => {
    const { client } = await cast();
    const admin = await createUser({ role: 'ADMIN' });
    const token = await signIn(admin.email);
    const gone = await createUser();
    await testDb().update(users).set({ deletedAt: new Date() }).where(eq(users.id, gone.id));
    for (const clientId of [crypto.randomUUID(), gone.id]) {
      const res = await post(`/api/clients/${clientId}/notes`, { text: 'Check in next week' }, bearer(token));
      expect(res.status).toBe(404);
      expect((await body(res)).error.code).toBe('NOT_FOUND');
      expect((await get(`/api/clients/${clientId}/notes`, bearer(token))).status).toBe(404);
    }
    // A client who exists takes the admin's note.
    expect((await post(`/api/clients/${client.id}/notes`, { text: 'Check in next week' }, bearer(token))).status).toBe(201);
    const rows = await testDb().select().from(clientNotes).where(eq(clientNotes.coachId, admin.id)).all();
    expect(rows.map((r) => r.clientId)).toEqual([client.id]);
  });
});

describe('GET /api/search/transcripts', () => {
  it('finds words in the coach’s own sessions only, best first, with the matches marked', async () => {
    const { coach, other, client, sessionId } = await cast();
    const [elsewhere] = await testDb()
      .insert(coachingSessions)
      .values({ roomName: `session-${crypto.randomUUID()}`, clientId: client.id, coachId: other.id, status: 'COMPLETED', tierAtStart: 'PREMIUM' })
      .returning();
    const line = (sid: string, n: number, text: string) => ({
      sessionId: sid,
      speakerIdentity: client.id,
      speakerRole: 'client' as const,
      text,
      heardByAi: true,
      spokenAt: new Date(n * 1000),
      idempotencyKey: `${sid}:${n}`,
    });
    await testDb()
      .insert(messages)
      .values([
        line(sessionId, 1, 'My breathing gets shallow when I am anxious at work'),
        line(sessionId, 2, 'I slept well after the humming exercise'),
        line(elsewhere!.id, 3, 'Breathing is hard in the mornings'),
      ]);

    type Hit = { sessionId: string; clientName: string; snippet: { text: string; match: boolean }[] };
    const res = await get(`/api/search/transcripts?q=${encodeURIComponent('breathe')}`, bearer(coach.token));
    expect(res.status).toBe(200);
    const hits = (await body<Hit[]>(res)).data;
    // Stemmed ("breathe" finds "breathing"), the other coach's session left out.
    expect(hits.map((h) => h.sessionId)).toEqual([sessionId]);
    expect(hits[0]!.clientName).toBe('Robin Calm');
    expect(hits[0]!.snippet.filter((p) => p.match).map((p) => p.text)).toEqual(['breathing']);
    expect(hits[0]!.snippet.map((p) => p.text).join('')).toBe('My breathing gets shallow when I am anxious at work');

    // Several words must all be there; the last one may be the start of a word; FTS5 syntax is just text.
    const hum = (await body<Hit[]>(await get('/api/search/transcripts?q=slept%20hum', bearer(coach.token)))).data;
    expect(hum.map((h) => h.snippet.filter((p) => p.match).map((p) => p.text))).toEqual([['slept', 'humming']]);
    expect((await get(`/api/search/transcripts?q=${encodeURIComponent('"anxious" OR NEAR(')}`, bearer(coach.token))).status).toBe(200);
    expect((await body<Hit[]>(await get('/api/search/transcripts?q=elephant', bearer(coach.token)))).data).toEqual([]);

    // Edited and deleted lines follow (the index is kept by triggers).
    await testDb().delete(messages).all();
    expect((await body<Hit[]>(await get('/api/search/transcripts?q=breathing', bearer(coach.token)))).data).toEqual([]);

    expect((await get('/api/search/transcripts?q=breathing', bearer(client.token))).status).toBe(403);
    expect((await get('/api/search/transcripts?q=breathing')).status).toBe(401);
    expect((await get('/api/search/transcripts?q=%20%21%3F', bearer(coach.token))).status).toBe(400);
    expect((await get('/api/search/transcripts', bearer(coach.token))).status).toBe(400);
  });

  it('turns a search box into a safe FTS5 query and marked snippets into pieces', () => {
    expect(ftsQuery('slow  breath')).toBe('"slow" AND "breath"*');
    expect(ftsQuery('"x" OR NEAR(')).toBe('"x" AND "OR" AND "NEAR"*');
    expect(ftsQuery(' ?! ')).toBeNull();
    expect(pieces('a \u0002b\u0003 c')).toEqual([
      { text: 'a ', match: false },
      { text: 'b', match: true },
      { text: ' c', match: false },
    ]);
  });
});
