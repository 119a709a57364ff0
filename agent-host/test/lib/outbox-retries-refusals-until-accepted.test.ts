import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Outbox } from '../../src/lib/outbox';
import { startReceiver, TEST_SECRET, tempDir } from '../skool/helpers';

const fast = { baseBackoffMs: 10, maxBackoffMs: 50, requestTimeoutMs: 5_000 };
const NEW_SECRET = 'test-only-rotated-agent-host-secret-abcdef0123456789';

describe('the outbox when the receiver refuses for a while (a secret rotation, a deploy)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('keeps a line the Worker refuses with 401 during a secret rotation, and delivers it once the agent-host has the new secret', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // The Worker already has the new secret; the agent-host still signs with the old one.
    const worker = await startReceiver({ secret: NEW_SECRET });
    onTestFinished(worker.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);

    const before = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast });
    await before.enqueue(worker.url, 'session-1:line-1', { text: 'a line said during the rotation' });
    await expect.poll(() => worker.badSignatures, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(before.depth).toBe(1);
    await before.close();

    // The agent-host restarts with the new secret: the same folder, delivered.
    const after = await Outbox.open({ dir: dir.path, secret: NEW_SECRET, ...fast });
    onTestFinished(() => after.close());
    await after.drained();
    expect(worker.accepted.get('session-1:line-1')).toEqual({ text: 'a line said during the rotation' });
    expect(existsSync(join(dir.path, 'dropped'))).toBe(false);
    expect(errors).not.toHaveBeenCalled();
  });

  it('retries 403, 404 and 409 answers until the line is accepted, dropping nothing', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const script = [401, 403, 404, 409, 503, 200];
    const receiver = await startReceiver({ answer: (_key, attempt) => script[attempt - 1] ?? 200 });
    onTestFinished(receiver.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast });
    onTestFinished(() => outbox.close());

    await outbox.enqueue(receiver.url, 'session-2:line-1', { n: 1 });
    await outbox.enqueue(receiver.url, 'session-2:line-2', { n: 2 });
    await outbox.drained();
    expect(receiver.deliveries.filter((d) => d.key === 'session-2:line-1').map((d) => d.status)).toEqual(script);
    expect([...receiver.accepted.keys()]).toEqual(['session-2:line-1', 'session-2:line-2']);
    expect(existsSync(join(dir.path, 'dropped'))).toBe(false);
  });

  it('sets a message aside once refused for longer than it waits, counting from its first refusal across a restart', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const receiver = await startReceiver({ answer: (key) => (key === 'session-3:poison' ? 500 : 200) });
    onTestFinished(receiver.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);

    // The first process sees two refusals (well inside its wait), then stops.
    const first = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast, giveUpAfterMs: 60_000 });
    await first.enqueue(receiver.url, 'session-3:poison', { n: 1 });
    await first.enqueue(receiver.url, 'session-3:next', { n: 2 });
    await expect.poll(() => receiver.deliveries.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await first.close();
    const [stored] = (await readdir(dir.path)).filter((f) => f.endsWith('.json')).sort();
    const { firstRefusedAt } = JSON.parse(await readFile(join(dir.path, stored as string), 'utf8')) as { firstRefusedAt?: string };
    expect(Date.parse(firstRefusedAt ?? '')).toBeLessThanOrEqual(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The next one waits 200 ms, and the first refusal was over 300 ms ago: one more refusal sets it aside.
    const attemptsBefore = receiver.deliveries.length;
    const second = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast, giveUpAfterMs: 200 });
    onTestFinished(() => second.close());
    await second.drained();
    expect(receiver.deliveries.slice(attemptsBefore).map((d) => [d.key, d.status])).toEqual([
      ['session-3:poison', 500],
      ['session-3:next', 200],
    ]);
    const drops = errors.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>).filter((l) => l.msg === 'outbox: message dropped');
    expect(drops).toEqual([
      expect.objectContaining({ level: 'error', outbox: dir.path, idempotencyKey: 'session-3:poison', status: 500, attempts: 1, firstRefusedAt }),
    ]);
    // Kept as enqueued: moved back, it is tried afresh.
    const aside = JSON.parse(await readFile(join(dir.path, 'dropped', stored as string), 'utf8')) as Record<string, unknown>;
    expect(aside).not.toHaveProperty('firstRefusedAt');
  });

  it('never gives up while nothing answers at all', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const gone = await startReceiver();
    await gone.close();
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, ...fast, giveUpAfterMs: 50 });
    onTestFinished(() => outbox.close());

    await outbox.enqueue(gone.url, 'session-4:line-1', { n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(outbox.depth).toBe(1);
    const receiver = await startReceiver({ port: gone.port });
    onTestFinished(receiver.close);
    await outbox.drained();
    expect([...receiver.accepted.keys()]).toEqual(['session-4:line-1']);
    expect(existsSync(join(dir.path, 'dropped'))).toBe(false);
  });
});
