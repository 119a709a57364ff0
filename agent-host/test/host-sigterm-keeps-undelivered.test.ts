import { readdir } from 'node:fs/promises';
import type { LivekitServer } from '../../scripts/livekit.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver, tempDir } from './skool/helpers';
import { HostProcess, hostEnv, leaveInOutbox, startTestLivekit, until } from './helpers';

const PORT = 18793;

describe('SIGTERM while the Worker stays down', () => {
  let livekit: LivekitServer;
  let receiver: Receiver;
  let dir: { path: string; remove: () => Promise<void> };
  let host: HostProcess;

  beforeAll(async () => {
    [livekit, receiver, dir] = await Promise.all([startTestLivekit(), startReceiver({ answer: () => 503 }), tempDir('host-keeps')]);
    await leaveInOutbox(`${dir.path}/agent/session-a`, receiver.url, ['session-a:line-1', 'session-a:line-2']);
    host = HostProcess.start({
      ...hostEnv({ livekitUrl: livekit.url, port: PORT, agentOutboxDir: `${dir.path}/agent`, skoolOutboxDir: `${dir.path}/skool` }),
      AGENT_HOST_FLUSH_MS: '3000',
    });
    await until('a healthy agent-host', async () => (await host.health())?.status === 200, 60_000, () => host.output.slice(-10));
  });

  afterAll(async () => {
    await host?.kill();
    await Promise.all([livekit?.stop(), receiver?.close()]);
    await dir?.remove();
  });

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
