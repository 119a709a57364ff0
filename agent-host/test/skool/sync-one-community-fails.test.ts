import { describe, expect, it } from 'vitest';
import { diagnosticsKept, replicaForTest, syncReplica } from './helpers';

describe('a sync in which one community cannot be scraped', () => {
  it('still delivers the other community in 500-member chunks, names the failed step and keeps its page', async () => {
    const replica = await replicaForTest({ brokenCommunities: ['ultra'] });
    const { rig } = await syncReplica(replica, { runId: 'run-half', trigger: 'cron' });
    const { receiver } = rig;

    // No chunk for ultra; vagus's 560 members in two chunks, then the final message.
    expect([...receiver.accepted.keys()]).toEqual(['run-half:vagus:0', 'run-half:vagus:1', 'run-half:final']);
    const chunks = receiver.members();
    expect(chunks.map((c) => [c.community, c.chunk, c.members.length])).toEqual([
      ['vagus', { index: 0, count: 2 }, 500],
      ['vagus', { index: 1, count: 2 }, 60],
    ]);
    expect(chunks.flatMap((c) => c.members)).toEqual(replica.expectedMembers('vagus'));

    const final = receiver.final();
    const ultraError = `Skool scrape of ultra failed at step "open members page": HTTP 500 at ${replica.membersUrl('ultra')}`;
    expect(final).toMatchObject({
      ok: false,
      error: `ultra: ${ultraError}`,
      communities: { ultra: { ok: false, membersFound: 0, error: ultraError }, vagus: { ok: true, membersFound: 560, error: null } },
    });

    expect(await diagnosticsKept(rig.diagnosticsDir, 'ultra-open-members-page')).toEqual(['html', 'png']);
  });
});
