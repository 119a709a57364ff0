import { CONSENT_POINTS, CONSENT_RETENTION_MONTHS, CONSENT_VERSION } from '@hybrid-coach/shared/consent';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import wrangler from '../../../wrangler.toml?raw';
import { bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { appointments, coachingSessions, consentRecords } from '../db/schema';

interface Consent {
  version: number;
  title: string;
  points: string[];
  text: string;
  agreed: boolean;
  agreedAt: string | null;
}

async function newClient(opts: { consented?: boolean } = {}) {
  const user = await createUser({ tier: 'PREMIUM', consented: opts.consented ?? false });
  return { user, token: await signIn(user.email) };
}

const consentOf = async (token: string) => (await body<Consent>(await get('/api/users/me/consent', bearer(token)))).data;
const agree = (token: string, version: unknown = CONSENT_VERSION) => post('/api/users/me/consent', { version }, bearer(token));
const sessionsOf = async (userId: string) => testDb().select().from(coachingSessions).where(eq(coachingSessions.clientId, userId)).all();

describe('consent before sessions', () => {
  it('refuses to start a session until the client agrees, then starts one', async () => {
    const a = await newClient();
    const before = await consentOf(a.token);
    expect(before).toMatchObject({ version: CONSENT_VERSION, agreed: false, agreedAt: null });
    expect(before.points).toEqual([...CONSENT_POINTS]);

    const refused = await post('/api/rooms', {}, bearer(a.token));
    expect(refused.status).toBe(403);
    expect((await body(refused)).error).toMatchObject({ code: 'CONSENT_REQUIRED', details: { version: CONSENT_VERSION } });
    expect(await sessionsOf(a.user.id)).toEqual([]);

    const agreed = await agree(a.token);
    expect(agreed.status).toBe(200);
    const after = (await body<Consent>(agreed)).data;
    expect(after.agreed).toBe(true);
    expect(Date.now() - Date.parse(after.agreedAt ?? '')).toBeLessThan(60_000);

    const started = await post('/api/rooms', {}, bearer(a.token));
    expect(started.status).toBe(201);
    await post(`/api/rooms/${(await body<{ sessionId: string }>(started)).data.sessionId}/end`, {}, bearer(a.token));
  });

  it('refuses a booked appointment’s session without consent and leaves the appointment as it was', async () => {
    const a = await newClient();
    const coach = await createUser({ role: 'COACH' });
    const [appt] = await testDb()
      .insert(appointments)
      .values({ clientId: a.user.id, coachId: coach.id, scheduledFor: new Date(Date.now() + 5 * 60_000) })
      .returning();
    const refused = await post(`/api/rooms/appointment/${appt!.id}`, {}, bearer(a.token));
    expect(refused.status).toBe(403);
    expect((await body(refused)).error.code).toBe('CONSENT_REQUIRED');
    const row = await testDb().select().from(appointments).where(eq(appointments.id, appt!.id)).get();
    expect(row?.status).toBe('SCHEDULED');
    expect(await sessionsOf(a.user.id)).toEqual([]);
  });

  it('asks again when the text has a new version: an agreement to an older one does not count', async () => {
    const a = await newClient();
    await testDb()
      .insert(consentRecords)
      .values({ userId: a.user.id, version: CONSENT_VERSION - 1, agreedAt: new Date(Date.now() - 86_400_000) });
    expect((await consentOf(a.token)).agreed).toBe(false);
    expect((await post('/api/rooms', {}, bearer(a.token))).status).toBe(403);
    expect((await agree(a.token)).status).toBe(200);
    expect((await consentOf(a.token)).agreed).toBe(true);
    const rows = await testDb().select().from(consentRecords).where(eq(consentRecords.userId, a.user.id)).all();
    expect(rows.map((r) => r.version).sort()).toEqual([CONSENT_VERSION - 1, CONSENT_VERSION]);
  });

  it('keeps the first agreement when the client agrees again', async () => {
    const a = await newClient();
    const first = (await body<Consent>(await agree(a.token))).data.agreedAt;
    const second = await agree(a.token);
    expect(second.status).toBe(200);
    expect((await body<Consent>(second)).data.agreedAt).toBe(first);
    const rows = await testDb()
      .select()
      .from(consentRecords)
      .where(and(eq(consentRecords.userId, a.user.id), eq(consentRecords.version, CONSENT_VERSION)))
      .all();
    expect(rows).toHaveLength(1);
  });

  it.each([
    ['an older version', { version: CONSENT_VERSION - 1 }, 'version'],
    ['a future version', { version: CONSENT_VERSION + 1 }, 'version'],
    ['a version as text', { version: String(CONSENT_VERSION) }, 'version'],
    ['no version', {}, 'version'],
    ['an unknown field', { version: CONSENT_VERSION, text: 'I agree to nothing' }, 'body'],
  ])('answers 400 for %s and records nothing', async (_, payload, field) => {
    const a = await newClient();
    const res = await post('/api/users/me/consent', payload, bearer(a.token));
    expect(res.status).toBe(400);
    const error = (await body(res)).error;
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(error.fields ?? {})).toContain(field);
    expect(await testDb().select().from(consentRecords).where(eq(consentRecords.userId, a.user.id)).all()).toEqual([]);
  });

  it('states the same retention as every environment of wrangler.toml', () => {
    const values = [...wrangler.matchAll(/^RETENTION_MONTHS\s*=\s*"(\d+)"/gm)].map((m) => Number(m[1]));
    expect(values.length).toBeGreaterThan(0);
    for (const v of values) expect(v).toBe(CONSENT_RETENTION_MONTHS);
    expect(CONSENT_POINTS.join(' ')).toContain(`${CONSENT_RETENTION_MONTHS} months`);
  });
});
