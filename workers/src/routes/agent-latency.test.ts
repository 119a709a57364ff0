/**
 * Issue 18: the agent-host's per-session turn timings reach the Worker (signed, through the shared
 * contract, a later summary replacing an earlier one and never the reverse), and admins read them per UTC
 * day to see a slow day. Who may read at all is access.test.ts's too.
 */
import { env, SELF } from 'cloudflare:test';
import { type TurnTimingsMessage, TurnTimingsReply } from '@hybrid-coach/shared/agent-contract';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, get, post, testDb } from '../../test/helpers';
import { coachingSessions, sessionTurnTimings } from '../db/schema';
import { issueSession } from '../lib/session';

const DAY_MS = 86_400_000;

async function deliver(payload: unknown, secret = env.AGENT_HOST_SECRET, raw = JSON.stringify(payload)) {
  return SELF.fetch('http://api.test/api/webhooks/agent/turn-timings', {
    method: 'POST',
    headers: await signedHeaders(secret, raw, `k-${crypto.randomUUID()}`),
    body: raw,
  });
}

/** A finished session of a new client, stored as the Worker keeps it. */
async function aSession(): Promise<string> {
  const client = await createUser({ tier: 'PREMIUM' });
  const id = crypto.randomUUID();
  await testDb()
    .insert(coachingSessions)
    .values({ id, roomName: `session-${id}`, clientId: client.id, status: 'COMPLETED', tierAtStart: 'PREMIUM', startedAt: new Date() });
  return id;
}

function timings(sessionId: string, over: Partial<TurnTimingsMessage> = {}): TurnTimingsMessage {
  return {
    sessionId,
    roomName: `session-${sessionId}`,
    jobId: 'AJ_test',
    measuredAt: Date.now(),
    turns: 3,
    p50: { endOfUtteranceMs: 510, llmFirstTokenMs: 300, ttsFirstByteMs: 200, totalMs: 900 },
    worst: { endOfUtteranceMs: 700, llmFirstTokenMs: 420, ttsFirstByteMs: null, totalMs: 1400 },
    ...over,
  };
}

const stored = (sessionId: string) => testDb().select().from(sessionTurnTimings).where(eq(sessionTurnTimings.sessionId, sessionId)).get();

async function tokenOf(role: 'ADMIN' | 'COACH' | 'CLIENT') {
  const user = await createUser({ role, tier: 'PREMIUM' });
  return (await issueSession(env, testDb(), user, { ip: null, userAgent: 'latency test' })).token;
}

describe("the AI's turn timings, per session", () => {
  it('stores a summary, replaces it with a later one and never with an earlier one (a redelivery)', async () => {
    const sessionId = await aSession();
    const first = timings(sessionId, { measuredAt: 1_000_000, turns: 1 });
    const res = await deliver(first);
    expect(res.status).toBe(200);
    expect(TurnTimingsReply.parse(await res.json()).data).toEqual({ stored: true });
    expect(await stored(sessionId)).toMatchObject({ turns: 1, totalP50Ms: 900, totalWorstMs: 1400, ttsFirstByteWorstMs: null, endOfUtteranceP50Ms: 510 });

    const later = timings(sessionId, { measuredAt: 2_000_000, turns: 5, worst: { ...first.worst, totalMs: 3100 } });
    expect(TurnTimingsReply.parse(await (await deliver(later)).json()).data).toEqual({ stored: true });
    expect(await stored(sessionId)).toMatchObject({ turns: 5, totalWorstMs: 3100, measuredAt: new Date(2_000_000) });

    // The first, delivered again after the later one (a lost answer, a replayed outbox): kept out.
    expect(TurnTimingsReply.parse(await (await deliver(first)).json()).data).toEqual({ stored: false });
    expect(await stored(sessionId)).toMatchObject({ turns: 5, totalWorstMs: 3100 });
    // Measured in the same millisecond: the one with more turns is the newer.
    expect(TurnTimingsReply.parse(await (await deliver({ ...later, turns: 4 })).json()).data).toEqual({ stored: false });
    expect(TurnTimingsReply.parse(await (await deliver({ ...later, turns: 6 })).json()).data).toEqual({ stored: true });
    expect((await stored(sessionId))?.turns).toBe(6);
  });

  it('refuses a summary off the contract with 400 in the one error shape, writing nothing', async () => {
    const sessionId = await aSession();
    const good = timings(sessionId);
    const cases: [string, unknown][] = [
      ['words beside the times', { ...good, text: 'something the client said' }],
      ['words inside the figures', { ...good, p50: { ...good.p50, said: 'something the client said' } }],
      ['a negative time', { ...good, p50: { ...good.p50, totalMs: -1 } }],
      ['no total', { ...good, worst: { ...good.worst, totalMs: null } }],
      ['no turns', { ...good, turns: 0 }],
      ['a fraction of a turn', { ...good, turns: 1.5 }],
      ['no job', { ...good, jobId: '' }],
    ];
    for (const [what, payload] of cases) {
      const res = await deliver(payload);
      expect(res.status, what).toBe(400);
      expect(await res.json(), what).toMatchObject({ success: false, error: { code: 'VALIDATION_ERROR', fields: expect.any(Object) } });
    }
    const notJson = await deliver(undefined, env.AGENT_HOST_SECRET, '{"turns": 3');
    expect(notJson.status).toBe(400);
    expect(await stored(sessionId)).toBeUndefined();
  });

  it('refuses an unsigned or wrongly signed summary (401) and one about another room’s session (403), writing nothing', async () => {
    const sessionId = await aSession();
    const raw = JSON.stringify(timings(sessionId));
    const unsigned = await SELF.fetch('http://api.test/api/webhooks/agent/turn-timings', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: raw,
    });
    expect(unsigned.status).toBe(401);
    expect((await deliver(timings(sessionId), 'not-the-agent-host-secret-0123456789abcdef')).status).toBe(401);
    const other = await aSession();
    expect((await deliver({ ...timings(sessionId), roomName: `session-${other}` })).status).toBe(403);
    expect(await stored(sessionId)).toBeUndefined();
    expect(await stored(other)).toBeUndefined();
  });

  it('goes with the session', async () => {
    const sessionId = await aSession();
    expect((await deliver(timings(sessionId))).status).toBe(200);
    await testDb().delete(coachingSessions).where(eq(coachingSessions.id, sessionId));
    expect(await stored(sessionId)).toBeUndefined();
    // A late delivery for a session that is gone is not stored.
    expect((await deliver(timings(sessionId, { measuredAt: Date.now() + 1 }))).status).toBe(404);
  });
  it('goes when the client is erased, and a late delivery for the erased session is answered 200 and dropped', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const sessionId = crypto.randomUUID();
    await testDb()
      .insert(coachingSessions)
      .values({ id: sessionId, roomName: `session-${sessionId}`, clientId: client.id, status: 'COMPLETED', tierAtStart: 'PREMIUM', startedAt: new Date() });
    expect((await deliver(timings(sessionId))).status).toBe(200);
    expect((await post(`/api/admin/people/${client.id}/erase`, { reason: 'Asked by email' }, bearer(await tokenOf('ADMIN')))).status).toBe(200);
    expect(await stored(sessionId)).toBeUndefined();
    const late = await deliver(timings(sessionId, { measuredAt: Date.now() + 1, turns: 9 }));
    expect(late.status).toBe(200);
    expect(TurnTimingsReply.parse(await late.json()).data).toEqual({ stored: false });
    expect(await stored(sessionId)).toBeUndefined();
  });
});

describe('GET /api/admin/agent-latency', () => {
  it('gives admins, per UTC day, the sessions, turns, the median session p50 and the worst reply; nobody else', async () => {
    // Days far enough back that no other test's summaries (measured now) fall on them.
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const slow = today - 40 * DAY_MS;
    const quiet = today - 41 * DAY_MS;
    const old = today - 50 * DAY_MS;
    const rows: [number, number, number, number, number | null][] = [
      // measuredAt, turns, p50 total, worst total, p50 voice first byte
      [slow + 1_000, 4, 900, 1_200, 200],
      [slow + 3_600_000, 10, 2_100, 6_400, null],
      [slow + 23 * 3_600_000, 2, 1_500, 1_700, 260],
      [slow + 23 * 3_600_000 + 1, 6, 1_000, 2_000, 240],
      [quiet + 60_000, 3, 800, 950, 190],
      [old, 5, 5_000, 9_000, 300],
    ];
    for (const [measuredAt, turns, totalP50Ms, totalWorstMs, ttsFirstByteP50Ms] of rows) {
      await testDb()
        .insert(sessionTurnTimings)
        .values({ sessionId: await aSession(), jobId: 'AJ_seed', measuredAt: new Date(measuredAt), turns, totalP50Ms, totalWorstMs, ttsFirstByteP50Ms });
    }
    const day = (at: number) => new Date(at).toISOString().slice(0, 10);

    const res = await get('/api/admin/agent-latency?days=45', bearer(await tokenOf('ADMIN')));
    expect(res.status).toBe(200);
    const { days } = (await body<{ days: { day: string }[] }>(res)).data;
    const mine = days.filter((d) => [day(slow), day(quiet), day(old)].includes(d.day));
    expect(mine).toEqual([
      {
        day: day(slow),
        sessions: 4,
        turns: 22,
        // The median of 900, 1000, 1500 and 2100; the voice's of 200, 240 and 260 (one session did not know it).
        p50: { endOfUtteranceMs: null, llmFirstTokenMs: null, ttsFirstByteMs: 240, totalMs: 1_250 },
        worst: { endOfUtteranceMs: null, llmFirstTokenMs: null, ttsFirstByteMs: null, totalMs: 6_400 },
      },
      {
        day: day(quiet),
        sessions: 1,
        turns: 3,
        p50: { endOfUtteranceMs: null, llmFirstTokenMs: null, ttsFirstByteMs: 190, totalMs: 800 },
        worst: { endOfUtteranceMs: null, llmFirstTokenMs: null, ttsFirstByteMs: null, totalMs: 950 },
      },
    ]);
    // Newest first, one entry per day.
    expect(days.map((d) => d.day)).toEqual([...new Set(days.map((d) => d.day))].sort().reverse());
    const wider = (await body<{ days: { day: string; sessions: number }[] }>(await get('/api/admin/agent-latency?days=60', bearer(await tokenOf('ADMIN')))))
      .data;
    expect(wider.days.find((d) => d.day === day(old))).toMatchObject({ sessions: 1 });

    for (const role of ['COACH', 'CLIENT'] as const) expect((await get('/api/admin/agent-latency', bearer(await tokenOf(role)))).status, role).toBe(403);
    expect((await get('/api/admin/agent-latency')).status).toBe(401);
  });

  it('refuses a window it does not serve with 400', async () => {
    const token = await tokenOf('ADMIN');
    for (const query of ['days=0', 'days=91', 'days=two', 'days=1.5']) {
      const res = await get(`/api/admin/agent-latency?${query}`, bearer(token));
      expect(res.status, query).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
  });
});
