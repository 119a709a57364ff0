import { readdir } from 'node:fs/promises';
import type { LivekitServer } from '../../scripts/livekit.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver, tempDir } from './skool/helpers';
import { HostProcess, hostEnv, leaveInOutbox, startTestLivekit, until } from './helpers';

const PORT = 18794;
const KEYS = ['session-a:line-1', 'session-a:summary', 'session-b:line-1'];

describe('lines an ended session left behind (the Worker was down as it ended)', () => {
  let livekit: LivekitServer;
  let receiver: Receiver;
  let dir: { path: string; remove: () => Promise<void> };
  let host: HostProcess;
  let workerUp = false;

  beforeAll(async () => {
    [livekit, receiver, dir] = await Promise.all([startTestLivekit(), startReceiver({ answer: () => (workerUp ? 200 : 503) }), tempDir('host-sweep')]);
    await leaveInOutbox(`${dir.path}/agent/session-a`, receiver.url, ['session-a:line-1', 'session-a:summary']);
    await leaveInOutbox(`${dir.path}/agent/session-b`, receiver.url, ['session-b:line-1']);
    host = HostProcess.start({
      ...hostEnv({ livekitUrl: livekit.url, port: PORT, agentOutboxDir: `${dir.path}/agent`, skoolOutboxDir: `${dir.path}/skool` }),
      AGENT_HOST_SWEEP_MS: '1000',
    });
    await until('a healthy agent-host', async () => (await host.health())?.status === 200, 60_000, () => host.output.slice(-10));
  });

  afterAll(async () => {
    await host?.kill();
    await Promise.all([livekit?.stop(), receiver?.close()]);
    await dir?.remove();
  });

  it('are delivered while the host runs, once the Worker answers: not only at the next shutdown', async () => {
    // Tried (the Worker is down), kept.
    await until('a delivery attempt', () => receiver.deliveries.length > 0);
    expect(receiver.accepted.size).toBe(0);
    expect((await host.health())?.body).toMatchObject({ outbox: { sessions: 3 } });

    workerUp = true;
    await until('every line delivered', () => receiver.accepted.size === KEYS.length, 30_000, () => [...receiver.accepted.keys()]);
    expect([...receiver.accepted.keys()].sort()).toEqual([...KEYS].sort());
    for (const session of ['session-a', 'session-b']) {
      expect((await readdir(`${dir.path}/agent/${session}`)).filter((n) => n.endsWith('.json')), session).toEqual([]);
    }
    // Still running, and still healthy.
    expect((await host.health())?.body).toMatchObject({ ok: true, outbox: { sessions: 0 } });
  });
});
