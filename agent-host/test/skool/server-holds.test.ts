import { signedHeaders } from '@hybrid-coach/shared/signing';
import { describe, expect, it } from 'vitest';
import { createSkoolSyncServer, type SkoolSyncServer } from '../../src/skool/server';
import { TEST_SECRET } from './helpers';

async function holds(sync: SkoolSyncServer, runId: string, options: { secret?: string; key?: string; body?: string } = {}) {
  const body = options.body ?? JSON.stringify({ runId });
  const headers = await signedHeaders(options.secret ?? TEST_SECRET, body, options.key ?? runId);
  const res = await sync.app.request('/skool-sync/holds', { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as { success: boolean; data?: { runId: string; held: boolean }; error?: { code: string } } };
}

const start = async (sync: SkoolSyncServer, runId: string) => {
  const body = JSON.stringify({ runId, trigger: 'admin', resultUrl: 'http://127.0.0.1:9/api/webhooks/skool-sync' });
  return sync.app.request('/skool-sync/start', { method: 'POST', headers: await signedHeaders(TEST_SECRET, body, runId), body });
};

describe('POST /skool-sync/holds: whether this agent-host still holds a run', () => {
  it('holds the run it scrapes and a run whose messages wait in its outbox; a restarted one holds neither', async () => {
    let finish: () => void = () => undefined;
    const pending = ['delivering:final'];
    const sync = createSkoolSyncServer({
      secret: TEST_SECRET,
      outbox: { depth: pending.length, pendingKeys: async () => pending },
      runSync: () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    });
    expect((await start(sync, 'scraping')).status).toBe(202);
    expect((await holds(sync, 'scraping')).body.data).toEqual({ runId: 'scraping', held: true });
    expect((await holds(sync, 'delivering')).body.data).toEqual({ runId: 'delivering', held: true });
    expect((await holds(sync, 'lost')).body.data).toEqual({ runId: 'lost', held: false });
    finish();
    await sync.idle();
    expect((await holds(sync, 'scraping')).body.data?.held).toBe(false);

    // After a restart: a new process, nothing running, nothing of that run left to deliver.
    const restarted = createSkoolSyncServer({ secret: TEST_SECRET, outbox: { depth: 0, pendingKeys: async () => [] }, runSync: async () => undefined });
    expect((await holds(restarted, 'scraping')).body.data?.held).toBe(false);
  });

  it('refuses an unsigned or malformed question', async () => {
    const sync = createSkoolSyncServer({ secret: TEST_SECRET, outbox: { depth: 0 }, runSync: async () => undefined });
    expect((await holds(sync, 'r1', { secret: 'another-secret-another-secret-0000000000' })).status).toBe(401);
    expect((await holds(sync, 'r1', { key: 'r2' })).status).toBe(400);
    const bad = await holds(sync, 'r1', { body: JSON.stringify({ runId: 'no spaces allowed' }) });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR' } } });
  });
});

describe('an agent-host with SKOOL_SYNC=off', () => {
  it('refuses to start a run and will not say a run is not held (409): the Worker is pointed at the wrong host', async () => {
    const sync = createSkoolSyncServer({ secret: TEST_SECRET, outbox: { depth: 0, pendingKeys: async () => [] }, runSync: null });
    const started = await start(sync, 'r1');
    expect(started.status).toBe(409);
    expect(await started.json()).toMatchObject({ success: false, error: { code: 'CONFLICT', message: expect.stringContaining('SKOOL_SYNC=off') } });
    expect(sync.running()).toBeNull();
    // "held: false" would let the Worker fail a run the syncing host is still scraping.
    expect(await holds(sync, 'r1')).toMatchObject({ status: 409, body: { success: false, error: { code: 'CONFLICT' } } });
    // Still checks who asks first.
    expect((await holds(sync, 'r1', { secret: 'another-secret-another-secret-0000000000' })).status).toBe(401);
  });
});
