import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/lib/outbox';
import { runSkoolSync } from '../../src/skool/sync';
import { TEST_SECRET, startReceiver, tempDir } from './helpers';

describe('a sync whose scrape failed with a very long error (a browser that printed pages of stderr)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('sends errors the Worker accepts (at most 2,000 characters each), so the final message is not refused for good', async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const outboxDir = await tempDir('outbox');
    cleanups.push(outboxDir.remove);
    const outbox = await Outbox.open({ dir: outboxDir.path, secret: TEST_SECRET });
    cleanups.push(() => outbox.close());

    const long = (community: string) => `${community}: Chromium failed to start: ${'stderr line\n'.repeat(400)}`;
    await runSkoolSync(
      { runId: 'run-long', trigger: 'cron', resultUrl: receiver.url },
      { outbox, scrape: async () => ({ communities: { ultra: { ok: false, error: long('ultra') }, vagus: { ok: false, error: long('vagus') } } }) },
    );
    await outbox.drained();

    const final = receiver.final();
    expect(final).toMatchObject({ ok: false, error: expect.stringMatching(/^ultra: ultra: Chromium failed to start/) });
    for (const error of [final?.error, final?.communities.ultra.error, final?.communities.vagus.error]) {
      expect(error?.length).toBeLessThanOrEqual(2000);
      expect(error?.endsWith('…')).toBe(true);
    }
  });
});
