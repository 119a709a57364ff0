import { env, SELF } from 'cloudflare:test';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { bearer, body, createUser, deliverMail, get, openRoomSocket, post, signIn, testDb } from '../../test/helpers';
import { mailTo, messagesTo } from '../../test/mailpit';
import { users } from '../db/schema';

async function deliver(payload: unknown, key: string, secret = env.AGENT_HOST_SECRET) {
  const raw = JSON.stringify(payload);
  return SELF.fetch('http://api.test/api/webhooks/agent/transcript', { method: 'POST', headers: await signedHeaders(secret, raw, key), body: raw });
}

describe('POST /api/webhooks/agent/transcript', () => {
  it('stores each line once, streams new ones to the live portal, and the history shows them', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const token = await signIn(client.email);
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(token)))).data;

    const ws = (await openRoomSocket(t.sessionId, token)).webSocket!;
    ws.accept();
    const events: { type: string; line?: { text: string; speakerRole: string; heardByAi: boolean } }[] = [];
    ws.addEventListener('message', (e) => events.push(JSON.parse(String(e.data))));

    const lines = [
      {
        idempotencyKey: `${t.sessionId}:client:1`,
        speakerIdentity: client.id,
        role: 'client',
        text: 'My chest feels tight',
        startedAt: 1_000,
        endedAt: 2_500,
        heardByAi: true,
      },
      {
        idempotencyKey: `${t.sessionId}:coach:1`,
        speakerIdentity: 'coach-1',
        role: 'coach',
        text: 'Note the breath',
        startedAt: 3_000,
        endedAt: 3_900,
        heardByAi: false,
      },
      {
        idempotencyKey: `${t.sessionId}:ai:1`,
        speakerIdentity: 'agent',
        role: 'ai',
        text: 'Let us slow the exhale',
        startedAt: 4_000,
        endedAt: null,
        heardByAi: true,
      },
    ];
    const first = await deliver({ sessionId: t.sessionId, roomName: `session-${t.sessionId}`, lines }, `${t.sessionId}:batch:1`);
    expect(first.status).toBe(200);
    expect((await body(first)).data).toEqual({ stored: 3, duplicates: 0 });
    const again = await deliver({ sessionId: t.sessionId, roomName: `session-${t.sessionId}`, lines }, `${t.sessionId}:batch:1`);
    expect((await body(again)).data).toEqual({ stored: 0, duplicates: 3 });

    const deadline = Date.now() + 3000;
    while (events.filter((e) => e.type === 'transcript').length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(events.filter((e) => e.type === 'transcript').map((e) => [e.line?.speakerRole, e.line?.text, e.line?.heardByAi])).toEqual([
      ['client', 'My chest feels tight', true],
      ['coach', 'Note the breath', false],
      ['ai', 'Let us slow the exhale', true],
    ]);
    ws.close();

    const detail = await body<{ transcript: { text: string; heardByAi: boolean }[] }>(await get(`/api/sessions/${t.sessionId}`, bearer(token)));
    expect(detail.data.transcript.map((l) => l.text)).toEqual(['My chest feels tight', 'Note the breath', 'Let us slow the exhale']);
  });

  it('refuses forged deliveries (401), bad lines (400) and unknown sessions (404), storing nothing', async () => {
    const line = { idempotencyKey: 'k-forged-0001', speakerIdentity: 'x', role: 'client', text: 'hi', startedAt: 1, endedAt: null, heardByAi: true };
    expect((await deliver({ sessionId: 'whatever', lines: [line] }, 'k1', 'not-the-secret-not-the-secret-000000')).status).toBe(401);
    const bad = await deliver({ sessionId: 'whatever', lines: [{ ...line, role: 'narrator', text: '' }] }, 'k2');
    expect(bad.status).toBe(400);
    expect(Object.keys((await body(bad)).error.fields ?? {})).toEqual(expect.arrayContaining(['lines.0.role', 'lines.0.text']));
    expect((await deliver({ sessionId: 'no-such-session', roomName: 'session-no-such-session', lines: [line] }, 'k3')).status).toBe(404);
  });

  it('flags the session for follow-up when the client talks of self-harm: admins see it, no unrelated coach, never the client', async () => {
    const client = await createUser({ tier: 'VAGUS_MEMBER' });
    const token = await signIn(client.email);
    const someCoach = await createUser({ role: 'COACH' });
    const admin = await createUser({ role: 'ADMIN' });
    const [coachToken, adminToken] = await Promise.all([signIn(someCoach.email), signIn(admin.email)]);
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(token)))).data;
    const line = (n: number, role: string, text: string) => ({
      idempotencyKey: `${t.sessionId}:${role}:${n}`,
      speakerIdentity: role === 'client' ? client.id : 'agent',
      role,
      text,
      startedAt: n * 1000,
      endedAt: null,
      heardByAi: true,
    });
    type Summary = { id: string; flag: { at: string; reason: string } | null };

    // Ordinary talk, and the AI's own words about crisis lines, raise nothing.
    await deliver(
      {
        sessionId: t.sessionId,
        roomName: `session-${t.sessionId}`,
        lines: [line(1, 'client', 'Work was killing me today'), line(2, 'ai', 'If you ever want to hurt yourself, call 988')],
      },
      `${t.sessionId}:b1`,
    );
    expect((await body<Summary[]>(await get('/api/sessions?flagged=true&limit=100', bearer(adminToken)))).data.map((s) => s.id)).not.toContain(t.sessionId);

    await deliver(
      { sessionId: t.sessionId, roomName: `session-${t.sessionId}`, lines: [line(3, 'client', 'Sometimes I want to hurt myself')] },
      `${t.sessionId}:b2`,
    );
    // An admin sees it among the flagged sessions, with the words that raised it (the AI was alone:
    // no coach's session); a coach who was never in the call sees nothing of it.
    const flagged = (await body<Summary[]>(await get('/api/sessions?flagged=true&limit=100', bearer(adminToken)))).data;
    const ours = flagged.find((s) => s.id === t.sessionId);
    expect(ours!.flag!.reason).toContain('hurt myself');
    expect((await body<Summary[]>(await get('/api/sessions?flagged=true', bearer(coachToken)))).data).toEqual([]);
    expect((await get(`/api/sessions/${t.sessionId}`, bearer(coachToken))).status).toBe(404);
    const detail = await get(`/api/sessions/${t.sessionId}`, bearer(adminToken));
    expect(detail.status).toBe(200);
    const firstAt = (await body<Summary>(detail)).data.flag!.at;

    // A later line does not move the flag; the client's own view carries none.
    await deliver(
      { sessionId: t.sessionId, roomName: `session-${t.sessionId}`, lines: [line(4, 'client', 'I have had suicidal thoughts')] },
      `${t.sessionId}:b3`,
    );
    expect((await body<Summary>(await get(`/api/sessions/${t.sessionId}`, bearer(adminToken)))).data.flag!.at).toBe(firstAt);
    expect((await body<Summary>(await get(`/api/sessions/${t.sessionId}`, bearer(token)))).data.flag).toBeNull();
    expect((await get('/api/sessions?flagged=maybe', bearer(coachToken))).status).toBe(400);
  });
});

describe('a flagged session reaches the coaches on duty by email', () => {
  async function flaggedSession() {
    const client = await createUser({ tier: 'VAGUS_MEMBER', displayName: 'Quinn Private' });
    const token = await signIn(client.email);
    const t = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(token)))).data;
    const say = (n: number, text: string) =>
      deliver(
        {
          sessionId: t.sessionId,
          roomName: `session-${t.sessionId}`,
          lines: [
            {
              idempotencyKey: `${t.sessionId}:client:${n}`,
              speakerIdentity: client.id,
              role: 'client',
              text,
              startedAt: n * 1000,
              endedAt: null,
              heardByAi: true,
            },
          ],
        },
        `${t.sessionId}:flag:${n}`,
      );
    return { sessionId: t.sessionId, say };
  }
  const onDuty = async (available: boolean) => {
    const coach = await createUser({ role: 'COACH', displayName: available ? 'Olive On-duty' : 'Otto Off-duty' });
    await testDb().update(users).set({ isAvailable: available }).where(eq(users.id, coach.id));
    return coach;
  };

  it('emails each coach taking bookings once, with a link to the session and none of what was said', async () => {
    const [duty, off] = [await onDuty(true), await onDuty(false)];
    const s = await flaggedSession();
    await s.say(1, 'Sometimes I want to hurt myself');
    await s.say(2, 'I have had suicidal thoughts');
    await deliverMail();
    const [mail] = await mailTo(duty.email);
    expect(mail?.Subject).toBe("A session needs a coach's follow-up");
    expect(mail?.Text).toContain(`http://localhost:5171/sessions/${s.sessionId}`);
    for (const part of [mail?.Text, mail?.HTML]) {
      expect(part).not.toMatch(/hurt myself|suicidal|Quinn/);
    }
    expect(await messagesTo(off.email)).toEqual([]);
    // The second line did not flag again: still one email.
    await deliverMail();
    expect(await messagesTo(duty.email)).toHaveLength(1);
    await testDb().update(users).set({ isAvailable: false }).where(eq(users.id, duty.id));
  });

  it('emails the admins when no coach is on duty, so a flag never goes unseen', async () => {
    await testDb().update(users).set({ isAvailable: false }).where(eq(users.role, 'COACH'));
    const admin = await createUser({ role: 'ADMIN', displayName: 'Ada Admin' });
    const s = await flaggedSession();
    await s.say(1, 'I want to end my life');
    await deliverMail();
    const [mail] = await mailTo(admin.email);
    expect(mail?.Text).toContain(`/sessions/${s.sessionId}`);
  });
});
