/**
 * The staff console's Audit log: admins read and filter it, a page at a time; nothing in the API edits
 * or deletes a row. Who may read it at all is access.test.ts's.
 */
import { env, SELF } from 'cloudflare:test';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, testDb } from '../../test/helpers';
import { auditLog } from '../db/schema';
import { issueSession } from '../lib/session';

type Entry = {
  id: string;
  action: string;
  actor: { id: string; displayName: string | null } | null;
  target: { type: string; id: string; displayName: string | null };
  reason: string | null;
};
type Page = { items: Entry[]; nextCursor: string | null };

async function anAdmin() {
  const admin = await createUser({ role: 'ADMIN', displayName: `Audit Admin ${crypto.randomUUID().slice(0, 6)}` });
  return { admin, token: (await issueSession(env, testDb(), admin, { ip: null, userAgent: 'audit test' })).token };
}

async function read(token: string, query: string): Promise<Page> {
  const res = await get(`/api/admin/audit?${query}`, bearer(token));
  expect(res.status, query).toBe(200);
  return (await body<Page>(res)).data;
}

describe('the audit log', () => {
  it('lists staff actions newest first with who, what, whom and why, filtered and a page at a time', async () => {
    const { admin, token } = await anAdmin();
    const client = await createUser({ displayName: 'Morgan Audited' });
    for (const [path, payload] of [
      ['tier', { tier: 'PREMIUM', reason: 'Paid by invoice' }],
      ['sign-out', { reason: 'Lost their phone' }],
      ['disable', { reason: 'Chargeback' }],
    ] as const) {
      expect((await post(`/api/admin/people/${client.id}/${path}`, payload, bearer(token))).status).toBe(200);
    }

    const all = await read(token, `targetId=${client.id}`);
    expect(all.items.map((e) => e.action)).toEqual(['user.disable', 'user.sign-out-everywhere', 'user.set-tier']);
    expect(all.items[2]).toMatchObject({
      actor: { id: admin.id, displayName: admin.displayName },
      target: { type: 'user', id: client.id, displayName: 'Morgan Audited' },
      reason: 'Paid by invoice',
    });
    expect((await read(token, `targetId=${client.id}&action=user.set-tier`)).items.map((e) => e.reason)).toEqual(['Paid by invoice']);
    expect((await read(token, `actorId=${admin.id}`)).items).toHaveLength(3);

    const first = await read(token, `targetId=${client.id}&limit=2`);
    expect(first.items.map((e) => e.action)).toEqual(['user.disable', 'user.sign-out-everywhere']);
    const second = await read(token, `targetId=${client.id}&limit=2&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ items: [{ action: 'user.set-tier' }], nextCursor: null });
  });

  it('filters by time and refuses a window that ends before it starts (400)', async () => {
    const { token } = await anAdmin();
    const client = await createUser();
    await testDb()
      .insert(auditLog)
      .values([
        { at: new Date('2026-01-10T00:00:00Z'), actorId: null, action: 'user.set-tier', targetType: 'user', targetId: client.id },
        { at: new Date('2026-02-10T00:00:00Z'), actorId: null, action: 'user.set-role', targetType: 'user', targetId: client.id },
      ]);
    const feb = await read(token, `targetId=${client.id}&since=2026-02-01T00:00:00Z&until=2026-03-01T00:00:00Z`);
    expect(feb.items.map((e) => [e.action, e.actor])).toEqual([['user.set-role', null]]);
    for (const query of ['since=2026-03-01T00:00:00Z&until=2026-02-01T00:00:00Z', 'since=yesterday', 'limit=500', 'cursor=zzz']) {
      const res = await get(`/api/admin/audit?${query}`, bearer(token));
      expect(res.status, query).toBe(400);
      expect((await body(res)).error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('has no way to edit or delete a row through the API', async () => {
    const { token } = await anAdmin();
    const [row] = await testDb()
      .insert(auditLog)
      .values({ at: new Date(), actorId: null, action: 'user.set-tier', targetType: 'user', targetId: 'someone', reason: 'Kept' })
      .returning();
    for (const [method, path] of [
      ['DELETE', `/api/admin/audit/${row!.id}`],
      ['PATCH', `/api/admin/audit/${row!.id}`],
      ['PUT', `/api/admin/audit/${row!.id}`],
      ['DELETE', '/api/admin/audit'],
      ['POST', '/api/admin/audit'],
    ] as const) {
      const res = await SELF.fetch(`${API}${path}`, {
        method,
        headers: { ...bearer(token), 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'Changed' }),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(await testDb().select().from(auditLog).where(eq(auditLog.id, row!.id)).get()).toMatchObject({ reason: 'Kept' });
  });
});
