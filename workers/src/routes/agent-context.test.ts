import { env, SELF } from 'cloudflare:test';
import { REPLAY_WINDOW_MS, signedHeaders } from '@hybrid-coach/shared/signing';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, post, signIn, testDb } from '../../test/helpers';
import * as schema from '../db/schema';

async function ask(payload: unknown, opts: { secret?: string; now?: number } = {}) {
  const raw = JSON.stringify(payload);
  const headers = await signedHeaders(opts.secret ?? env.AGENT_HOST_SECRET, raw, `ctx-${crypto.randomUUID()}`, opts.now);
  return SELF.fetch('http://api.test/api/webhooks/agent/context', { method: 'POST', headers, body: raw });
}

describe('POST /api/webhooks/agent/context', () => {
  it("tells the agent the client's name, onboarding answers, what earlier sessions learned, and the mute state", async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER', displayName: 'Robin Calm' });
    await testDb()
      .insert(schema.profiles)
      .values({
        userId: client.id,
        coachingGoals: 'Sleep through the night',
        symptoms: 'Racing heart at bedtime',
        initialMood: 2,
        clientFacts: ['Works night shifts'],
        challenges: ['Caffeine after noon'],
        lastSummary: 'Practised the 4-7-8 breath.',
      });
    const coach = await createUser({ role: 'COACH' });
    await testDb()
      .insert(schema.clientNotes)
      .values([
        { coachId: coach.id, clientId: client.id, text: 'Responds well to humming', shareableWithAi: true },
        { coachId: coach.id, clientId: client.id, text: 'Private: going through a divorce' },
      ]);
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(client.email))))).data;

    const res = await ask({ sessionId: t.sessionId, roomName: `session-${t.sessionId}` });
    expect(res.status).toBe(200);
    expect((await body(res)).data).toEqual({
      sessionId: t.sessionId,
      status: 'WAITING',
      client: {
        id: client.id,
        displayName: 'Robin Calm',
        coachingGoals: 'Sleep through the night',
        symptoms: 'Racing heart at bedtime',
        initialMood: 2,
        facts: ['Works night shifts'],
        challenges: ['Caffeine after noon'],
        lastSummary: 'Practised the 4-7-8 breath.',
        // Only the note the coach marked shareable with the AI.
        coachNotes: ['Responds well to humming'],
      },
      coach: null,
      control: { muted: false, version: 0 },
      capMinutes: null,
      history: [],
    });
  });

  it('refuses forged (401), replayed (401), malformed (400) and unknown-session (404) requests', async () => {
    expect((await ask({ sessionId: 'x' }, { secret: 'not-the-secret-not-the-secret-000000' })).status).toBe(401);
    const replayed = await ask({ sessionId: 'x' }, { now: Date.now() - REPLAY_WINDOW_MS - 60_000 });
    expect(replayed.status).toBe(401);
    expect((await body(replayed)).error.code).toBe('UNAUTHORIZED');
    const unsigned = await SELF.fetch('http://api.test/api/webhooks/agent/context', { method: 'POST', body: '{"sessionId":"x"}' });
    expect(unsigned.status).toBe(401);
    const malformed = await ask({ session: 42 });
    expect(malformed.status).toBe(400);
    expect((await body(malformed)).error.fields).toHaveProperty('sessionId');
    expect((await ask({ sessionId: 'no-such-session', roomName: 'session-no-such-session' })).status).toBe(404);
  });
});

async function signedPost(path: string, payload: unknown, key = `k-${crypto.randomUUID()}`) {
  const raw = JSON.stringify(payload);
  return SELF.fetch(`http://api.test${path}`, { method: 'POST', headers: await signedHeaders(env.AGENT_HOST_SECRET, raw, key), body: raw });
}

describe('an agent speaks only of its own room’s session', () => {
  it('refuses context, transcript lines, acknowledgements and summaries for another session (403), writing nothing', async () => {
    const victim = await createUser({ tier: 'VAGUS_MEMBER', displayName: 'Vic Tim' });
    await testDb().insert(schema.profiles).values({ userId: victim.id, coachingGoals: 'A goal only my coach may read' });
    const other = await createUser({ tier: 'PREMIUM' });
    const b = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(victim.email))))).data;
    const a = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(other.email))))).data;
    // A job in room A whose dispatch metadata names session B.
    const forged = { sessionId: b.sessionId, roomName: `session-${a.sessionId}` };

    const context = await ask(forged);
    expect(context.status).toBe(403);
    expect(JSON.stringify(await body(context))).not.toContain('A goal only my coach may read');
    const line = {
      idempotencyKey: `${b.sessionId}:forged:1`,
      speakerIdentity: 'agent',
      role: 'ai',
      text: 'Filed under the wrong session',
      startedAt: 1,
      endedAt: null,
      heardByAi: true,
    };
    expect((await signedPost('/api/webhooks/agent/transcript', { ...forged, lines: [line] })).status).toBe(403);
    expect((await signedPost('/api/webhooks/agent/control-ack', { ...forged, version: 0 })).status).toBe(403);
    const summary = { ...forged, summary: 'Made up', keyInsights: [], nextSteps: [], newFacts: [], challenges: [] };
    expect((await signedPost('/api/webhooks/agent/summary', summary)).status).toBe(403);
    // A room name that is not a session room at all.
    expect((await ask({ sessionId: b.sessionId, roomName: 'lobby' })).status).toBe(403);

    const stored = await testDb().select().from(schema.messages).where(eq(schema.messages.sessionId, b.sessionId)).all();
    expect(stored).toEqual([]);
    const row = await testDb().select().from(schema.coachingSessions).where(eq(schema.coachingSessions.id, b.sessionId)).get();
    expect(row?.aiSummary).toBeNull();
    // The same calls for the job's own room work.
    expect((await ask({ sessionId: b.sessionId, roomName: `session-${b.sessionId}` })).status).toBe(200);
  });
});

describe('POST /api/webhooks/agent/summary', () => {
  it('stores the summary with the assembled transcript, and the profile learns the new facts once', async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER', displayName: 'Sam Still' });
    await testDb()
      .insert(schema.profiles)
      .values({ userId: client.id, clientFacts: ['Has two dogs'] });
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(client.email))))).data;
    const line = (n: number, role: string, text: string, heardByAi = true) => ({
      idempotencyKey: `${t.sessionId}:job:${n}`,
      speakerIdentity: role === 'client' ? client.id : role,
      role,
      text,
      startedAt: 1_700_000_000_000 + n * 65_000,
      endedAt: null,
      heardByAi,
    });
    expect(
      (
        await signedPost('/api/webhooks/agent/transcript', {
          sessionId: t.sessionId,
          roomName: `session-${t.sessionId}`,
          lines: [line(0, 'ai', 'How are you?'), line(1, 'client', 'Tired.'), line(2, 'coach', 'Private aside', false)],
        })
      ).status,
    ).toBe(200);

    // The history the agent gets back leaves out what it did not hear.
    const ctx = (
      await body<{ history: { role: string; kind: string; text: string; speakerName: string }[] }>(
        await ask({ sessionId: t.sessionId, roomName: `session-${t.sessionId}` }),
      )
    ).data;
    expect(ctx.history.map((h) => [h.role, h.kind, h.speakerName, h.text])).toEqual([
      ['ai', 'speech', 'AI coach', 'How are you?'],
      ['client', 'speech', 'Sam Still', 'Tired.'],
    ]);

    const summary = {
      sessionId: t.sessionId,
      roomName: `session-${t.sessionId}`,
      summary: 'Sam arrived tired and practised a long exhale.',
      keyInsights: ['Evenings are hardest'],
      nextSteps: ['Hum for two minutes before bed'],
      newFacts: ['Works late', 'has two dogs'],
      challenges: ['Poor sleep', 'Deadlines at work'],
    };
    for (let i = 0; i < 2; i++) expect((await signedPost('/api/webhooks/agent/summary', summary, `${t.sessionId}:summary`)).status).toBe(200);

    const row = await testDb().select().from(schema.coachingSessions).where(eq(schema.coachingSessions.id, t.sessionId)).get();
    expect(row?.aiSummary).toBe(
      'Sam arrived tired and practised a long exhale.\n\nKey insights:\n- Evenings are hardest\n\nSuggested next steps:\n- Hum for two minutes before bed',
    );
    expect(row?.transcript).toBe('[00:00:00] AI coach: How are you?\n[00:01:05] Client: Tired.\n[00:02:10] Coach (not heard by the AI): Private aside');
    const profile = await testDb().select().from(schema.profiles).where(eq(schema.profiles.userId, client.id)).get();
    expect(profile?.lastSummary).toBe(row?.aiSummary);
    expect(profile?.clientFacts).toEqual(['Works late', 'has two dogs']);
    expect(profile?.challenges).toEqual(['Poor sleep', 'Deadlines at work']);

    // The next session's summary brings a challenge again and a new one: kept once, newest last.
    const next = { ...summary, newFacts: [], challenges: ['poor sleep', 'A move abroad'] };
    expect((await signedPost('/api/webhooks/agent/summary', next, `${t.sessionId}:summary:2`)).status).toBe(200);
    const after = await testDb().select().from(schema.profiles).where(eq(schema.profiles.userId, client.id)).get();
    expect(after?.challenges).toEqual(['Deadlines at work', 'poor sleep', 'A move abroad']);
    expect(after?.clientFacts).toEqual(['Works late', 'has two dogs']);

    // A summary queued by an older agent-host, without challenges, still lands and keeps them.
    const { challenges: _none, ...older } = summary;
    expect((await signedPost('/api/webhooks/agent/summary', older, `${t.sessionId}:summary:3`)).status).toBe(200);
    const kept = await testDb().select().from(schema.profiles).where(eq(schema.profiles.userId, client.id)).get();
    expect(kept?.challenges).toEqual(['Deadlines at work', 'poor sleep', 'A move abroad']);
  });

  it('refuses a malformed summary (400) and an unknown session (404), writing nothing', async () => {
    const bad = await signedPost('/api/webhooks/agent/summary', { sessionId: 'x', summary: '', keyInsights: 'no', nextSteps: [], newFacts: [] });
    expect(bad.status).toBe(400);
    expect(Object.keys((await body(bad)).error.fields ?? {})).toEqual(expect.arrayContaining(['summary', 'keyInsights']));
    const unknown = await signedPost('/api/webhooks/agent/summary', {
      sessionId: 'no-such',
      roomName: 'session-no-such',
      summary: 'x',
      keyInsights: [],
      nextSteps: [],
      newFacts: [],
    });
    expect(unknown.status).toBe(404);
  });
});
