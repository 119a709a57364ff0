import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startReplica } from '../../dev/skool-replica/server';
import { scrapeSkool } from '../../src/skool/scraper';
import { replicaScraperConfig, tempDir } from './helpers';

describe('the scraper on a slow Skool', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('waits out a list page that loads slower than an idle scroll instead of stopping early', async () => {
    // Each list fetch takes 4× the idle-scroll wait (800 vs 200 ms): only the spinner says more is coming.
    const replica = await startReplica({ counts: { ultra: 35, vagus: 65 }, delayMs: 800 });
    cleanups.push(replica.close);
    const diagnostics = await tempDir('diagnostics');
    cleanups.push(diagnostics.remove);

    const result = await scrapeSkool(replicaScraperConfig(replica, diagnostics.path, { timeouts: { idleScrollMs: 200, loadingMs: 10_000 } }));

    expect(result.communities.ultra).toEqual({ ok: true, members: replica.expectedMembers('ultra') });
    expect(result.communities.vagus).toEqual({ ok: true, members: replica.expectedMembers('vagus') });
  });

  it('fails with the step named, and its page kept, when a page is slower than its timeout', async () => {
    const replica = await startReplica({ counts: { ultra: 10, vagus: 10 }, delayMs: 1_500 });
    cleanups.push(replica.close);
    const diagnostics = await tempDir('diagnostics');
    cleanups.push(diagnostics.remove);

    const result = await scrapeSkool(replicaScraperConfig(replica, diagnostics.path, { timeouts: { navigationMs: 1_000 } }));

    const error = expect.stringMatching(/^Skool login failed at step "open login page": Navigation timeout of 1000 ms exceeded/);
    expect(result.communities).toEqual({ ultra: { ok: false, error }, vagus: { ok: false, error } });
    const files = await readdir(diagnostics.path);
    expect(
      files
        .filter((f) => f.includes('login-open-login-page'))
        .map((f) => f.split('.').pop())
        .sort(),
    ).toEqual(['html', 'png']);
  });
});
