import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox';
import { TEST_SECRET, startReceiver, tempDir } from '../skool/test-helpers';

describe('the outbox when the receiver refuses a message for good', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('logs and drops a message answered 400, and carries on with the next', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const receiver = await startReceiver({ answer: (key) => (key === 'run-3:bad' ? 400 : 200) });
    cleanups.push(receiver.close);
    const dir = await tempDir('outbox');
    cleanups.push(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, baseBackoffMs: 20, maxBackoffMs: 200 });
    cleanups.push(() => outbox.close());

    await outbox.enqueue(receiver.url, 'run-3:bad', { broken: true });
    await outbox.enqueue(receiver.url, 'run-3:good', { fine: true });
    await outbox.drained();

    // One attempt only: a 400 is not retried.
    expect(receiver.deliveries.filter((d) => d.key === 'run-3:bad').map((d) => d.status)).toEqual([400]);
    expect([...receiver.accepted.keys()]).toEqual(['run-3:good']);
    const logged = errors.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'error', msg: expect.stringContaining('dropped'), idempotencyKey: 'run-3:bad', status: 400 }),
    );
    // Out of the queue, kept aside for a person to look at; never replayed.
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.json'))).toEqual([]);
    expect(await readdir(join(dir.path, 'dropped'))).toHaveLength(1);
    expect(outbox.depth).toBe(0);
  });

  it('keeps retrying 408, 429 and 5xx answers', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const script = [408, 429, 500, 502, 200];
    const receiver = await startReceiver({ answer: (_key, attempt) => script[attempt - 1] ?? 200 });
    cleanups.push(receiver.close);
    const dir = await tempDir('outbox');
    cleanups.push(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, baseBackoffMs: 10, maxBackoffMs: 50 });
    cleanups.push(() => outbox.close());

    await outbox.enqueue(receiver.url, 'run-4:final', { ok: true });
    await outbox.drained();
    expect(receiver.deliveries.map((d) => d.status)).toEqual(script);
    expect(receiver.acceptedCount('run-4:final')).toBe(1);
  });
});
