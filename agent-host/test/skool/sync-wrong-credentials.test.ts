import { readdir } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { REPLICA_CREDENTIALS, startReplica } from '../../dev/skool-replica/server';
import { scrapeSkool } from '../../src/skool/scraper';
import { runSkoolSync } from '../../src/skool/sync';
import { openSyncRig, replicaScraperConfig } from './helpers';

describe('a sync whose Skool credentials are refused', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('sends only a failed final message that says the login failed, and no member chunks', async () => {
    // Someone changed the Skool password; the agent-host still has the old one.
    const replica = await startReplica({ password: 'the-password-changed-yesterday' });
    cleanups.push(replica.close);
    const rig = await openSyncRig();
    cleanups.push(rig.close);
    const { receiver, outbox } = rig;

    const final = await runSkoolSync(
      { runId: 'run-wrong-credentials', trigger: 'cron', resultUrl: receiver.url },
      { outbox, scrape: () => scrapeSkool(replicaScraperConfig(replica, rig.diagnosticsDir, { password: REPLICA_CREDENTIALS.password })) },
    );
    await outbox.drained();

    expect(replica.stats).toMatchObject({ logins: 0, failedLogins: 1, listFetches: 0 });
    expect([...receiver.accepted.keys()]).toEqual(['run-wrong-credentials:final']);
    expect(receiver.members()).toEqual([]);
    const delivered = receiver.final();
    expect(delivered).toEqual(final);
    expect(delivered).toMatchObject({
      runId: 'run-wrong-credentials',
      kind: 'final',
      ok: false,
      error: 'Skool login failed: The email or password you entered is incorrect.',
      communities: {
        ultra: { ok: false, membersFound: 0, error: 'Skool login failed: The email or password you entered is incorrect.' },
        vagus: { ok: false, membersFound: 0, error: 'Skool login failed: The email or password you entered is incorrect.' },
      },
    });
    expect(delivered?.durationMs).toBeGreaterThan(0);
    // The refused login page is kept for diagnosis.
    const files = await readdir(rig.diagnosticsDir);
    expect(files.some((f) => /login-submit-login\.png$/.test(f))).toBe(true);
    expect(files.some((f) => /login-submit-login\.html$/.test(f))).toBe(true);
  });
});
