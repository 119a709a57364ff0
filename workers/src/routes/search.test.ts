/**
 * Transcript search and the audit log (issue 16): an admin's search that answers lines of sessions they
 * were not in is a transcript read, on the audit log once per session; a coach's own sessions are not.
 */
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, get, signIn, testDb } from '../../test/helpers';
import { auditLog, coachingSessions, messages } from '../db/schema';

const sessionOf = async (clientId: string, coachId: string) =>
  (
    await testDb()
      .insert(coachingSessions)
      .values({ roomName: `session-${crypto.randomUUID()}`, clientId, coachId, status: 'COMPLETED', tierAtStart: 'PREMIUM' })
      .returning()
  )[0]!.id;
const reads = (sessionId: string) =>
  testDb()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetId, sessionId), eq(auditLog.action, 'transcript.read')))
    .all();

describe('an admin searching transcripts', () => {
  it('puts one transcript read per session of someone else’s on the audit log; a coach’s own sessions none', async () => {
    const word = `zebra${crypto.randomUUID().slice(0, 6)}`;
    const admin = await createUser({ role: 'ADMIN' });
    const coach = await createUser({ role: 'COACH' });
    const client = await createUser({ tier: 'PREMIUM' });
    const [theirs, owned] = [await sessionOf(client.id, coach.id), await sessionOf(client.id, admin.id)];
    const line = (sessionId: string, n: number) => ({
      sessionId,
      speakerIdentity: client.id,
      speakerRole: 'client' as const,
      text: `I thought of a ${word} today, line ${n}`,
      heardByAi: true,
      spokenAt: new Date(n * 1000),
      idempotencyKey: `${sessionId}:${n}`,
    });
    await testDb()
      .insert(messages)
      .values([line(theirs, 1), line(theirs, 2), line(owned, 3)]);

    const adminToken = await signIn(admin.email);
    const hits = (await body<{ sessionId: string }[]>(await get(`/api/search/transcripts?q=${word}`, bearer(adminToken)))).data;
    expect(hits.map((h) => h.sessionId).sort()).toEqual([theirs, theirs, owned].sort());
    expect(await reads(theirs)).toEqual([
      expect.objectContaining({ actorId: admin.id, targetType: 'session', after: { lines: 2, via: 'search', as: 'admin' } }),
    ]);
    // The admin's own session is not a read of someone else's.
    expect(await reads(owned)).toEqual([]);

    // A coach searching their own sessions writes none.
    const coachHits = (await body<{ sessionId: string }[]>(await get(`/api/search/transcripts?q=${word}`, bearer(await signIn(coach.email))))).data;
    expect(coachHits.map((h) => h.sessionId)).toEqual([theirs, theirs]);
    expect(await reads(theirs)).toHaveLength(1);
  });
});
