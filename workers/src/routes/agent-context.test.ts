import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import * as schema from '../db/schema';
import { bearer, body, createUser, post, signIn, testDb } from '../../test/helpers';
import { REPLAY_WINDOW_MS, signedHeaders } from '../lib/signing';

async function ask(payload: unknown, opts: { secret?: string; now?: number } = {}) {
  const raw = JSON.stringify(payload);
  const headers = await signedHeaders(opts.secret ?? env.AGENT_HOST_SECRET, raw, `ctx-${crypto.randomUUID()}`, opts.now);
  return SELF.fetch('http://api.test/api/webhooks/agent/context', { method: 'POST', headers, body: raw });
}

describe('POST /api/webhooks/agent/context', () => {
  it("tells the agent the client's name, onboarding answers, what earlier sessions learned, and the mute state", async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER', displayName: 'Robin Calm' });
    await testDb().insert(schema.profiles).values({
      userId: client.id,
      coachingGoals: 'Sleep through the night',
      symptoms: 'Racing heart at bedtime',
      initialMood: 2,
      clientFacts: ['Works night shifts'],
      challenges: ['Caffeine after noon'],
      lastSummary: 'Practised the 4-7-8 breath.',
    });
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(await signIn(client.email))))).data;

    const res = await ask({ sessionId: t.sessionId });
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
      },
      coach: null,
      control: { muted: false, version: 0 },
      capMinutes: null,
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
    expect((await ask({ sessionId: 'no-such-session' })).status).toBe(404);
  });
});
