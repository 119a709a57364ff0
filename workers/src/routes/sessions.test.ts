import { env, SELF } from 'cloudflare:test';
import type { MembershipTier } from '@hybrid-coach/shared/tiers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { coachingSessions, messages, sessionRatings, users } from '../db/schema';
import { MAX_TRANSCRIPT_LINES, TEASER_CHARS } from './sessions';

const SUMMARY =
  'You noticed the tightness in your chest easing as the exhale lengthened. We practised a 4-7-8 breath twice and named three cues of safety in your room. Next time: the humming exercise.';

/** A session of `clientId` straight in D1, with two transcript lines. */
async function seedSession(clientId: string, opts: { status?: 'WAITING' | 'ACTIVE' | 'COMPLETED'; tier?: MembershipTier; coachId?: string } = {}) {
  const id = crypto.randomUUID();
  const t0 = new Date('2027-03-02T10:00:00Z');
  const completed = (opts.status ?? 'COMPLETED') === 'COMPLETED';
  await testDb()
    .insert(coachingSessions)
    .values({
      id,
      roomName: `session-${id}`,
      clientId,
      coachId: opts.coachId ?? null,
      status: opts.status ?? 'COMPLETED',
      tierAtStart: opts.tier ?? 'FREE',
      startedAt: t0,
      endedAt: completed ? new Date(t0.getTime() + 754_000) : null,
      durationSeconds: completed ? 754 : null,
      aiSummary: completed ? SUMMARY : null,
    });
  await testDb()
    .insert(messages)
    .values([
      {
        sessionId: id,
        speakerIdentity: clientId,
        speakerRole: 'client',
        text: 'My chest feels tight',
        heardByAi: true,
        spokenAt: t0,
        idempotencyKey: `${id}:1`,
      },
      {
        sessionId: id,
        speakerIdentity: 'agent',
        speakerRole: 'ai',
        text: 'Let us slow the exhale',
        heardByAi: true,
        spokenAt: new Date(t0.getTime() + 5000),
        idempotencyKey: `${id}:2`,
      },
    ]);
  return id;
}

const ratingsOf = (sessionId: string) => testDb().select().from(sessionRatings).where(eq(sessionRatings.sessionId, sessionId)).all();

interface Rating {
  rating: number;
  tip: number | null;
  comment: string | null;
  createdAt: string;
}
interface Summary {
  id: string;
  aiSummary: string | null;
  reportAccess: 'full' | 'teaser';
  rating: Rating | null;
}
interface Detail extends Summary {
  transcript: { text: string }[];
  transcriptLineCount: number;
}

describe('POST /api/sessions/:id/rating', () => {
  it('saves the client’s rating of a completed session once; the history and the session carry it', async () => {
    const client = await createUser({ tier: 'FREE' });
    const token = await signIn(client.email);
    const sessionId = await seedSession(client.id);

    const res = await post(`/api/sessions/${sessionId}/rating`, { rating: 5, tip: 3, comment: '  Calmer already.  ' }, bearer(token));
    expect(res.status).toBe(201);
    const saved = (await body<Rating>(res)).data;
    expect(saved).toMatchObject({ rating: 5, tip: 3, comment: 'Calmer already.' });

    const again = await post(`/api/sessions/${sessionId}/rating`, { rating: 1, tip: null }, bearer(token));
    expect(again.status).toBe(409);
    expect((await body(again)).error.code).toBe('CONFLICT');
    expect((await ratingsOf(sessionId)).map((r) => [r.rating, r.tipDollars, r.comment])).toEqual([[5, 3, 'Calmer already.']]);

    const list = (await body<Summary[]>(await get('/api/sessions', bearer(token)))).data;
    expect(list.find((s) => s.id === sessionId)?.rating).toEqual(saved);
    expect((await body<Detail>(await get(`/api/sessions/${sessionId}`, bearer(token)))).data.rating).toEqual(saved);
  });

  it('takes a rating without tip or comment, and two at the same moment save one', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const token = await signIn(client.email);
    const sessionId = await seedSession(client.id);
    const answers = await Promise.all([
      post(`/api/sessions/${sessionId}/rating`, { rating: 4 }, bearer(token)),
      post(`/api/sessions/${sessionId}/rating`, { rating: 2 }, bearer(token)),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const rows = await ratingsOf(sessionId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tipDollars: null, comment: null });
  });

  it('refuses bad input with 400 naming the fields, and writes nothing', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    const sessionId = await seedSession(client.id);
    const cases: [unknown, string[]][] = [
      [{ rating: 0 }, ['rating']],
      [{ rating: 6, tip: 2 }, ['rating', 'tip']],
      [{ rating: 3.5 }, ['rating']],
      [{ rating: '5' }, ['rating']],
      [{ rating: 4, tip: 10 }, ['tip']],
      [{ rating: 4, comment: 'x'.repeat(2001) }, ['comment']],
      [{ rating: 4, extra: true }, ['body']],
      [{}, ['rating']],
    ];
    for (const [input, fields] of cases) {
      const res = await post(`/api/sessions/${sessionId}/rating`, input, bearer(token));
      expect(res.status, JSON.stringify(input)).toBe(400);
      const err = (await body(res)).error;
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(Object.keys(err.fields ?? {}).sort(), JSON.stringify(input)).toEqual(fields);
    }
    expect((await post(`/api/sessions/${sessionId}/rating`, 'not json', bearer(token))).status).toBe(400);
    expect(await ratingsOf(sessionId)).toEqual([]);
  });

  it('asks who is asking: nobody (401), another client (404), the session’s coach (403)', async () => {
    const client = await createUser();
    const coach = await createUser({ role: 'COACH' });
    const other = await createUser();
    const sessionId = await seedSession(client.id, { coachId: coach.id, tier: 'PREMIUM' });
    expect((await post(`/api/sessions/${sessionId}/rating`, { rating: 5 })).status).toBe(401);
    const byOther = await post(`/api/sessions/${sessionId}/rating`, { rating: 5 }, bearer(await signIn(other.email)));
    expect(byOther.status).toBe(404);
    const byCoach = await post(`/api/sessions/${sessionId}/rating`, { rating: 5 }, bearer(await signIn(coach.email)));
    expect(byCoach.status).toBe(403);
    expect((await body(byCoach)).error.code).toBe('FORBIDDEN');
    expect(await ratingsOf(sessionId)).toEqual([]);
  });

  it('refuses to rate a session that has not ended (409)', async () => {
    const client = await createUser();
    const sessionId = await seedSession(client.id, { status: 'ACTIVE' });
    const res = await post(`/api/sessions/${sessionId}/rating`, { rating: 5 }, bearer(await signIn(client.email)));
    expect(res.status).toBe(409);
    expect(await ratingsOf(sessionId)).toEqual([]);
  });
});

describe('reports by tier', () => {
  it('sends a FREE client only a teaser of a finished session: summary cut short, no transcript lines', async () => {
    const client = await createUser({ tier: 'FREE' });
    const token = await signIn(client.email);
    const sessionId = await seedSession(client.id);
    const detail = (await body<Detail>(await get(`/api/sessions/${sessionId}`, bearer(token)))).data;
    expect(detail.reportAccess).toBe('teaser');
    expect(detail.aiSummary?.endsWith('…')).toBe(true);
    expect(detail.aiSummary?.length).toBeLessThanOrEqual(TEASER_CHARS + 1);
    expect(SUMMARY.startsWith(detail.aiSummary?.slice(0, -1) ?? '?')).toBe(true);
    expect(detail.transcript).toEqual([]);
    expect(detail.transcriptLineCount).toBe(2);
    // The raw response, not only the parsed one, carries nothing of the rest.
    const raw = await (await SELF.fetch(`${API}/api/sessions`, { headers: bearer(token) })).text();
    expect(raw).not.toContain('humming exercise');
    expect(raw).toContain('"reportAccess":"teaser"');
  });

  it('gives a FREE client the transcript of a live session, and the full report after upgrading', async () => {
    const client = await createUser({ tier: 'FREE' });
    const token = await signIn(client.email);
    const live = await seedSession(client.id, { status: 'ACTIVE' });
    const during = (await body<Detail>(await get(`/api/sessions/${live}`, bearer(token)))).data;
    expect(during.transcript.map((l) => l.text)).toEqual(['My chest feels tight', 'Let us slow the exhale']);

    const done = await seedSession(client.id);
    await testDb().update(users).set({ membershipTier: 'VAGUS_MEMBER' }).where(eq(users.id, client.id));
    const after = (await body<Detail>(await get(`/api/sessions/${done}`, bearer(token)))).data;
    expect(after).toMatchObject({ reportAccess: 'full', aiSummary: SUMMARY, transcriptLineCount: 2 });
    expect(after.transcript).toHaveLength(2);
  });
});

describe('flagged sessions', () => {
  it('shows a flagged session, whispers and all, to its coach and admins only; an unrelated coach gets 404', async () => {
    const client = await createUser({ tier: 'FREE', displayName: 'Fran Free' });
    const coach = await createUser({ role: 'COACH' });
    const unrelated = await createUser({ role: 'COACH' });
    const admin = await createUser({ role: 'ADMIN' });
    const sessionId = await seedSession(client.id, { coachId: coach.id });
    // Flagged, with a whisper of the session's coach and the AI's words.
    const aiAlone = await seedSession(client.id);
    const db = testDb();
    for (const id of [sessionId, aiAlone])
      await db.update(coachingSessions).set({ flaggedAt: new Date(), flagReason: 'I want to hurt myself' }).where(eq(coachingSessions.id, id));
    await db.insert(messages).values({
      sessionId,
      speakerIdentity: coach.id,
      speakerRole: 'coach',
      kind: 'whisper',
      text: 'Ask about the sleep diary',
      heardByAi: true,
      spokenAt: new Date('2027-03-02T10:00:09Z'),
      idempotencyKey: `${sessionId}:whisper`,
    });
    const [coachToken, unrelatedToken, adminToken] = await Promise.all([signIn(coach.email), signIn(unrelated.email), signIn(admin.email)]);
    type Flagged = Summary & { flag: { reason: string } | null };
    const flaggedFor = async (token: string) => (await body<Flagged[]>(await get('/api/sessions?flagged=true&limit=100', bearer(token)))).data.map((s) => s.id);

    // The unrelated coach: neither session in any list, 404 on both details, no word of them in the raw answers.
    expect(await flaggedFor(unrelatedToken)).not.toEqual(expect.arrayContaining([sessionId]));
    expect(await flaggedFor(unrelatedToken)).not.toEqual(expect.arrayContaining([aiAlone]));
    for (const id of [sessionId, aiAlone]) {
      const res = await get(`/api/sessions/${id}`, bearer(unrelatedToken));
      expect(res.status).toBe(404);
      expect(await res.text()).not.toMatch(/sleep diary|hurt myself|chest/);
    }
    const rawList = await (await get('/api/sessions?limit=100', bearer(unrelatedToken))).text();
    expect(rawList).not.toContain(sessionId);
    expect(rawList).not.toContain('hurt myself');

    // The session's coach: their own flagged session, with the flag and the whisper; not the AI-alone one.
    const own = await flaggedFor(coachToken);
    expect(own).toContain(sessionId);
    expect(own).not.toContain(aiAlone);
    const detail = (
      await body<Omit<Detail, 'transcript'> & { flag: { reason: string } | null; transcript: { text: string; kind: string }[] }>(
        await get(`/api/sessions/${sessionId}`, bearer(coachToken)),
      )
    ).data;
    expect(detail.flag?.reason).toBe('I want to hurt myself');
    expect(detail.transcript.filter((l) => l.kind === 'whisper').map((l) => l.text)).toEqual(['Ask about the sleep diary']);
    expect((await get(`/api/sessions/${aiAlone}`, bearer(coachToken))).status).toBe(404);

    // An admin: both, the AI-alone one too (nobody else would follow it up).
    expect(await flaggedFor(adminToken)).toEqual(expect.arrayContaining([sessionId, aiAlone]));
    expect((await get(`/api/sessions/${aiAlone}`, bearer(adminToken))).status).toBe(200);
  });
});

describe('GET /api/sessions/:id, a very long transcript', () => {
  it('carries the first MAX_TRANSCRIPT_LINES lines in spoken order, and counts them all', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const sessionId = await seedSession(client.id, { tier: 'PREMIUM' });
    const extra = MAX_TRANSCRIPT_LINES + 10;
    // Thousands of lines in one statement (the seed's two come first, at 10:00:00 and 10:00:05).
    await env.DB.prepare(
      `INSERT INTO messages (id, session_id, speaker_identity, speaker_role, text, heard_by_ai, kind, spoken_at, idempotency_key, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
       SELECT lower(hex(randomblob(16))), ?1, 'agent', 'ai', 'Line ' || i, 1, 'speech', ?3 + i * 1000, ?1 || ':bulk:' || i, ?3 FROM n`,
    )
      .bind(sessionId, extra, new Date('2027-03-02T10:00:10Z').getTime())
      .run();
    const res = await get(`/api/sessions/${sessionId}`, bearer(await signIn(client.email)));
    expect(res.status).toBe(200);
    const detail = (await body<Detail>(res)).data;
    expect(detail.transcriptLineCount).toBe(extra + 2);
    expect(detail.transcript).toHaveLength(MAX_TRANSCRIPT_LINES);
    expect(detail.transcript.slice(0, 3).map((l) => l.text)).toEqual(['My chest feels tight', 'Let us slow the exhale', 'Line 1']);
    expect(detail.transcript.at(-1)?.text).toBe(`Line ${MAX_TRANSCRIPT_LINES - 2}`);
  });
});
