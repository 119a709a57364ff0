/**
 * The test servers (scripts/go-tool.mjs startToolProcess, under startLivekitServer and Mailpit) are ready
 * only when their own process answers. Test files run in parallel: two of them once started a
 * livekit-server on the same free port at the same moment, both saw it answer, and the file whose server
 * had failed to bind used the other's, until that file stopped it (a rehearsal that never registered).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ensureLivekitServer, type LivekitServer, startLivekitServer } from '../../scripts/livekit.mjs';

/** A port no other test file asks for. */
const PORT = 7990;

describe('livekit-server started twice on one port at the same moment', () => {
  const started: LivekitServer[] = [];
  afterAll(async () => {
    for (const server of started) await server.stop();
  });

  it('starts one and refuses the other, which does not pass the first one off as its own', async () => {
    await ensureLivekitServer();
    const both = await Promise.allSettled([0, 1].map(() => startLivekitServer({ port: PORT, rtcTcpPort: PORT + 1, udpPort: PORT + 2 })));
    for (const r of both) if (r.status === 'fulfilled') started.push(r.value);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((r) => r.status === 'rejected');
    expect(String(refused?.status === 'rejected' ? refused.reason : '')).toMatch(/exited .* before answering|already running/);
  });
});
