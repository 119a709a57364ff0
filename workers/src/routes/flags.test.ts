/**
 * Crisis flags (issue 16): raised by the transcript webhook and pushed to the staff desk; acknowledged,
 * resolved and reopened by who may, each change with its event and audit row; refused changes write
 * nothing; and who may read a flagged session's transcript, each such read on the audit log.
 */
import { env, SELF } from 'cloudflare:test';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { FlagEvent } from '@hybrid-coach/shared/staff-events';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn, testDb } from '../../test/helpers';
import { appointments, auditLog, coachingSessions, crisisFlagEvents, crisisFlags, messages } from '../db/schema';

interface Flag {
  sessionId: string;
  clientName: string;
  state: string;
  reason: string;
  owner: { id: string; name: string } | null;
  resolutionNote: string | null;
  mayReadTranscript: boolean;
}
interface Figures {
  open: number;
  oldestOpenAgeMs: number | null;
  medianAckMs: number | null;
  acknowledgedIn30Days: number;
}

const db = () => testDb();

/** A client's finished session (with `coachId`, or the AI alone) in which the client talked of crisis, through the real webhook. */
async function flaggedSession(opts: { coachId?: string; clientName?: string } = {}) {
  const client = await createUser({ tier: 'PREMIUM', displayName: opts.clientName ?? 'Rowan Flagged' });
  const sessionId = crypto.randomUUID();
  await db()
    .insert(coachingSessions)
    .values({ id: sessionId, roomName: `session-${sessionId}`, clientId: client.id, coachId: opts.coachId ?? null, status: 'ACTIVE', tierAtStart: 'PREMIUM' });
  const raw = JSON.stringify({
    sessionId,
    roomName: `session-${sessionId}`,
    lines: [
      {
        idempotencyKey: `${sessionId}:client:1`,
        speakerIdentity: client.id,
        role: 'client',
        text: 'Lately I want to die',
        startedAt: 1000,
        endedAt: null,
        heardByAi: true,
      },
    ],
  });
  const res = await SELF.fetch(`${API}/api/webhooks/agent/transcript`, {
    method: 'POST',
    headers: await signedHeaders(env.AGENT_HOST_SECRET, raw, `${sessionId}:b1`),
    body: raw,
  });
  expect(res.status).toBe(200);
  return { client, sessionId };
}

const staff = async (role: 'COACH' | 'ADMIN', displayName: string) => {
  const user = await createUser({ role, displayName });
  return { user, token: await signIn(user.email) };
};

const eventsOf = (sessionId: string) =>
  db().select().from(crisisFlagEvents).where(eq(crisisFlagEvents.sessionId, sessionId)).orderBy(crisisFlagEvents.seq).all();
const auditOf = (sessionId: string, action?: string) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetId, sessionId), action ? eq(auditLog.action, action) : undefined))
    .all();
const flagRow = (sessionId: string) => db().select().from(crisisFlags).where(eq(crisisFlags.sessionId, sessionId)).get();

async function listed(token: string, state = 'all') {
  const res = await get(`/api/flags?state=${state}&limit=200`, bearer(token));
  expect(res.status).toBe(200);
  return (await body<{ figures: Figures; flags: Flag[] }>(res)).data;
}

/** The staff desk's socket as the coach portal opens it: a ticket first, then the upgrade; events as they come. */
async function staffSocket(token: string) {
  const minted = await post('/api/staff/ws-ticket', {}, bearer(token));
  expect(minted.status).toBe(201);
  const { ticket } = (await body<{ ticket: string }>(minted)).data;
  const res = await SELF.fetch(`${API}/api/staff/ws?ticket=${encodeURIComponent(ticket)}`, { headers: { Upgrade: 'websocket' } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const events: FlagEvent[] = [];
  ws.addEventListener('message', (e) => {
    events.push(JSON.parse(String(e.data)) as FlagEvent);
  });
  const waitFor = async (match: (e: FlagEvent) => boolean) => {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const found = events.find(match);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no such staff event arrived');
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  return { ws, events, waitFor, ticket, closed };
}

describe('a crisis flag raised in a call', () => {
  it('is open at once, on the list and the figures, and pushed to every signed-in coach’s portal', async () => {
    const coach = await staff('COACH', 'Casey Desk');
    const before = (await listed(coach.token, 'open')).figures;
    const socket = await staffSocket(coach.token);
    const { sessionId } = await flaggedSession({ clientName: 'Rowan Pushed' });

    const alert = await socket.waitFor((e) => e.sessionId === sessionId);
    expect(alert).toMatchObject({ type: 'flag', action: 'raise', state: 'OPEN', clientName: 'Rowan Pushed', owner: null });
    // Every signed-in coach hears the alert: it never quotes the client.
    expect(alert.reason).toBe('Crisis language detected');

    const { figures, flags } = await listed(coach.token, 'open');
    expect(flags.find((f) => f.sessionId === sessionId)).toMatchObject({ state: 'OPEN', owner: null, clientName: 'Rowan Pushed', mayReadTranscript: false });
    expect(figures.open).toBe(before.open + 1);
    expect(figures.oldestOpenAgeMs).not.toBeNull();
    expect(await eventsOf(sessionId)).toMatchObject([{ seq: 1, action: 'raise', actorId: null, fromState: null, toState: 'OPEN' }]);
    socket.ws.close();
  });

  it('refuses a used ticket, a client’s ticket and a plain request on the staff socket', async () => {
    const coach = await staff('COACH', 'Casey Ticket');
    const socket = await staffSocket(coach.token);
    const again = await SELF.fetch(`${API}/api/staff/ws?ticket=${encodeURIComponent(socket.ticket)}`, { headers: { Upgrade: 'websocket' } });
    expect(again.status).toBe(401);
    socket.ws.close();
    expect((await get('/api/staff/ws?ticket=x')).status).toBe(400);
    const client = await createUser({ tier: 'PREMIUM' });
    expect((await post('/api/staff/ws-ticket', {}, bearer(await signIn(client.email)))).status).toBe(403);
  });
});

describe('the staff socket of a coach who is disabled', () => {
  it('is closed at once, and no new one opens for them; other coaches stay connected', async () => {
    const [coach, colleague] = [await staff('COACH', 'Dee Disabled'), await staff('COACH', 'Kit Kept')];
    const admin = await staff('ADMIN', 'Ada Disabler');
    const [theirs, kept] = [await staffSocket(coach.token), await staffSocket(colleague.token)];

    const res = await post(`/api/admin/people/${coach.user.id}/disable`, { reason: 'Left the practice today' }, bearer(admin.token));
    expect(res.status).toBe(200);
    expect(await theirs.closed).toEqual({ code: 1008, reason: 'account disabled' });
    // Their portal's reconnect asks for a ticket with a revoked token: refused, so it stays closed.
    expect((await post('/api/staff/ws-ticket', {}, bearer(coach.token))).status).toBe(401);

    // The colleague still hears of flags.
    const { sessionId } = await flaggedSession();
    expect(await kept.waitFor((e) => e.sessionId === sessionId && e.action === 'raise')).toMatchObject({ state: 'OPEN' });
    expect(theirs.events.some((e) => e.sessionId === sessionId)).toBe(false);
    kept.ws.close();
  });
});

describe('the staff socket of a coach signed out everywhere, or made a client', () => {
  it('is closed at once with the reason, and the other coach stays connected', async () => {
    const [signedOut, demoted, colleague] = [await staff('COACH', 'Sam Signedout'), await staff('COACH', 'Dana Demoted'), await staff('COACH', 'Kim Kept')];
    const admin = await staff('ADMIN', 'Ada Closer');
    const [a, b, kept] = [await staffSocket(signedOut.token), await staffSocket(demoted.token), await staffSocket(colleague.token)];

    const out = await post(`/api/admin/people/${signedOut.user.id}/sign-out`, { reason: 'Lost their laptop' }, bearer(admin.token));
    expect(out.status).toBe(200);
    expect(await a.closed).toEqual({ code: 1008, reason: 'signed out everywhere' });
    const role = await post(`/api/admin/people/${demoted.user.id}/role`, { role: 'CLIENT', reason: 'Now a client of the practice' }, bearer(admin.token));
    expect(role.status).toBe(200);
    expect(await b.closed).toEqual({ code: 1008, reason: 'no longer staff' });
    expect((await post('/api/staff/ws-ticket', {}, bearer(demoted.token))).status).toBe(403);

    const { sessionId } = await flaggedSession();
    expect(await kept.waitFor((e) => e.sessionId === sessionId && e.action === 'raise')).toMatchObject({ state: 'OPEN' });
    kept.ws.close();
  });
});

describe('the flags a coach owns when disabled or made a client', () => {
  it('are open again, owned by no one, each with its event and audit row, and the other coaches hear of it', async () => {
    const [leaving, demoted, colleague] = [await staff('COACH', 'Lee Leaving'), await staff('COACH', 'Dale Demoted'), await staff('COACH', 'Kai Colleague')];
    const admin = await staff('ADMIN', 'Ada Release');
    const [a, b] = [await flaggedSession(), await flaggedSession()];
    for (const [sessionId, token] of [
      [a.sessionId, leaving.token],
      [b.sessionId, demoted.token],
    ] as const)
      expect((await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(token))).status).toBe(200);
    const kept = await staffSocket(colleague.token);

    for (const [who, action, payload, sessionId] of [
      [leaving, 'disable', { reason: 'Left the practice today' }, a.sessionId],
      [demoted, 'role', { role: 'CLIENT', reason: 'Now a client of the practice' }, b.sessionId],
    ] as const) {
      expect((await post(`/api/admin/people/${who.user.id}/${action}`, payload, bearer(admin.token))).status).toBe(200);
      expect(await flagRow(sessionId)).toMatchObject({ state: 'OPEN', ownerId: null, acknowledgedAt: null, version: 3 });
      expect((await eventsOf(sessionId)).at(-1)).toMatchObject({
        seq: 3,
        action: 'reopen',
        actorId: admin.user.id,
        fromState: 'ACKNOWLEDGED',
        toState: 'OPEN',
        note: expect.stringContaining(payload.reason),
      });
      expect(await auditOf(sessionId, 'flag.reopen')).toEqual([
        expect.objectContaining({ actorId: admin.user.id, before: { state: 'ACKNOWLEDGED', ownerId: who.user.id }, after: { state: 'OPEN', ownerId: null } }),
      ]);
      expect(await kept.waitFor((e) => e.sessionId === sessionId && e.action === 'reopen')).toMatchObject({ state: 'OPEN', owner: null });
      // Another coach can take it now.
      expect((await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(colleague.token))).status).toBe(200);
    }
    kept.ws.close();
  });
});

describe('the resolved flags', () => {
  interface Resolved extends Flag {
    resolvedAt: string;
    resolvedBy: { id: string; name: string } | null;
  }
  const page = async (token: string, query = '') => {
    const res = await get(`/api/flags/resolved${query}`, bearer(token));
    expect(res.status).toBe(200);
    return (await body<{ items: Resolved[]; nextCursor: string | null }>(res)).data;
  };
  /** Every page, following the cursors. */
  const all = async (token: string, limit: number) => {
    const items: Resolved[] = [];
    let cursor: string | null = null;
    do {
      const next: { items: Resolved[]; nextCursor: string | null } = await page(
        token,
        `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(next.items.length).toBeLessThanOrEqual(limit);
      items.push(...next.items);
      cursor = next.nextCursor;
    } while (cursor);
    return items;
  };

  it('lists them the most recently resolved first, a page at a time, with who resolved each, when and the note', async () => {
    const [owner, admin, stranger] = [await staff('COACH', 'Rae Resolver'), await staff('ADMIN', 'Ari Admin'), await staff('COACH', 'Sue Stranger')];
    const resolve = async (sessionId: string, by: string, note: string) => {
      expect((await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(owner.token))).status).toBe(200);
      expect((await post(`/api/flags/${sessionId}/resolve`, { note }, bearer(by))).status).toBe(200);
    };
    const first = await flaggedSession({ coachId: owner.user.id, clientName: 'Fay First' });
    const second = await flaggedSession({ coachId: owner.user.id, clientName: 'Sid Second' });
    const third = await flaggedSession({ coachId: owner.user.id, clientName: 'Tom Third' });
    const stillOpen = await flaggedSession({ coachId: owner.user.id });
    await resolve(first.sessionId, owner.token, 'Called Fay; safe with family');
    await resolve(second.sessionId, admin.token, 'Admin on call reached Sid');
    // Resolved, reopened and resolved again: listed once, by the latest resolution.
    await resolve(third.sessionId, owner.token, 'First call');
    expect((await post(`/api/flags/${third.sessionId}/reopen`, {}, bearer(stranger.token))).status).toBe(200);
    await resolve(third.sessionId, owner.token, 'Second call: GP booked');

    const mine = [first, second, third].map((f) => f.sessionId);
    const listed = (await all(owner.token, 2)).filter((f) => mine.includes(f.sessionId) || f.sessionId === stillOpen.sessionId);
    expect(listed.map((f) => [f.clientName, f.state, f.resolvedBy?.name, f.resolutionNote])).toEqual([
      ['Tom Third', 'RESOLVED', 'Rae Resolver', 'Second call: GP booked'],
      ['Sid Second', 'RESOLVED', 'Ari Admin', 'Admin on call reached Sid'],
      ['Fay First', 'RESOLVED', 'Rae Resolver', 'Called Fay; safe with family'],
    ]);
    const times = listed.map((f) => Date.parse(f.resolvedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(times[0]).toBeGreaterThan(Date.now() - 60_000);
    // Each page holds at most its limit, and the cursor of the last page is null.
    const firstPage = await page(owner.token, '?limit=1');
    expect(firstPage.items).toHaveLength(1);
    expect(firstPage.nextCursor).not.toBeNull();

    // A coach outside the client's circle sees who and when, not what was done (the note tells of the session).
    const seen = (await all(stranger.token, 50)).find((f) => f.sessionId === first.sessionId);
    expect(seen).toMatchObject({ resolvedBy: { name: 'Rae Resolver' }, resolutionNote: null, mayReadTranscript: false });
  });

  it('refuses bad input (400) and anyone but coaches and admins', async () => {
    const coach = await staff('COACH', 'Bea Bad');
    const client = await createUser({ tier: 'PREMIUM' });
    for (const query of ['?limit=0', '?limit=51', '?limit=many', '?cursor=', '?cursor=not-a-cursor', `?cursor=${btoa('["x"]')}`]) {
      const res = await get(`/api/flags/resolved${query}`, bearer(coach.token));
      expect([query, res.status, (await body(res)).error.code]).toEqual([query, 400, 'VALIDATION_ERROR']);
    }
    expect((await get('/api/flags/resolved', bearer(await signIn(client.email)))).status).toBe(403);
    expect((await get('/api/flags/resolved')).status).toBe(401);
  });
});

describe('moving a flag on', () => {
  it('acknowledged by one coach who owns it, resolved by them with a note, reopened by another; each change on record', async () => {
    const [owner, other] = [await staff('COACH', 'Olu Owner'), await staff('COACH', 'Otis Other')];
    const { sessionId } = await flaggedSession();
    const before = (await listed(owner.token)).figures;
    const watcher = await staffSocket(other.token);

    const acked = await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(owner.token));
    expect(acked.status).toBe(200);
    expect((await body<Flag>(acked)).data).toMatchObject({ state: 'ACKNOWLEDGED', owner: { id: owner.user.id, name: 'Olu Owner' }, mayReadTranscript: true });
    // The other coaches' portals hear that it has an owner now.
    expect(await watcher.waitFor((e) => e.sessionId === sessionId && e.action === 'acknowledge')).toMatchObject({ owner: { id: owner.user.id } });
    const after = (await listed(owner.token)).figures;
    expect(after.open).toBe(before.open - 1);
    expect(after.acknowledgedIn30Days).toBe(before.acknowledgedIn30Days + 1);
    expect(after.medianAckMs).not.toBeNull();

    const resolved = await post(`/api/flags/${sessionId}/resolve`, { note: '  Called her; safe with her sister tonight  ' }, bearer(owner.token));
    expect(resolved.status).toBe(200);
    expect((await body<Flag>(resolved)).data).toMatchObject({ state: 'RESOLVED', resolutionNote: 'Called her; safe with her sister tonight' });

    const reopened = await post(`/api/flags/${sessionId}/reopen`, { note: 'She wrote again this morning' }, bearer(other.token));
    expect(reopened.status).toBe(200);
    expect((await body<Flag>(reopened)).data).toMatchObject({ state: 'OPEN', owner: null, resolutionNote: null });
    // Every change reached the other coach's portal, in order, with the flag's state and owner after it:
    // what closes (or brings back) an alert already on their screen.
    await watcher.waitFor((e) => e.sessionId === sessionId && e.action === 'reopen');
    expect(watcher.events.filter((e) => e.sessionId === sessionId).map((e) => [e.action, e.state, e.owner?.id ?? null, e.actor?.name])).toEqual([
      ['acknowledge', 'ACKNOWLEDGED', owner.user.id, 'Olu Owner'],
      ['resolve', 'RESOLVED', owner.user.id, 'Olu Owner'],
      ['reopen', 'OPEN', null, 'Otis Other'],
    ]);

    expect((await eventsOf(sessionId)).map((e) => [e.seq, e.action, e.actorId, e.fromState, e.toState, e.note])).toEqual([
      [1, 'raise', null, null, 'OPEN', null],
      [2, 'acknowledge', owner.user.id, 'OPEN', 'ACKNOWLEDGED', null],
      [3, 'resolve', owner.user.id, 'ACKNOWLEDGED', 'RESOLVED', 'Called her; safe with her sister tonight'],
      [4, 'reopen', other.user.id, 'RESOLVED', 'OPEN', 'She wrote again this morning'],
    ]);
    const audit = (await auditOf(sessionId)).filter((a) => a.action.startsWith('flag.')).sort((a, b) => a.at.getTime() - b.at.getTime());
    expect(audit.map((a) => [a.action, a.actorId, a.targetType, a.before, a.after])).toEqual([
      ['flag.acknowledge', owner.user.id, 'session', { state: 'OPEN', ownerId: null }, { state: 'ACKNOWLEDGED', ownerId: owner.user.id }],
      ['flag.resolve', owner.user.id, 'session', { state: 'ACKNOWLEDGED', ownerId: owner.user.id }, { state: 'RESOLVED', ownerId: owner.user.id }],
      ['flag.reopen', other.user.id, 'session', { state: 'RESOLVED', ownerId: owner.user.id }, { state: 'OPEN', ownerId: null }],
    ]);
    expect(audit.every((a) => a.requestId)).toBe(true);

    // The history, with who and when; the notes only for those who may read the transcript.
    const detail = (
      await body<Flag & { events: { action: string; actor: { name: string } | null; note: string | null }[] }>(
        await get(`/api/flags/${sessionId}`, bearer(owner.token)),
      )
    ).data;
    expect(detail.events.map((e) => [e.action, e.actor?.name ?? null])).toEqual([
      ['raise', null],
      ['acknowledge', 'Olu Owner'],
      ['resolve', 'Olu Owner'],
      ['reopen', 'Otis Other'],
    ]);
    const stranger = await staff('COACH', 'Sam Stranger');
    const seenByStranger = (await body<{ events: { note: string | null }[] }>(await get(`/api/flags/${sessionId}`, bearer(stranger.token)))).data;
    expect(seenByStranger.events.map((e) => e.note)).toEqual([null, null, null, null]);
    watcher.ws.close();
  });

  it('refuses a change the state or the person does not allow (409, 403), and bad input (400), writing nothing', async () => {
    const [owner, other] = [await staff('COACH', 'Ola Owner'), await staff('COACH', 'Ode Other')];
    const admin = await staff('ADMIN', 'Ada Admin');
    const client = await createUser({ tier: 'PREMIUM' });
    const clientToken = await signIn(client.email);
    const { sessionId } = await flaggedSession();
    const written = async () => ({ events: (await eventsOf(sessionId)).length, audit: (await auditOf(sessionId)).length, flag: await flagRow(sessionId) });
    const start = await written();

    const refusals: [string, unknown, string, number, string][] = [
      ['resolve', { note: 'Too early' }, owner.token, 409, 'CONFLICT'], // open: nobody owns it yet
      ['reopen', {}, owner.token, 409, 'CONFLICT'], // open already
      ['acknowledge', {}, clientToken, 403, 'FORBIDDEN'],
    ];
    for (const [action, payload, token, status, code] of refusals) {
      const res = await post(`/api/flags/${sessionId}/${action}`, payload, bearer(token));
      expect([action, res.status, (await body(res)).error.code]).toEqual([action, status, code]);
    }
    expect(await written()).toEqual(start);

    expect((await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(owner.token))).status).toBe(200);
    const owned = await written();
    const more: [string, unknown, string, number, string][] = [
      ['acknowledge', {}, other.token, 409, 'CONFLICT'], // owned already
      ['resolve', { note: 'Not mine to close' }, other.token, 403, 'FORBIDDEN'],
      ['resolve', {}, owner.token, 400, 'VALIDATION_ERROR'],
      ['resolve', { note: '   ' }, owner.token, 400, 'VALIDATION_ERROR'],
      ['resolve', { note: 'x'.repeat(1001) }, owner.token, 400, 'VALIDATION_ERROR'],
      ['resolve', { note: 'Fine', extra: true }, owner.token, 400, 'VALIDATION_ERROR'],
      ['resolve', 'not json', owner.token, 400, 'VALIDATION_ERROR'],
    ];
    for (const [action, payload, token, status, code] of more) {
      const res = await post(`/api/flags/${sessionId}/${action}`, payload, bearer(token));
      expect([action, payload, res.status, (await body(res)).error.code]).toEqual([action, payload, status, code]);
    }
    expect(await written()).toEqual(owned);

    // Reopen's bad input, on a resolved flag (the one state it may be reopened from).
    expect((await post(`/api/flags/${sessionId}/resolve`, { note: 'Called them back' }, bearer(owner.token))).status).toBe(200);
    const resolved = await written();
    for (const payload of [{ note: '   ' }, { note: 'x'.repeat(1001) }, { note: 'Back again', extra: true }, { note: 7 }, 'not json']) {
      const res = await post(`/api/flags/${sessionId}/reopen`, payload, bearer(other.token));
      expect([payload, res.status, (await body(res)).error.code]).toEqual([payload, 400, 'VALIDATION_ERROR']);
    }
    const badJson = await SELF.fetch(`${API}/api/flags/${sessionId}/reopen`, {
      method: 'POST',
      headers: { ...bearer(other.token), 'Content-Type': 'application/json' },
      body: '{',
    });
    expect(badJson.status).toBe(400);
    expect(await written()).toEqual(resolved);
    expect((await post(`/api/flags/${sessionId}/reopen`, {}, bearer(other.token))).status).toBe(200);
    expect((await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(owner.token))).status).toBe(200);

    expect((await post(`/api/flags/${crypto.randomUUID()}/acknowledge`, {}, bearer(owner.token))).status).toBe(404);
    expect((await get('/api/flags?state=maybe', bearer(owner.token))).status).toBe(400);
    expect((await get('/api/flags', bearer(clientToken))).status).toBe(403);

    // An admin may close a flag another coach owns.
    const closed = await post(`/api/flags/${sessionId}/resolve`, { note: 'Handled by the admin on call' }, bearer(admin.token));
    expect(closed.status).toBe(200);
    expect((await flagRow(sessionId))?.state).toBe('RESOLVED');
  });

  it('gives an open flag to one of two coaches acknowledging at the same moment', async () => {
    const [a, b] = [await staff('COACH', 'Ann Race'), await staff('COACH', 'Ben Race')];
    const { sessionId } = await flaggedSession();
    const answers = await Promise.all([a, b].map((c) => post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(c.token))));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await eventsOf(sessionId)).filter((e) => e.action === 'acknowledge')).toHaveLength(1);
    expect(await auditOf(sessionId, 'flag.acknowledge')).toHaveLength(1);
  });
});

describe('who reads a flagged session’s transcript', () => {
  it('its coach, the flag’s owner, coaches who have coached the client and admins; every read but one’s own on the audit log', async () => {
    const sessionCoach = await staff('COACH', 'Sol Session');
    const { client, sessionId } = await flaggedSession({ coachId: sessionCoach.user.id });
    await db()
      .insert(messages)
      .values({
        sessionId,
        speakerIdentity: 'agent',
        speakerRole: 'ai',
        text: 'You are not alone; call 988 now',
        heardByAi: true,
        spokenAt: new Date(),
        idempotencyKey: `${sessionId}:ai:x`,
      });
    const booked = await staff('COACH', 'Bo Booked');
    await db()
      .insert(appointments)
      .values({ clientId: client.id, coachId: booked.user.id, scheduledFor: new Date(Date.now() + 86_400_000) });
    const [stranger, admin] = [await staff('COACH', 'Sam Unrelated'), await staff('ADMIN', 'Ada Reader')];
    const clientToken = await signIn(client.email);
    const read = (token: string) => get(`/api/sessions/${sessionId}`, bearer(token));
    const reads = async () => (await auditOf(sessionId, 'transcript.read')).map((a) => a.actorId);

    // The session's own coach and client: theirs, not on the audit log.
    expect((await read(sessionCoach.token)).status).toBe(200);
    expect((await read(clientToken)).status).toBe(200);
    expect(await reads()).toEqual([]);

    // A coach with an appointment with the client reads it, on record; a stranger does not, until they own the flag.
    const byBooked = await read(booked.token);
    expect(byBooked.status).toBe(200);
    expect((await body<{ transcript: { text: string }[] }>(byBooked)).data.transcript.map((l) => l.text)).toEqual([
      'Lately I want to die',
      'You are not alone; call 988 now',
    ]);
    expect((await read(stranger.token)).status).toBe(404);
    // The client's words in the reason, only for who may read the transcript: in the list, the detail and a change's answer.
    const seen = async (token: string) => [
      (await listed(token)).flags.find((f) => f.sessionId === sessionId)?.reason,
      (await body<Flag>(await get(`/api/flags/${sessionId}`, bearer(token)))).data.reason,
    ];
    expect((await listed(stranger.token)).flags.find((f) => f.sessionId === sessionId)?.mayReadTranscript).toBe(false);
    expect(await seen(stranger.token)).toEqual(['Crisis language detected', 'Crisis language detected']);
    for (const token of [booked.token, admin.token]) for (const reason of await seen(token)) expect(reason).toContain('want to die');
    const taken = await post(`/api/flags/${sessionId}/acknowledge`, {}, bearer(stranger.token));
    expect(taken.status).toBe(200);
    expect((await body<Flag>(taken)).data.reason).toContain('want to die');
    expect((await read(stranger.token)).status).toBe(200);
    expect((await read(admin.token)).status).toBe(200);

    const rows = await auditOf(sessionId, 'transcript.read');
    expect(rows.map((r) => r.actorId).sort()).toEqual([booked.user.id, stranger.user.id, admin.user.id].sort());
    for (const r of rows) {
      expect(r).toMatchObject({ targetType: 'session', targetId: sessionId });
      expect(r.requestId).toBeTruthy();
      expect(r.at.getTime()).toBeGreaterThan(Date.now() - 60_000);
      // Who, which and when: never what was said.
      expect(JSON.stringify(r)).not.toMatch(/want to die|call 988/);
    }
  });

  it('keeps an unflagged session of another coach’s client closed to coaches who coached the client elsewhere', async () => {
    const [theirs, mine] = [await staff('COACH', 'Tia Theirs'), await staff('COACH', 'Mo Mine')];
    const client = await createUser({ tier: 'PREMIUM' });
    const sessionId = crypto.randomUUID();
    await db()
      .insert(coachingSessions)
      .values({ id: sessionId, roomName: `session-${sessionId}`, clientId: client.id, coachId: theirs.user.id, status: 'COMPLETED', tierAtStart: 'PREMIUM' });
    await db()
      .insert(appointments)
      .values({ clientId: client.id, coachId: mine.user.id, scheduledFor: new Date(Date.now() + 86_400_000) });
    expect((await get(`/api/sessions/${sessionId}`, bearer(mine.token))).status).toBe(404);
  });
});
