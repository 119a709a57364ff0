import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import type { StartRequest } from '../../src/skool/contract';
import { startReplica } from '../../dev/skool-replica/server';
import { type SkoolSyncServer, createSkoolSyncServer, startSkoolSyncHost } from '../../src/skool/server';
import { TEST_SECRET, TEST_TIMEOUTS, startReceiver, tempDir } from './helpers';

interface Answer {
  status: number;
  body: { success: boolean; data?: { runId: string; accepted: boolean }; error?: { code: string; message: string } };
}

async function post(origin: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${origin}/skool-sync/start`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function start(origin: string, request: StartRequest, options: { secret?: string; now?: number } = {}): Promise<Answer> {
  const body = JSON.stringify(request);
  return post(origin, body, await signedHeaders(options.secret ?? TEST_SECRET, body, request.runId, options.now));
}

const request = (runId: string): StartRequest => ({ runId, trigger: 'cron', resultUrl: 'http://127.0.0.1:9/api/webhooks/skool-sync' });

describe('POST /skool-sync/start with a stand-in sync', () => {
  let sync: SkoolSyncServer;
  let origin: string;
  let finishRun: () => void = () => undefined;
  const runs: string[] = [];

  beforeAll(async () => {
    sync = createSkoolSyncServer({
      secret: TEST_SECRET,
      outbox: { depth: 0 },
      runSync: (r) => {
        runs.push(r.runId);
        return new Promise<void>((resolve) => {
          finishRun = resolve;
        });
      },
    });
    await new Promise<void>((resolve) => sync.server.listen(0, '127.0.0.1', () => resolve()));
    origin = `http://127.0.0.1:${(sync.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    finishRun();
    await new Promise<void>((resolve) => sync.server.close(() => resolve()));
  });

  it('refuses an unsigned, a forged, a tampered and a stale start with 401 and starts nothing', async () => {
    const body = JSON.stringify(request('run-a'));
    const unsigned = await post(origin, body, { 'Content-Type': 'application/json', 'Idempotency-Key': 'run-a' });
    const forged = await start(origin, request('run-a'), { secret: 'someone-elses-secret-0123456789abcdef' });
    const stale = await start(origin, request('run-a'), { now: Date.now() - 10 * 60_000 });
    const signed = await signedHeaders(TEST_SECRET, body, 'run-a');
    const tampered = await post(origin, body.replace('cron', 'admin'), signed);
    for (const answer of [unsigned, forged, stale, tampered]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    }
    expect(stale.body.error?.message).toMatch(/replay window/);
    expect(runs).toEqual([]);
  });

  it('refuses a signed start whose Idempotency-Key is not its run id with 400', async () => {
    const body = JSON.stringify(request('run-b'));
    const answer = await post(origin, body, await signedHeaders(TEST_SECRET, body, 'something-else'));
    expect(answer).toMatchObject({ status: 400, body: { success: false, error: { code: 'VALIDATION_ERROR' } } });
    expect(runs).toEqual([]);
  });

  it('starts one run at a time: 409 for another run, accepted:false for the same run id, during and after', async () => {
    expect(await start(origin, request('run-1'))).toEqual({ status: 202, body: { success: true, data: { runId: 'run-1', accepted: true } } });
    const health = await (await fetch(`${origin}/health`)).json();
    expect(health).toEqual({ ok: true, syncRunning: true, outboxDepth: 0 });

    const second = await start(origin, request('run-2'));
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ success: false, error: { code: 'CONFLICT', message: expect.stringContaining('run-1') } });
    expect(await start(origin, request('run-1'))).toEqual({ status: 202, body: { success: true, data: { runId: 'run-1', accepted: false } } });

    finishRun();
    await sync.idle();
    expect(sync.running()).toBeNull();
    expect(await start(origin, request('run-1'))).toMatchObject({ status: 202, body: { data: { accepted: false } } });
    expect(await start(origin, request('run-2'))).toMatchObject({ status: 202, body: { data: { runId: 'run-2', accepted: true } } });
    expect(runs).toEqual(['run-1', 'run-2']);
  });
});

describe('a full start, from the signed request to the results at the stand-in Worker', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('scrapes the replica and delivers every chunk and the final message, signed', async () => {
    const replica = await startReplica();
    cleanups.push(replica.close);
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const outboxDir = await tempDir('outbox');
    cleanups.push(outboxDir.remove);
    const diagnostics = await tempDir('diagnostics');
    cleanups.push(diagnostics.remove);
    const host = await startSkoolSyncHost(
      {
        AGENT_HOST_SECRET: TEST_SECRET,
        AGENT_HOST_PORT: '0',
        AGENT_HOST_OUTBOX_DIR: outboxDir.path,
        SKOOL_DIAGNOSTICS_DIR: diagnostics.path,
        SKOOL_BASE_URL: replica.url,
        SKOOL_EMAIL: replica.credentials.email,
        SKOOL_PASSWORD: replica.credentials.password,
        SKOOL_ULTRA_URL: '/ultra/-/members',
        SKOOL_VAGUS_URL: replica.membersUrl('vagus'),
        ...(process.env.CHROMIUM_PATH ? { CHROMIUM_PATH: process.env.CHROMIUM_PATH } : {}),
      },
      { host: '127.0.0.1', timeouts: TEST_TIMEOUTS },
    );
    cleanups.push(host.close);

    const answer = await start(host.url, { runId: 'run-full', trigger: 'admin', resultUrl: receiver.url });
    expect(answer).toEqual({ status: 202, body: { success: true, data: { runId: 'run-full', accepted: true } } });
    await receiver.waitFor('run-full:final', 90_000);
    await host.sync.idle();

    expect([...receiver.accepted.keys()]).toEqual(['run-full:ultra:0', 'run-full:vagus:0', 'run-full:vagus:1', 'run-full:final']);
    for (const key of receiver.accepted.keys()) expect(receiver.acceptedCount(key)).toBe(1);
    expect(receiver.badSignatures).toBe(0);
    const byCommunity = (c: 'ultra' | 'vagus') => receiver.members().filter((m) => m.community === c).flatMap((m) => m.members);
    expect(byCommunity('ultra')).toEqual(replica.expectedMembers('ultra'));
    expect(byCommunity('vagus')).toEqual(replica.expectedMembers('vagus'));
    expect(receiver.final()).toMatchObject({
      runId: 'run-full',
      kind: 'final',
      ok: true,
      error: null,
      communities: { ultra: { ok: true, membersFound: 140, error: null }, vagus: { ok: true, membersFound: 560, error: null } },
    });
    await host.outbox.drained();
    expect(await (await fetch(`${host.url}/health`)).json()).toEqual({ ok: true, syncRunning: false, outboxDepth: 0 });
  });
});
