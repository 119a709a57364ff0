import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hostRigForTests, leaveInOutbox } from './helpers';

const PORT = 18793;

describe('SIGTERM while the Worker stays down', () => {
  const rig = hostRigForTests({
    name: 'host-keeps',
    port: PORT,
    answer: () => 503,
    env: { AGENT_HOST_FLUSH_MS: '3000' },
    prepare: (dir, url) => leaveInOutbox(`${dir}/agent/session-a`, url, ['session-a:line-1', 'session-a:line-2']),
  });

  it('gives the outboxes their flush time, keeps what is undelivered on disk for the next start, and exits 0', async () => {
    const { host, receiver, dir } = rig;
    const signalled = Date.now();
    host.signal('SIGTERM');
    await expect(host.exited).resolves.toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(3_000);
    expect(receiver.deliveries.length).toBeGreaterThan(0);
    expect(receiver.accepted.size).toBe(0);
    expect((await readdir(`${dir.path}/agent/session-a`)).filter((n) => n.endsWith('.json'))).toHaveLength(2);
    expect(host.logged('agent-host: stopped')).toMatchObject([{ level: 'warn', drained: true, outboxLeft: 2 }]);
  });
});
