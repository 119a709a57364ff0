import { describe, expect, it } from 'vitest';
import { runSkoolSync } from '../../src/skool/sync';
import { syncRigForTest } from './helpers';

describe('a sync whose scrape failed with a very long error (a browser that printed pages of stderr)', () => {
  it('sends errors the Worker accepts (at most 2,000 characters each), so the final message is not refused for good', async () => {
    const { receiver, outbox } = await syncRigForTest();

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
