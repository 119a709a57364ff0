import { describe, expect, it } from 'vitest';
import { replicaForTest, syncReplica } from './helpers';

describe('a sync when Skool shows a short members list', () => {
  it('delivers the short list as it is, with its real counts (the Worker decides about downgrades)', async () => {
    const replica = await replicaForTest({ servedFraction: { vagus: 0.3 } });
    const { receiver } = (await syncReplica(replica, { runId: 'run-short', trigger: 'admin' })).rig;

    const shortCount = Math.ceil(560 * 0.3);
    expect(replica.served('vagus')).toHaveLength(shortCount);
    expect([...receiver.accepted.keys()]).toEqual(['run-short:ultra:0', 'run-short:vagus:0', 'run-short:final']);
    const [ultra, vagus] = receiver.members();
    expect(ultra).toMatchObject({ community: 'ultra', chunk: { index: 0, count: 1 } });
    expect(ultra?.members).toEqual(replica.expectedMembers('ultra'));
    expect(vagus).toMatchObject({ community: 'vagus', chunk: { index: 0, count: 1 } });
    expect(vagus?.members).toHaveLength(shortCount);
    expect(vagus?.members).toEqual(replica.expectedMembers('vagus'));
    expect(receiver.final()).toMatchObject({
      ok: true,
      error: null,
      communities: { ultra: { ok: true, membersFound: 140, error: null }, vagus: { ok: true, membersFound: shortCount, error: null } },
    });
  });
});
