import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HostProcess, type HostRig, leaveInOutbox, startHostRig } from './helpers';
import type { Receiver } from './skool/helpers';

const PORT = 18793;

describe('SIGTERM while the Worker stays down', () => {
  let rig: HostRig;
  let receiver: Receiver;
  let dir: HostRig['dir'];
  let host: HostProcess;

  beforeAll(async () => {
    rig = await startHostRig({
      name: 'host-keeps',
      port: PORT,
      answer: () => 503,
      env: { AGENT_HOST_FLUSH_MS: '3000' },
      prepare: (dir, url) => leaveInOutbox(`${dir}/agent/session-a`, url, ['session-a:line-1', 'session-a:line-2']),
    });
    ({ receiver, dir, host } = rig);
  });

  afterAll(() => rig?.close());

  it('gives the outboxes their flush time, keeps what is undelivered on disk for the next start, and exits 0', async () => {
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
