/** Playing the agent-host's side of the Skool sync in Worker tests: members, signed deliveries, runs. */
import { env, SELF } from 'cloudflare:test';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { skoolSyncRuns } from '../src/db/schema';
import type { MemberIn } from '../src/lib/skool-sync';
import { testDb } from './helpers';

export function member(email: string | null, over: Partial<MemberIn> = {}): MemberIn {
  return {
    email,
    name: email ? email.split('@')[0]! : 'No Email',
    paid: true,
    status: 'active',
    joinedAt: '2025-01-02T00:00:00.000Z',
    membershipEndsAt: null,
    profileUrl: email ? `https://www.skool.com/@${email.split('@')[0]}` : null,
    photoUrl: null,
    bio: null,
    ...over,
  };
}

export async function send(payload: unknown, key: string, opts: { secret?: string; at?: number } = {}) {
  const raw = JSON.stringify(payload);
  const headers = await signedHeaders(opts.secret ?? env.AGENT_HOST_SECRET, raw, key, opts.at);
  return SELF.fetch('http://api.test/api/webhooks/skool-sync', { method: 'POST', headers, body: raw });
}

/** A run as the agent-host delivers it: chunks per community, then the final message. */
export async function deliverRun(runId: string, lists: { ultra: MemberIn[] | null; vagus: MemberIn[] | null }, chunkSize = 3) {
  for (const c of ['ultra', 'vagus'] as const) {
    const list = lists[c];
    if (!list) continue;
    const count = Math.max(1, Math.ceil(list.length / chunkSize));
    for (let i = 0; i < count; i++) {
      const res = await send(
        { runId, kind: 'members', community: c, chunk: { index: i, count }, members: list.slice(i * chunkSize, (i + 1) * chunkSize) },
        `${runId}:${c}:${i}`,
      );
      expect(res.status).toBe(200);
    }
  }
  const outcome = (c: 'ultra' | 'vagus') =>
    lists[c] ? { ok: true, membersFound: lists[c]!.length, error: null } : { ok: false, membersFound: 0, error: 'members page timed out' };
  return send(
    {
      runId,
      kind: 'final',
      ok: !!lists.ultra && !!lists.vagus,
      error: null,
      durationMs: 1234,
      communities: { ultra: outcome('ultra'), vagus: outcome('vagus') },
    },
    `${runId}:final`,
  );
}

export async function newRun() {
  const id = crypto.randomUUID();
  // Runs may not overlap: finish any left RUNNING by an earlier test.
  await testDb().update(skoolSyncRuns).set({ status: 'FAILED' }).where(eq(skoolSyncRuns.status, 'RUNNING'));
  await testDb().insert(skoolSyncRuns).values({ id, trigger: 'admin', startedAt: new Date() });
  return id;
}
