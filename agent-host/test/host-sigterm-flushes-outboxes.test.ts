import { readdir } from 'node:fs/promises';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { describe, expect, it } from 'vitest';
import { hostRigForTests, leaveInOutbox, until } from './helpers';
import { TEST_SECRET } from './skool/helpers';

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
  // The Worker is down until the test says otherwise.
  let workerUp = false;
  const rig = hostRigForTests({
    name: 'host-sigterm',
    port: PORT,
    answer: () => (workerUp ? 200 : 503),
    env: { AGENT_HOST_FLUSH_MS: '60000' },
    prepare: async (dir, url) => {
      await leaveInOutbox(`${dir}/skool`, url, ['run-1:final']);
      await leaveInOutbox(`${dir}/agent/session-a`, url, ['session-a:line-1', 'session-a:line-2']);
      await leaveInOutbox(`${dir}/agent/session-b`, url, ['session-b:summary']);
    },
  });

  it('takes no new sync run, delivers every outbox once the Worker answers, and exits 0', async () => {
    const { host, receiver, dir } = rig;
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
