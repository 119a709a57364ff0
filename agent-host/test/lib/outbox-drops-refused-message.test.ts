import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Outbox } from '../../src/lib/outbox';
import { startReceiver, TEST_SECRET, tempDir } from '../skool/helpers';

describe('the outbox when the receiver refuses a message for good', () => {
  afterEach(() => vi.restoreAllMocks());

  it('logs and drops a message answered 400 or 422, never logging what it held, and carries on with the next', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const refusals: Record<string, number> = { 'run-3:bad': 400, 'run-3:unprocessable': 422 };
    const receiver = await startReceiver({ answer: (key) => refusals[key] ?? 200 });
    onTestFinished(receiver.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, baseBackoffMs: 20, maxBackoffMs: 200 });
    onTestFinished(() => outbox.close());

    await outbox.enqueue(receiver.url, 'run-3:bad', { text: 'words only the transcript may hold' });
    await outbox.enqueue(receiver.url, 'run-3:unprocessable', { text: 'words only the transcript may hold' });
    await outbox.enqueue(receiver.url, 'run-3:good', { fine: true });
    await outbox.drained();

    // One attempt each: the receiver will never take them as they are.
    expect(receiver.deliveries.filter((d) => d.key !== 'run-3:good').map((d) => [d.key, d.status])).toEqual([
      ['run-3:bad', 400],
      ['run-3:unprocessable', 422],
    ]);
    expect([...receiver.accepted.keys()]).toEqual(['run-3:good']);
    const output = errors.mock.calls.map((args) => String(args[0]));
    const logged = output.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const [key, status] of Object.entries(refusals)) {
      expect(logged).toContainEqual(
        expect.objectContaining({ level: 'error', msg: 'outbox: message dropped', outbox: dir.path, idempotencyKey: key, status, attempts: 1 }),
      );
    }
    expect(output.join('\n')).not.toContain('words only the transcript may hold');
    // Out of the queue, kept aside (as enqueued) for a person to look at; never replayed by itself.
    expect((await readdir(dir.path)).filter((f) => f.endsWith('.json'))).toEqual([]);
    const aside = await readdir(join(dir.path, 'dropped'));
    expect(aside).toHaveLength(2);
    const kept = JSON.parse(await readFile(join(dir.path, 'dropped', aside[0] as string), 'utf8')) as Record<string, unknown>;
    expect(kept).toMatchObject({ idempotencyKey: 'run-3:bad', body: JSON.stringify({ text: 'words only the transcript may hold' }) });
    expect(outbox.depth).toBe(0);
  });

  it('keeps retrying 408, 429 and 5xx answers', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const script = [408, 429, 500, 502, 200];
    const receiver = await startReceiver({ answer: (_key, attempt) => script[attempt - 1] ?? 200 });
    onTestFinished(receiver.close);
    const dir = await tempDir('outbox');
    onTestFinished(dir.remove);
    const outbox = await Outbox.open({ dir: dir.path, secret: TEST_SECRET, baseBackoffMs: 10, maxBackoffMs: 50 });
    onTestFinished(() => outbox.close());

    await outbox.enqueue(receiver.url, 'run-4:final', { ok: true });
    await outbox.drained();
    expect(receiver.deliveries.map((d) => d.status)).toEqual(script);
    expect(receiver.acceptedCount('run-4:final')).toBe(1);
  });
});
