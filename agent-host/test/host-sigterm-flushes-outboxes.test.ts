import { readdir } from 'node:fs/promises';
import type { LivekitServer } from '../../scripts/livekit.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { TEST_SECRET, type Receiver, startReceiver, tempDir } from './skool/helpers';
import { HostProcess, hostEnv, leaveInOutbox, startTestLivekit, until } from './helpers';

const PORT = 18792;
const KEYS = ['run-1:final', 'session-a:line-1', 'session-a:line-2', 'session-b:summary'];

async function pendingFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.json') && !entry.parentPath.includes('dropped')) found.push(entry.name);
  }
  return found;
}

describe('SIGTERM with messages still in the outboxes', () => {
  let livekit: LivekitServer;
  let receiver: Receiver;
  let dir: { path: string; remove: () => Promise<void> };
  let host: HostProcess;
  // The Worker is down until the test says otherwise.
  let workerUp = false;

  beforeAll(async () => {
    [livekit, receiver, dir] = await Promise.all([startTestLivekit(), startReceiver({ answer: () => (workerUp ? 200 : 503) }), tempDir('host-sigterm')]);
    await leaveInOutbox(`${dir.path}/skool`, receiver.url, ['run-1:final']);
    await leaveInOutbox(`${dir.path}/agent/session-a`, receiver.url, ['session-a:line-1', 'session-a:line-2']);
    await leaveInOutbox(`${dir.path}/agent/session-b`, receiver.url, ['session-b:summary']);
    host = HostProcess.start({
      ...hostEnv({ livekitUrl: livekit.url, port: PORT, agentOutboxDir: `${dir.path}/agent`, skoolOutboxDir: `${dir.path}/skool` }),
      AGENT_HOST_FLUSH_MS: '60000',
    });
    await until('a healthy agent-host', async () => (await host.health())?.status === 200, 60_000, () => host.output.slice(-10));
  });

  afterAll(async () => {
    await host?.kill();
    await Promise.all([livekit?.stop(), receiver?.close()]);
    await dir?.remove();
  });

  it('takes no new sync run, delivers every outbox once the Worker answers, and exits 0', async () => {
    host.signal('SIGTERM');
    const draining = await until('/health to say draining', async () => {
      const h = await host.health();
      return h?.body.draining ? h : false;
    });
    // No session was live: the worker has let go; the outboxes are still trying.
    expect(draining.body).toMatchObject({ draining: true, sync: { up: true }, outboxDepth: 4 });

    const body = JSON.stringify({ runId: 'run-2', trigger: 'cron', resultUrl: receiver.url });
    const start = await fetch(`${host.url}/skool-sync/start`, { method: 'POST', headers: await signedHeaders(TEST_SECRET, body, 'run-2'), body });
    expect(start.status).toBe(503);
    expect(await start.json()).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });

    workerUp = true;
    await expect(host.exited).resolves.toBe(0);
    expect([...receiver.accepted.keys()].sort()).toEqual([...KEYS].sort());
    expect(await pendingFiles(dir.path)).toEqual([]);
    expect(host.logged('agent-host: stopped')).toMatchObject([{ level: 'info', drained: true, outboxLeft: 0 }]);
  });
});
