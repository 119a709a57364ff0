import { ensureLivekitServer, startLivekitServer } from '../../scripts/livekit.mjs';

/**
 * Vitest globalSetup (runs in Node, once per run): a real livekit-server on 127.0.0.1:7980 (RTC tcp 7981,
 * udp 7982; HC_TEST_LIVEKIT_PORT moves all three, as in vitest.config.ts), keys devkey/secret, for the Worker
 * tests; stopped when the run ends. Fails if the port is taken, e.g. by a server an earlier run left behind,
 * rather than testing against it.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const port = Number(process.env.HC_TEST_LIVEKIT_PORT ?? 7980);
  await ensureLivekitServer();
  const server = await startLivekitServer({ port, rtcTcpPort: port + 1, udpPort: port + 2 });
  return () => server.stop();
}
