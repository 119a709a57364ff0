import { describe, expect, it, onTestFinished } from 'vitest';
import { scrapeSkool } from '../../src/skool/scraper';
import { diagnosticsKept, replicaForTest, replicaScraperConfig, tempDir } from './helpers';

describe('the scraper on a slow Skool', () => {
  it('waits out a list page that loads slower than an idle scroll instead of stopping early', async () => {
    // Each list fetch takes 4× the idle-scroll wait (800 vs 200 ms): only the spinner says more is coming.
    const replica = await replicaForTest({ counts: { ultra: 35, vagus: 65 }, delayMs: 800 });
    const diagnostics = await tempDir('diagnostics');
    onTestFinished(diagnostics.remove);

    const result = await scrapeSkool(replicaScraperConfig(replica, diagnostics.path, { timeouts: { idleScrollMs: 200, loadingMs: 10_000 } }));

    expect(result.communities.ultra).toEqual({ ok: true, members: replica.expectedMembers('ultra') });
    expect(result.communities.vagus).toEqual({ ok: true, members: replica.expectedMembers('vagus') });
  });

  it('fails with the step named, and its page kept, when a page is slower than its timeout', async () => {
    const replica = await replicaForTest({ counts: { ultra: 10, vagus: 10 }, delayMs: 1_500 });
    const diagnostics = await tempDir('diagnostics');
    onTestFinished(diagnostics.remove);

    const result = await scrapeSkool(replicaScraperConfig(replica, diagnostics.path, { timeouts: { navigationMs: 1_000 } }));

    const error = expect.stringMatching(/^Skool login failed at step "open login page": Navigation timeout of 1000 ms exceeded/);
    expect(result.communities).toEqual({ ultra: { ok: false, error }, vagus: { ok: false, error } });
    expect(await diagnosticsKept(diagnostics.path, 'login-open-login-page')).toEqual(['html', 'png']);
  });
});
