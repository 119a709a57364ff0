import { createScheduledController, env } from 'cloudflare:test';
import { roomNameFor } from '@hybrid-coach/shared/agent-contract';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { describe, expect, it } from 'vitest';
import { API, bearer, captureLogs, createUser, signIn, testDb } from '../../test/helpers';
import { clientNotes, coachingSessions } from '../db/schema';
import worker from '../index';
import { currentKeyId } from './encryption';
import { decryptField, encryptField, FieldDecryptionError, sealFieldsSweep } from './field-crypto';

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
type Vars = Partial<Record<'DATA_ENCRYPTION_KEY' | 'DATA_ENCRYPTION_KEY_PREVIOUS' | 'ENVIRONMENT', string>>;
const withVars = (vars: Vars) => ({ ...env, ...vars }) as unknown as Env;

/** The API under `under` (another key, another environment), as SELF would answer with those bindings. */
async function call<T = unknown>(under: Env, method: string, path: string, token: string, payload?: unknown) {
  const res = await worker.fetch(
    new Request(`${API}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...bearer(token) },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    }),
    under,
    ctx,
  );
  return { status: res.status, json: (await res.json()) as { success: boolean; data: T; error?: { code: string; message: string } } };
}

/** What D1 holds, read around the app. */
const rawProfile = (userId: string) =>
  env.DB.prepare('SELECT coaching_goals AS goals, symptoms FROM profiles WHERE user_id = ?')
    .bind(userId)
    .first<{ goals: string | null; symptoms: string | null }>();
const rawNote = async (id: string) => (await env.DB.prepare('SELECT text FROM client_notes WHERE id = ?').bind(id).first<{ text: string }>())?.text ?? '';
const keyIdOf = (stored: string | null | undefined) => stored?.match(/^enc:v1\.([A-Za-z0-9_-]+)\./)?.[1];

/** A coach and a client they coached (a session together), both signed in. */
async function coachAndClient() {
  const coach = await createUser({ role: 'COACH' });
  const client = await createUser({ role: 'CLIENT', tier: 'PREMIUM' });
  const sessionId = crypto.randomUUID();
  await testDb()
    .insert(coachingSessions)
    .values({ id: sessionId, roomName: roomNameFor(sessionId), clientId: client.id, coachId: coach.id, status: 'COMPLETED', tierAtStart: 'PREMIUM' });
  return { coach: { ...coach, token: await signIn(coach.email) }, client: { ...client, token: await signIn(client.email) }, sessionId };
}

const KEY_A = env.DATA_ENCRYPTION_KEY;
const KEY_B = 'rotated-data-encryption-key-B-0123456789abcdefgh';

describe('field encryption of intake answers and coach notes', () => {
  it('keeps no plaintext in the columns, and gives the text back to the client, the coach and the AI', async () => {
    const { coach, client, sessionId } = await coachAndClient();
    const goals = 'Stop waking at 3am dreading work';
    const symptoms = 'Jaw clenching and a racing heart';
    const patched = await call(env, 'PATCH', '/api/users/me/profile', client.token, { coachingGoals: goals, symptoms, initialMood: 2 });
    expect(patched.json.data).toMatchObject({ coachingGoals: goals, symptoms });
    const atRest = await rawProfile(client.id);
    for (const stored of [atRest?.goals, atRest?.symptoms]) {
      expect(stored).toMatch(/^enc:v1\./);
      expect(stored).not.toContain('3am');
      expect(stored).not.toContain('racing');
    }
    expect(atRest?.goals).not.toBe(atRest?.symptoms);
    expect((await call(env, 'GET', '/api/users/me/profile', client.token)).json.data).toMatchObject({ coachingGoals: goals, symptoms });
    // The coach's sidebar.
    const seen = await call<{ profile: { coachingGoals: string; symptoms: string } }>(env, 'GET', `/api/coach/clients/${client.id}`, coach.token);
    expect(seen.json.data.profile).toMatchObject({ coachingGoals: goals, symptoms });

    const noteText = 'Mentioned her father is in hospital';
    const created = await call<{ id: string; text: string }>(env, 'POST', `/api/clients/${client.id}/notes`, coach.token, {
      text: noteText,
      shareableWithAi: true,
    });
    expect(created.status).toBe(201);
    expect(created.json.data.text).toBe(noteText);
    const stored = await rawNote(created.json.data.id);
    expect(stored).toMatch(/^enc:v1\./);
    expect(stored).not.toContain('hospital');
    const listed = await call<{ text: string }[]>(env, 'GET', `/api/clients/${client.id}/notes`, coach.token);
    expect(listed.json.data.map((n) => n.text)).toEqual([noteText]);
    // The AI's context when it joins a session.
    const raw = JSON.stringify({ sessionId, roomName: roomNameFor(sessionId) });
    const headers = await signedHeaders(env.AGENT_HOST_SECRET, raw, `ctx-${crypto.randomUUID()}`);
    const context = await worker.fetch(new Request(`${API}/api/webhooks/agent/context`, { method: 'POST', headers, body: raw }), env, ctx);
    expect(((await context.json()) as { data: { client: unknown } }).data.client).toMatchObject({ coachingGoals: goals, symptoms, coachNotes: [noteText] });
  });

  it('refuses a tampered or moved value with an error naming the field and row, never the text', async () => {
    const sealed = await encryptField(env, 'client_notes.text', 'note-1', 'She is afraid of losing her job');
    expect(await decryptField(env, 'client_notes.text', 'note-1', sealed)).toBe('She is afraid of losing her job');
    const at = sealed.length - 6;
    const tampered = `${sealed.slice(0, at)}${sealed[at] === 'A' ? 'B' : 'A'}${sealed.slice(at + 1)}`;
    for (const [rowId, value] of [
      ['note-1', tampered],
      ['note-2', sealed], // copied into another row
    ] as const) {
      const err = await decryptField(env, 'client_notes.text', rowId, value).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FieldDecryptionError);
      expect((err as Error).message).toContain(`client_notes.text of row ${rowId} does not open`);
      expect((err as Error).message).not.toMatch(/afraid|job/);
    }
    // Nor as another field of the same row.
    await expect(decryptField(env, 'profiles.symptoms', 'u1', await encryptField(env, 'profiles.coaching_goals', 'u1', 'x'))).rejects.toThrow(
      FieldDecryptionError,
    );

    // Through the API: a generic 500 for the coach, the log names the row and holds no text.
    const { coach, client } = await coachAndClient();
    const note = await call<{ id: string }>(env, 'POST', `/api/clients/${client.id}/notes`, coach.token, { text: 'Drinks to fall asleep' });
    const stored = await rawNote(note.json.data.id);
    await env.DB.prepare('UPDATE client_notes SET text = ? WHERE id = ?')
      .bind(`${stored.slice(0, -3)}${stored.endsWith('AAA') ? 'BBB' : 'AAA'}`, note.json.data.id)
      .run();
    let answer: Awaited<ReturnType<typeof call>> | undefined;
    const lines = await captureLogs(async () => {
      answer = await call(env, 'GET', `/api/clients/${client.id}/notes`, coach.token);
    });
    expect(answer?.status).toBe(500);
    expect(JSON.stringify(answer?.json)).not.toMatch(/Drinks|asleep/);
    expect(lines.join('\n')).toContain(`client_notes.text of row ${note.json.data.id} does not open`);
    expect(lines.join('\n')).not.toMatch(/Drinks|asleep/);
    // The sweep leaves a value under a lost key as it is, names its row, and carries on with the others.
    const lostId = crypto.randomUUID();
    const lostKey = withVars({ DATA_ENCRYPTION_KEY: 'a-key-nobody-has-any-more-0123456789abcdef' });
    const lostText = await encryptField(lostKey, 'client_notes.text', lostId, 'x');
    await testDb().insert(clientNotes).values({ id: lostId, coachId: coach.id, clientId: client.id, text: lostText });
    const plain = await testDb().insert(clientNotes).values({ coachId: coach.id, clientId: client.id, text: 'Plain, from before' }).returning().get();
    expect(await sealFieldsSweep(env, testDb())).toMatchObject({ unreadable: [`client_notes.text:${lostId}`], done: true });
    expect(await rawNote(lostId)).toBe(lostText);
    expect(keyIdOf(await rawNote(plain.id))).toBe(await currentKeyId(env, 'coach-note'));
  });

  it('rotates: values under the old key open after the new one is current, are sealed again on their next write, and the sweep seals the rest', async () => {
    const { coach, client } = await coachAndClient();
    const keyA = await currentKeyId(withVars({ DATA_ENCRYPTION_KEY: KEY_A }), 'intake-answer');
    const keyB = await currentKeyId(withVars({ DATA_ENCRYPTION_KEY: KEY_B }), 'intake-answer');
    expect(keyB).not.toBe(keyA);
    // Written under key A.
    await call(env, 'PATCH', '/api/users/me/profile', client.token, { coachingGoals: 'Feel calm on the train', symptoms: 'Tight chest' });
    const first = await call<{ id: string }>(env, 'POST', `/api/clients/${client.id}/notes`, coach.token, { text: 'Panic attack last spring' });
    const second = await call<{ id: string }>(env, 'POST', `/api/clients/${client.id}/notes`, coach.token, { text: 'Likes cold water swims' });
    // A note from before field encryption: plain in its column.
    const legacy = await testDb().insert(clientNotes).values({ coachId: coach.id, clientId: client.id, text: 'Written before encryption' }).returning().get();
    expect(keyIdOf(await rawNote(first.json.data.id))).toBe(keyA);

    // Step 2 of the rotation: B is current, A is kept as the previous key.
    const rotating = withVars({ DATA_ENCRYPTION_KEY: KEY_B, DATA_ENCRYPTION_KEY_PREVIOUS: KEY_A });
    expect((await call(rotating, 'GET', '/api/users/me/profile', client.token)).json.data).toMatchObject({ coachingGoals: 'Feel calm on the train' });
    const listed = await call<{ text: string }[]>(rotating, 'GET', `/api/clients/${client.id}/notes`, coach.token);
    expect(listed.json.data.map((n) => n.text).sort()).toEqual(['Likes cold water swims', 'Panic attack last spring', 'Written before encryption']);
    // The next write seals under B, even one that changes another field.
    await call(rotating, 'PATCH', '/api/users/me/profile', client.token, { initialMood: 4 });
    const profile = await rawProfile(client.id);
    expect([keyIdOf(profile?.goals), keyIdOf(profile?.symptoms)]).toEqual([keyB, keyB]);
    await call(rotating, 'PATCH', `/api/notes/${first.json.data.id}`, coach.token, { shareableWithAi: true });
    expect(keyIdOf(await rawNote(first.json.data.id))).toBe(keyB);
    expect(keyIdOf(await rawNote(second.json.data.id))).toBe(keyA);
    expect(await rawNote(legacy.id)).toBe('Written before encryption');

    // The sweep (nightly cron) seals what no write touched; a second run finds nothing.
    const swept = await sealFieldsSweep(rotating, testDb());
    expect(swept).toMatchObject({ keyId: keyB, done: true });
    expect(swept.notes).toBeGreaterThanOrEqual(2);
    for (const id of [second.json.data.id, legacy.id]) expect(keyIdOf(await rawNote(id))).toBe(keyB);
    expect(await rawNote(legacy.id)).not.toContain('before encryption');
    expect(await sealFieldsSweep(rotating, testDb())).toMatchObject({ profiles: 0, notes: 0, done: true });

    // Step 3: the previous key is removed, and everything still opens.
    const after = withVars({ DATA_ENCRYPTION_KEY: KEY_B });
    const all = await call<{ text: string }[]>(after, 'GET', `/api/clients/${client.id}/notes`, coach.token);
    expect(all.json.data.map((n) => n.text).sort()).toEqual(['Likes cold water swims', 'Panic attack last spring', 'Written before encryption']);
    expect((await call(after, 'GET', '/api/users/me/profile', client.token)).json.data).toMatchObject({
      coachingGoals: 'Feel calm on the train',
      symptoms: 'Tight chest',
    });
  });

  it('is sealed by the nightly cron when it was written before field encryption', async () => {
    const { coach, client } = await coachAndClient();
    const plain = await testDb().insert(clientNotes).values({ coachId: coach.id, clientId: client.id, text: 'Plain until the cron runs' }).returning().get();
    const lines = await captureLogs(() => worker.scheduled(createScheduledController({ cron: '0 3 * * *', scheduledTime: Date.now() }), env));
    expect(keyIdOf(await rawNote(plain.id))).toBe(await currentKeyId(env, 'coach-note'));
    expect(lines.find((l) => l.includes('"msg":"field encryption sweep"'))).not.toContain('Plain until');
  });

  it('writes no intake answer in production without a real key, and says which secret is missing', async () => {
    const client = { ...(await createUser()), token: '' };
    client.token = await signIn(client.email);
    for (const key of ['', 'replace-with-at-least-32-random-bytes-base64url']) {
      const production = withVars({ ENVIRONMENT: 'production', DATA_ENCRYPTION_KEY: key });
      const lines = await captureLogs(async () => {
        const res = await call(production, 'PATCH', '/api/users/me/profile', client.token, { coachingGoals: 'Never stored in the clear' });
        expect(res.status).toBe(500);
      });
      expect(lines.join('\n')).toMatch(/DATA_ENCRYPTION_KEY (is required|is still the \.dev\.vars\.example placeholder)/);
      expect(await rawProfile(client.id)).toBeNull();
      const ready = await worker.fetch(new Request(`${API}/api/ready`), production, ctx);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: { message: string } }).error.message).toMatch(/DATA_ENCRYPTION_KEY/);
    }
  });
});
