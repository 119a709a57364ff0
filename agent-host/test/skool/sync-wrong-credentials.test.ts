import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { REPLICA_CREDENTIALS } from '../../dev/skool-replica/server';
import { replicaForTest, syncReplica } from './helpers';

describe('a sync whose Skool credentials are refused', () => {
  it('sends only a failed final message that says the login failed, and no member chunks', async () => {
    // Someone changed the Skool password; the agent-host still has the old one.
    const replica = await replicaForTest({ password: 'the-password-changed-yesterday' });
    const { rig, final } = await syncReplica(replica, { runId: 'run-wrong-credentials', trigger: 'cron' }, { password: REPLICA_CREDENTIALS.password });
    const { receiver } = rig;

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
