/**
 * The staff console's People: finding people, one person's page, and the actions on an account, each
 * with its reason in the membership history and the audit log. Who may call each route at all is
 * access.test.ts's; here, what an admin's call does (and what a refused one leaves alone).
 */
import { env, SELF } from 'cloudflare:test';
import { and, eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, deliverMail, get, login, post, signIn, testDb } from '../../test/helpers';
import { mailTo } from '../../test/mailpit';
import { auditLog, loginSessions, membershipStatusHistory, skoolSyncRuns, users } from '../db/schema';
import { issueSession } from '../lib/session';
import { applyFinal, stageChunk } from '../lib/skool-sync';
import { isLastAdminRefusal, roleKeepingAnAdmin } from './admin-people';

type Person = {
  id: string;
  email: string;
  role: string;
  tier: string;
  claimed: boolean;
  disabled: boolean;
  lastSignInAt: string | null;
  thisMonth: { sessions: number; minutes: number };
  history: { field: string; from: string | null; to: string; by: string; actor: { id: string; displayName: string | null } | null; reason: string | null }[];
};
type Page = { items: { id: string; email: string }[]; nextCursor: string | null };

const tag = () => crypto.randomUUID().slice(0, 8);
const tokenOf = async (u: typeof users.$inferSelect) => (await issueSession(env, testDb(), u, { ip: null, userAgent: 'admin test' })).token;

/** An admin of the test's own, and its token. */
async function anAdmin() {
  const admin = await createUser({ role: 'ADMIN', displayName: `Ada Admin ${tag()}` });
  return { admin, token: await tokenOf(admin) };
}

const act = (token: string, userId: string, action: string, payload: unknown) => post(`/api/admin/people/${userId}/${action}`, payload, bearer(token));
const historyOf = (userId: string) => testDb().select().from(membershipStatusHistory).where(eq(membershipStatusHistory.userId, userId)).all();
const auditOf = (userId: string) =>
  testDb()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.targetType, 'user'), eq(auditLog.targetId, userId)))
    .all();
const userRow = (id: string) => testDb().select().from(users).where(eq(users.id, id)).get();

describe('finding people', () => {
  it('finds by part of the name or email, filters by role, tier, claimed and source, a page at a time', async () => {
    const { token } = await anAdmin();
    const t = tag();
    const a = await createUser({ email: `a-${t}@example.com`, displayName: `Quinn Marlowe ${t}`, tier: 'PREMIUM' });
    const b = await createUser({ email: `b-${t}@example.com`, displayName: `Robin ${t}`, passwordHash: null });
    const c = await createUser({ email: `c-${t}@example.com`, displayName: `Sam ${t}`, role: 'COACH' });
    await testDb().update(users).set({ vagusSubscriptionStatus: 'active' }).where(eq(users.id, b.id));

    const find = async (query: string) => {
      const res = await get(`/api/admin/people?${query}`, bearer(token));
      expect(res.status).toBe(200);
      return (await body<Page>(res)).data;
    };
    expect((await find(`q=${t}`)).items.map((p) => p.id)).toEqual([a.id, b.id, c.id]);
    expect((await find(`q=${encodeURIComponent(`quinn marlowe ${t}`)}`)).items.map((p) => p.id)).toEqual([a.id]);
    expect((await find(`q=b-${t}`)).items.map((p) => p.id)).toEqual([b.id]);
    expect((await find(`q=${t}&role=COACH`)).items.map((p) => p.id)).toEqual([c.id]);
    expect((await find(`q=${t}&tier=PREMIUM`)).items.map((p) => p.id)).toEqual([a.id]);
    expect((await find(`q=${t}&claimed=false`)).items.map((p) => p.id)).toEqual([b.id]);
    expect((await find(`q=${t}&source=vagus`)).items.map((p) => p.id)).toEqual([b.id]);
    expect((await find(`q=${t}&source=manual`)).items.map((p) => p.id)).toEqual([a.id, c.id]);
    // A % or _ in the search is a character, not a wildcard.
    expect((await find(`q=${encodeURIComponent('%')}${t}`)).items).toEqual([]);

    const first = await find(`q=${t}&limit=2`);
    expect(first.items.map((p) => p.id)).toEqual([a.id, b.id]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await find(`q=${t}&limit=2&cursor=${first.nextCursor}`);
    expect(second).toEqual({ items: [expect.objectContaining({ id: c.id })], nextCursor: null });
  });

  it('answers 400 for a cursor it never gave, a limit over 100 or an unknown filter value', async () => {
    const { token } = await anAdmin();
    for (const query of ['cursor=not-a-cursor', 'limit=101', 'limit=0', 'tier=GOLD', 'claimed=maybe', 'source=facebook']) {
      const res = await get(`/api/admin/people?${query}`, bearer(token));
      expect(res.status, query).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
  });
});

describe('one person', () => {
  it('shows role, tier, claimed, this month’s use, the last sign-in and the history from the sync and from staff', async () => {
    const { admin, token } = await anAdmin();
    const client = await createUser({ tier: 'VAGUS_MEMBER' });
    const monthEnd = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1));
    await testDb().update(users).set({ monthlySessionsUsed: 3, monthlyMinutesUsed: 47, usageResetsAt: monthEnd }).where(eq(users.id, client.id));
    await signIn(client.email);
    await testDb()
      .insert(membershipStatusHistory)
      .values({ userId: client.id, field: 'tier', previousValue: 'FREE', newValue: 'VAGUS_MEMBER', changedAt: new Date(Date.now() - 86_400_000) });
    expect((await act(token, client.id, 'tier', { tier: 'PREMIUM', reason: 'Bought the coaching package' })).status).toBe(200);

    const res = await get(`/api/admin/people/${client.id}`, bearer(token));
    expect(res.status).toBe(200);
    const person = (await body<Person>(res)).data;
    expect(person).toMatchObject({ id: client.id, role: 'CLIENT', tier: 'PREMIUM', claimed: true, disabled: false, thisMonth: { sessions: 3, minutes: 47 } });
    expect(Date.now() - Date.parse(person.lastSignInAt ?? '')).toBeLessThan(60_000);
    expect(person.history).toEqual([
      {
        ...person.history[0],
        field: 'tier',
        from: 'VAGUS_MEMBER',
        to: 'PREMIUM',
        by: 'staff',
        actor: { id: admin.id, displayName: admin.displayName },
        reason: 'Bought the coaching package',
      },
      { ...person.history[1], field: 'tier', from: 'FREE', to: 'VAGUS_MEMBER', by: 'sync', actor: null, reason: null },
    ]);
  });

  it('answers 404 for someone who does not exist', async () => {
    const { token } = await anAdmin();
    expect((await get('/api/admin/people/no-such-person', bearer(token))).status).toBe(404);
    expect((await act(token, 'no-such-person', 'tier', { tier: 'PREMIUM', reason: 'Paid' })).status).toBe(404);
  });
});

describe('setting the tier', () => {
  it('writes the tier, a history row with the actor and reason, and an audit row, together', async () => {
    const { admin, token } = await anAdmin();
    const client = await createUser();
    const res = await act(token, client.id, 'tier', { tier: 'PREMIUM', reason: 'Bought the coaching package' });
    expect(res.status).toBe(200);
    expect((await body<Person>(res)).data.tier).toBe('PREMIUM');
    expect((await userRow(client.id))?.membershipTier).toBe('PREMIUM');
    expect(await historyOf(client.id)).toEqual([
      expect.objectContaining({
        field: 'tier',
        previousValue: 'FREE',
        newValue: 'PREMIUM',
        actorId: admin.id,
        reason: 'Bought the coaching package',
        syncRunId: null,
      }),
    ]);
    expect(await auditOf(client.id)).toEqual([
      expect.objectContaining({
        actorId: admin.id,
        action: 'user.set-tier',
        reason: 'Bought the coaching package',
        before: { tier: 'FREE' },
        after: { tier: 'PREMIUM' },
        requestId: res.headers.get('X-Request-Id'),
      }),
    ]);
  });

  it('keeps a PREMIUM set by staff through a later sync that downgrades others like them', async () => {
    const { token } = await anAdmin();
    const t = tag();
    const premium = await createUser({ email: `kept-${t}@example.com`, tier: 'VAGUS_MEMBER' });
    const control = await createUser({ email: `control-${t}@example.com`, tier: 'VAGUS_MEMBER' });
    expect((await act(token, premium.id, 'tier', { tier: 'PREMIUM', reason: 'Premium package, paid by invoice' })).status).toBe(200);

    // A complete sync in which both stopped paying for Vagus: a free member's tier is FREE.
    await testDb().update(skoolSyncRuns).set({ status: 'FAILED' }).where(eq(skoolSyncRuns.status, 'RUNNING'));
    const runId = crypto.randomUUID();
    await testDb().insert(skoolSyncRuns).values({ id: runId, trigger: 'admin', startedAt: new Date() });
    const free = (email: string) => ({
      email,
      name: email,
      paid: false,
      status: 'active' as const,
      joinedAt: null,
      membershipEndsAt: null,
      profileUrl: null,
      photoUrl: null,
      bio: null,
    });
    await stageChunk(testDb(), { runId, community: 'vagus', index: 0, count: 1, members: [free(premium.email), free(control.email)] });
    await stageChunk(testDb(), { runId, community: 'ultra', index: 0, count: 1, members: [] });
    const outcome = await applyFinal(env, testDb(), runId, {
      ok: true,
      error: null,
      durationMs: 10,
      communities: { ultra: { ok: true, membersFound: 0, error: null }, vagus: { ok: true, membersFound: 2, error: null } },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect((await userRow(control.id))?.membershipTier).toBe('FREE');
    expect((await userRow(premium.id))?.membershipTier).toBe('PREMIUM');
  });

  it('refuses bad input (400), the tier it already has (409) and a missing reason, writing nothing', async () => {
    const { token } = await anAdmin();
    const client = await createUser({ tier: 'PREMIUM' });
    const bad: [unknown, number, string][] = [
      [{ tier: 'PREMIUM' }, 400, 'reason'],
      [{ tier: 'FREE', reason: '  ' }, 400, 'reason'],
      [{ tier: 'GOLD', reason: 'Paid' }, 400, 'tier'],
      [{ tier: 'FREE', reason: 'Paid', extra: 1 }, 400, ''],
      [{ tier: 'PREMIUM', reason: 'Paid twice' }, 409, ''],
    ];
    for (const [payload, status, field] of bad) {
      const res = await act(token, client.id, 'tier', payload);
      expect(res.status, JSON.stringify(payload)).toBe(status);
      if (field) expect(Object.keys((await body(res)).error.fields ?? {}), JSON.stringify(payload)).toContain(field);
    }
    const badJson = await SELF.fetch(`${API}/api/admin/people/${client.id}/tier`, {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: '{',
    });
    expect(badJson.status).toBe(400);
    expect((await userRow(client.id))?.membershipTier).toBe('PREMIUM');
    expect(await historyOf(client.id)).toEqual([]);
    expect(await auditOf(client.id)).toEqual([]);
  });
});

describe('bad input to the other actions', () => {
  it('refuses no reason, a too short reason, an unknown role, an extra key and bad JSON (400), writing nothing', async () => {
    const { token } = await anAdmin();
    const person = await createUser({ passwordHash: null });
    await testDb().update(users).set({ disabledAt: new Date() }).where(eq(users.id, person.id));
    const before = await userRow(person.id);
    const cases: [string, unknown, string][] = [
      ['role', { role: 'COACH' }, 'reason'],
      ['role', { role: 'COACH', reason: 'ok' }, 'reason'],
      ['role', { role: 'OWNER', reason: 'Runs the place' }, 'role'],
      ['role', { role: 'COACH', reason: 'Joins the team', extra: 1 }, ''],
    ];
    for (const action of ['disable', 'enable', 'sign-out', 'claim-email'])
      cases.push([action, {}, 'reason'], [action, { reason: 'no' }, 'reason'], [action, { reason: 'A fine reason', extra: 1 }, '']);
    for (const [action, payload, field] of cases) {
      const res = await act(token, person.id, action, payload);
      const what = `${action} ${JSON.stringify(payload)}`;
      expect(res.status, what).toBe(400);
      const { error } = await body(res);
      expect(error.code, what).toBe('VALIDATION_ERROR');
      if (field) expect(Object.keys(error.fields ?? {}), what).toContain(field);
    }
    for (const action of ['role', 'disable', 'enable', 'sign-out', 'claim-email']) {
      const res = await SELF.fetch(`${API}/api/admin/people/${person.id}/${action}`, {
        method: 'POST',
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
        body: '{',
      });
      expect(res.status, action).toBe(400);
    }
    expect(await userRow(person.id)).toEqual(before);
    expect(await historyOf(person.id)).toEqual([]);
    expect(await auditOf(person.id)).toEqual([]);
  });
});

describe('setting the role', () => {
  it('makes a coach an admin, with history and audit rows', async () => {
    const { token } = await anAdmin();
    const coach = await createUser({ role: 'COACH' });
    const res = await act(token, coach.id, 'role', { role: 'ADMIN', reason: 'Runs the membership now' });
    expect(res.status).toBe(200);
    expect((await userRow(coach.id))?.role).toBe('ADMIN');
    expect(await historyOf(coach.id)).toEqual([expect.objectContaining({ field: 'role', previousValue: 'COACH', newValue: 'ADMIN' })]);
    expect(await auditOf(coach.id)).toEqual([expect.objectContaining({ action: 'user.set-role', before: { role: 'COACH' }, after: { role: 'ADMIN' } })]);
  });

  it('signs out a person made staff: the next sign-in asks for the staff MFA first', async () => {
    const { token } = await anAdmin();
    for (const role of ['COACH', 'ADMIN'] as const) {
      const client = await createUser();
      const clientToken = await signIn(client.email);
      expect((await act(token, client.id, 'role', { role, reason: 'Joins the coaching team' })).status).toBe(200);
      // The session signed in with a password only is not a staff session.
      expect((await get('/api/users/me', bearer(clientToken))).status, role).toBe(401);
      const next = (await login(client.email)).json.data as Record<string, unknown>;
      // Admins must set up MFA; coaches get a grant unless MFA_REQUIRED_FOR_COACHES is on.
      expect(Object.keys(next), role).toContain(role === 'ADMIN' ? 'mfaEnrollmentRequired' : 'grant');
    }
  });

  it('refuses an admin demoting or disabling themselves (409), writing nothing', async () => {
    const { admin, token } = await anAdmin();
    for (const [action, payload] of [
      ['role', { role: 'COACH', reason: 'Stepping back' }],
      ['disable', { reason: 'Leaving' }],
    ] as const) {
      const res = await act(token, admin.id, action, payload);
      expect(res.status).toBe(409);
      expect((await body(res)).error.code).toBe('CONFLICT');
    }
    expect(await userRow(admin.id)).toMatchObject({ role: 'ADMIN', disabledAt: null });
    expect(await historyOf(admin.id)).toEqual([]);
    expect(await auditOf(admin.id)).toEqual([]);
  });

  describe('the last admin', () => {
    // Only the two admins of each test: the rule counts every active admin.
    beforeEach(async () => {
      await testDb().update(users).set({ role: 'CLIENT' }).where(eq(users.role, 'ADMIN'));
    });

    it('is kept by the change itself: a demotion or disabling that would leave no active admin fails whole', async () => {
      // Over HTTP the acting admin is always another admin, so this guards a race (two admins demoting
      // each other at once, each having passed the checks before the other's change): the statement
      // the routes write, run when no other active admin exists.
      const { admin } = await anAdmin();
      const db = testDb();
      for (const change of [{ role: roleKeepingAnAdmin(admin.id, 'CLIENT') }, { disabledAt: new Date(), role: roleKeepingAnAdmin(admin.id, 'ADMIN') }]) {
        const attempt = db.batch([
          db.insert(membershipStatusHistory).values({ userId: admin.id, field: 'role', previousValue: 'ADMIN', newValue: 'CLIENT', changedAt: new Date() }),
          db.update(users).set(change).where(eq(users.id, admin.id)),
        ]);
        const err = await attempt.then(
          () => null,
          (e: unknown) => e,
        );
        expect(isLastAdminRefusal(err)).toBe(true);
      }
      expect(await userRow(admin.id)).toMatchObject({ role: 'ADMIN', disabledAt: null });
      expect(await historyOf(admin.id)).toEqual([]);

      // With another active admin, the same statement goes through.
      const { token } = await anAdmin();
      expect((await act(token, admin.id, 'role', { role: 'COACH', reason: 'Coaching full time now' })).status).toBe(200);
      expect((await userRow(admin.id))?.role).toBe('COACH');
    });
  });
});

describe('disabling an account', () => {
  it('refuses its existing token on the next request and its sign-in, until it is enabled again', async () => {
    const { admin, token } = await anAdmin();
    const client = await createUser();
    const clientToken = await signIn(client.email);
    expect((await get('/api/users/me', bearer(clientToken))).status).toBe(200);

    const res = await act(token, client.id, 'disable', { reason: 'Chargeback under review' });
    expect(res.status).toBe(200);
    expect((await body<Person>(res)).data.disabled).toBe(true);
    expect((await get('/api/users/me', bearer(clientToken))).status).toBe(401);
    expect((await login(client.email)).res.status).toBe(401);
    const sessions = await testDb().select().from(loginSessions).where(eq(loginSessions.userId, client.id)).all();
    expect(sessions.every((s) => s.revokedAt !== null)).toBe(true);
    expect(await auditOf(client.id)).toEqual([expect.objectContaining({ actorId: admin.id, action: 'user.disable', reason: 'Chargeback under review' })]);
    expect((await act(token, client.id, 'disable', { reason: 'Again' })).status).toBe(409);

    expect((await act(token, client.id, 'enable', { reason: 'Chargeback withdrawn' })).status).toBe(200);
    // The old token stays revoked; signing in again works.
    expect((await get('/api/users/me', bearer(clientToken))).status).toBe(401);
    expect((await get('/api/users/me', bearer(await signIn(client.email)))).status).toBe(200);
    expect((await historyOf(client.id)).map((h) => `${h.previousValue}→${h.newValue}`).sort()).toEqual(['active→disabled', 'disabled→active']);
    expect((await act(token, client.id, 'enable', { reason: 'Again' })).status).toBe(409);
  });
});

describe('signing out everywhere', () => {
  it('refuses every token the person had, from the next request', async () => {
    const { token } = await anAdmin();
    const client = await createUser();
    const tokens = [await signIn(client.email), await signIn(client.email)];
    const res = await act(token, client.id, 'sign-out', { reason: 'Lost their phone' });
    expect(res.status).toBe(200);
    for (const t of tokens) expect((await get('/api/users/me', bearer(t))).status).toBe(401);
    expect(await auditOf(client.id)).toEqual([expect.objectContaining({ action: 'user.sign-out-everywhere', before: { liveSessions: 2 } })]);
    expect(await historyOf(client.id)).toEqual([expect.objectContaining({ field: 'account', newValue: 'signed-out-everywhere', reason: 'Lost their phone' })]);
  });

  it('keeps the session of an admin signing themselves out everywhere', async () => {
    const { admin, token } = await anAdmin();
    const other = await tokenOf(admin);
    expect((await act(token, admin.id, 'sign-out', { reason: 'Left a laptop signed in' })).status).toBe(200);
    expect((await get('/api/users/me', bearer(token))).status).toBe(200);
    expect((await get('/api/users/me', bearer(other))).status).toBe(401);
  });
});

describe('sending the claim email again', () => {
  it('emails an unclaimed account a new claim link, and refuses a claimed one (409)', async () => {
    const { token } = await anAdmin();
    const placeholder = await createUser({ passwordHash: null, email: `unclaimed-${tag()}@example.com` });
    const res = await act(token, placeholder.id, 'claim-email', { reason: 'Says the first email never came' });
    expect(res.status).toBe(200);
    await deliverMail();
    const [mail] = await mailTo(placeholder.email);
    expect(mail?.Text).toContain('/claim?token=');
    expect(await auditOf(placeholder.id)).toEqual([expect.objectContaining({ action: 'user.claim-email', after: { claimEmailQueued: true } })]);

    const claimed = await createUser();
    expect((await act(token, claimed.id, 'claim-email', { reason: 'Asked again' })).status).toBe(409);
    expect(await auditOf(claimed.id)).toEqual([]);
  });
});
