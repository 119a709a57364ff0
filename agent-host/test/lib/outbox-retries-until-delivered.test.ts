import { readdir } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Outbox } from '../../src/lib/outbox';
import { type Receiver, startReceiver, TEST_SECRET, tempDir } from '../skool/helpers';

const fast = { baseBackoffMs: 20, maxBackoffMs: 200, requestTimeoutMs: 5_000 };

describe('the outbox against a receiver that is down for a while', () => {
  it('delivers every message exactly once per Idempotency-Key, in order, across a restart of the sender', async () => {
    let down = true;
    const receiver: Receiver = await startReceiver({ answer: () => (down ? 503 : 200) });
    onTestFinished(receiver.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);

    // The first sender stores three messages while the receiver answers 503, then dies.
    const first = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast });
    for (const n of [1, 2, 3]) await first.enqueue(receiver.url, `run-1:part:${n}`, { n, text: 'Zoë' });
    await expect.poll(() => receiver.deliveries.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(first.depth).toBe(3);
    await first.close();
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.json'))).toHaveLength(3);
    expect(receiver.accepted.size).toBe(0);

    // A new sender over the same folder replays them, and takes a new one behind them.
    const second = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast });
    onTestFinished(() => second.close());
    expect(second.depth).toBe(3);
    await second.enqueue(receiver.url, 'run-1:final', { n: 4 });
    await expect.poll(() => receiver.deliveries.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    down = false;
    await second.drained();

    expect([...receiver.accepted.keys()]).toEqual(['run-1:part:1', 'run-1:part:2', 'run-1:part:3', 'run-1:final']);
    for (const key of receiver.accepted.keys()) expect(receiver.acceptedCount(key)).toBe(1);
    expect(receiver.accepted.get('run-1:part:1')).toEqual({ n: 1, text: 'Zoë' });
    // Every attempt was signed afresh and verified.
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.deliveries.filter((d) => d.status === 503).length).toBeGreaterThanOrEqual(3);
    expect(second.depth).toBe(0);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('retries a receiver that cannot be reached at all, then delivers once it is up', async () => {
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);
    // The Worker's address, with nobody listening yet: connection refused.
    const gone = await startReceiver();
    await gone.close();

    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast });
    onTestFinished(() => outbox.close());
    await outbox.enqueue(gone.url, 'run-2:final', { ok: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(outbox.depth).toBe(1);

    const receiver = await startReceiver({ port: gone.port });
    onTestFinished(receiver.close);
    await outbox.drained();
    expect([...receiver.accepted.keys()]).toEqual(['run-2:final']);
    expect(receiver.acceptedCount('run-2:final')).toBe(1);
  });
});
