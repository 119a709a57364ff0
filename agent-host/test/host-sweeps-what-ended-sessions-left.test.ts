import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hostRigForTests, leaveInOutbox, until } from './helpers';

const PORT = 18794;
const KEYS = ['session-a:line-1', 'session-a:summary', 'session-b:line-1'];

describe('lines an ended session left behind (the Worker was down as it ended)', () => {
  let workerUp = false;
  const rig = hostRigForTests({
    name: 'host-sweep',
    port: PORT,
    answer: () => (workerUp ? 200 : 503),
    env: { AGENT_HOST_SWEEP_MS: '1000' },
    prepare: async (dir, url) => {
      await leaveInOutbox(`${dir}/agent/session-a`, url, ['session-a:line-1', 'session-a:summary']);
      await leaveInOutbox(`${dir}/agent/session-b`, url, ['session-b:line-1']);
    },
  });

  it('are delivered while the host runs, once the Worker answers: not only at the next shutdown', async () => {
    const { host, receiver, dir } = rig;
    // Tried (the Worker is down), kept.
    await until('a delivery attempt', () => receiver.deliveries.length > 0);
    expect(receiver.accepted.size).toBe(0);
    expect((await host.health())?.body).toMatchObject({ outbox: { sessions: 3 } });

    workerUp = true;
    await until(
      'every line delivered',
      () => receiver.accepted.size === KEYS.length,
      30_000,
      () => [...receiver.accepted.keys()],
    );
    expect([...receiver.accepted.keys()].sort()).toEqual([...KEYS].sort());
    for (const session of ['session-a', 'session-b']) {
      expect(
        (await readdir(`${dir.path}/agent/${session}`)).filter((n) => n.endsWith('.json')),
        session,
      ).toEqual([]);
    }
    // Still running, and still healthy.
    expect((await host.health())?.body).toMatchObject({ ok: true, outbox: { sessions: 0 } });
  });
});
