import { signedHeaders } from '@hybrid-coach/shared/signing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startReplica } from '../../dev/skool-replica/server';
import type { ProgressMessage, StartRequest } from '../../src/skool/contract';
import { createSkoolSyncServer, type SkoolSyncServer, startSkoolSyncHost } from '../../src/skool/server';
import { startReceiver, TEST_SECRET, TEST_TIMEOUTS, tempDir } from './helpers';

interface Answer {
  status: number;
  body: { success: boolean; data?: { runId: string; accepted: boolean }; error?: { code: string; message: string } };
}

/** Where a request goes: the app itself (`app.request`) or a real origin over HTTP. */
type Target = SkoolSyncServer['app'] | string;
const send = (target: Target, path: string, init?: RequestInit) =>
  typeof target === 'string' ? fetch(`${target}${path}`, { ...init, signal: AbortSignal.timeout(10_000) }) : target.request(path, init);

async function post(target: Target, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await send(target, '/skool-sync/start', { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

async function start(target: Target, request: StartRequest, options: { secret?: string; now?: number } = {}): Promise<Answer> {
  const body = JSON.stringify(request);
  return post(target, body, await signedHeaders(options.secret ?? TEST_SECRET, body, request.runId, options.now));
}

const request = (runId: string): StartRequest => ({ runId, trigger: 'cron', resultUrl: 'http://127.0.0.1:9/api/webhooks/skool-sync' });

describe('POST /skool-sync/start with a stand-in sync', () => {
  let sync: SkoolSyncServer;
  let origin: SkoolSyncServer['app'];
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
    origin = sync.app;
  });
  afterAll(() => finishRun());
  afterEach(() => vi.restoreAllMocks());

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

  it('refuses a start with a wrong field with 400, naming the field in the log and the answer, and takes the next', async () => {
    const warnings = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const wrong = await start(origin, { ...request('run-w'), trigger: 'nightly' as 'cron' });
    expect(wrong).toMatchObject({
      status: 400,
      body: { success: false, error: { code: 'VALIDATION_ERROR', message: 'trigger must be "cron" or "admin"', fields: { trigger: expect.any(String) } } },
    });
    expect(warnings.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'skool sync: start refused: it does not match the contract', fields: { trigger: expect.any(String) } }),
    );
    const notJson = await post(origin, '{', await signedHeaders(TEST_SECRET, '{', 'run-w'));
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR', message: 'body is not JSON' } } });
    expect(runs).toEqual([]);
  });

  it('answers a body over 16 KiB with 413 and an unknown route with 404, in the one error shape', async () => {
    const big = JSON.stringify({ ...request('run-big'), pad: 'x'.repeat(17 * 1024) });
    const tooLarge = await post(origin, big, await signedHeaders(TEST_SECRET, big, 'run-big'));
    expect(tooLarge).toMatchObject({ status: 413, body: { success: false, error: { code: 'PAYLOAD_TOO_LARGE' } } });
    const nowhere = await send(origin, '/skool-sync/stop', { method: 'POST' });
    expect(nowhere.status).toBe(404);
    expect(await nowhere.json()).toEqual({ success: false, error: { code: 'NOT_FOUND', message: 'no route for POST /skool-sync/stop' } });
    expect(runs).toEqual([]);
  });

  it('starts one run at a time: 409 for another run, accepted:false for the same run id, during and after', async () => {
    expect(await start(origin, request('run-1'))).toEqual({ status: 202, body: { success: true, data: { runId: 'run-1', accepted: true } } });
    const health = await (await origin.request('/health')).json();
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

    const results = [...receiver.accepted.keys()].filter((k) => !k.includes(':progress:'));
    expect(results).toEqual(['run-full:ultra:0', 'run-full:vagus:0', 'run-full:vagus:1', 'run-full:final']);
    // The host told the Worker its progress on the way, ending with what it found.
    const progress = [...receiver.accepted.entries()].filter(([k]) => k.includes(':progress:')).map(([, m]) => (m as ProgressMessage).scraped);
    expect(progress.at(-1)).toEqual({ ultra: 140, vagus: 560 });
    for (const key of receiver.accepted.keys()) expect(receiver.acceptedCount(key)).toBe(1);
    expect(receiver.badSignatures).toBe(0);
    const byCommunity = (c: 'ultra' | 'vagus') =>
      receiver
        .members()
        .filter((m) => m.community === c)
        .flatMap((m) => m.members);
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

describe('the sync server while the host shuts down or fails', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses new runs with 503 once not accepting, and answers an unexpected failure with a logged 500', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let healthy = true;
    const sync = createSkoolSyncServer({
      secret: TEST_SECRET,
      outbox: { depth: 0 },
      runSync: async () => undefined,
      accepting: () => false,
      health: async () => {
        if (!healthy) throw new Error('disk gone');
        return { ok: false };
      },
    });
    expect(await start(sync.app, request('run-late'))).toMatchObject({ status: 503, body: { success: false, error: { code: 'SERVICE_UNAVAILABLE' } } });
    expect((await sync.app.request('/health')).status).toBe(503);
    healthy = false;
    const failed = await sync.app.request('/health');
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
    expect(errors.mock.calls.map((args) => String(args[0])).join('\n')).toContain('agent-host: unhandled error');
  });
});
