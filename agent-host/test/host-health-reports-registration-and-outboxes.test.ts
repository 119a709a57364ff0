import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { hostRigForTests, leaveDropped, leaveInOutbox, processTree, startTestLivekit, until } from './helpers';

const PORT = 18791;
const DAY = 24 * 60 * 60_000;

describe('GET /health of the whole agent-host (agent worker and Skool sync in one process)', () => {
  const rig = hostRigForTests({
    name: 'host-health',
    port: PORT,
    answer: () => 503,
    waitHealthy: false,
    // Its own port: the test stops livekit-server and starts it again there, and a file running beside
    // it would otherwise be free to take the port in between.
    livekitPorts: [7993],
    prepare: async (dir, url) => {
      // What the Worker refused, set aside yesterday (counted) or 40 days ago (past the 30-day retention);
      // first, as an outbox opened on a folder sends what waits there.
      await leaveDropped(`${dir}/skool`, url, ['run-0:final'], DAY);
      await leaveDropped(`${dir}/skool`, url, ['run-old:final'], 40 * DAY);
      await leaveDropped(`${dir}/agent/session-a`, url, ['session-a:line-0'], DAY);
      await leaveDropped(`${dir}/agent/session-old`, url, ['session-old:line-1'], 40 * DAY);
      // And what an earlier run left undelivered: a Skool sync message, and two lines of one session.
      await leaveInOutbox(`${dir}/skool`, url, ['run-1:final']);
      await leaveInOutbox(`${dir}/agent/session-a`, url, ['session-a:line-1', 'session-a:line-2']);
    },
  });

  it('reports the worker registered with livekit-server, the sync server up, every outbox depth and what was dropped within the retention', async () => {
    const { host, dir } = rig;
    const healthy = await until(
      'a healthy agent-host',
      async () => ((await host.health())?.status === 200 ? host.health() : false),
      60_000,
      () => host.output.slice(-10),
    );
    expect(healthy).toEqual({
      status: 200,
      body: {
        ok: true,
        draining: false,
        agent: { registered: true, status: 'OK', activeJobs: 0 },
        sync: { up: true, running: null },
        outbox: { skool: 1, sessions: 2 },
        outboxDepth: 3,
        syncRunning: false,
        dropped: { skool: 1, sessions: 1 },
        outboxDropped: 2,
      },
    });
    // The start's retention sweep deleted what was set aside 40 days ago.
    expect(await readdir(`${dir.path}/agent/session-old/dropped`)).toEqual([]);
  });

  it('starts no inference process beside the worker: the agent detects turns with the VAD, never with agents-js’s local end-of-turn model', async () => {
    const { host } = rig;
    await until('a healthy agent-host', async () => (await host.health())?.status === 200, 60_000);
    // agents-js starts that process before it registers the worker, so once registered, none means none.
    expect(processTree(host.pid as number).filter((p) => p.includes('inference_proc'))).toEqual([]);
  });

  it('answers 503 while the worker is not registered, and 200 again once it is', async () => {
    const { host } = rig;
    await rig.livekit.stop();
    const down = await until('the worker to lose livekit-server', async () => {
      const h = await host.health();
      return h?.status === 503 ? h : false;
    });
    expect(down.body).toMatchObject({ ok: false, agent: { registered: false }, sync: { up: true } });

    // The same server back on the same port: the worker registers again by itself.
    const port = Number(new URL(rig.livekit.url).port);
    rig.livekit = await startTestLivekit([port]);
    const up = await until(
      'the worker to register again',
      async () => {
        const h = await host.health();
        return h?.status === 200 ? h : false;
      },
      60_000,
    );
    expect(up.body).toMatchObject({ ok: true, agent: { registered: true } });
  });
});
