/**
 * Vitest globalSetup for the end-to-end suite (runs once, in Node): the real stack of e2e/stack.ts
 * (livekit-server + the Worker over HTTP on a fresh migrated and seeded local D1), on ports apart from
 * `npm run dev` (7880/8787) and the workerd tests (7980). Everything is stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { startStack } from './stack';

/** Tried in order; HC_E2E_WORKER_PORT / HC_E2E_LIVEKIT_PORT pin one. LiveKit also takes port+1 (tcp) and port+2 (udp). */
const WORKER_PORTS = [8797, 8807, 8817];
const LIVEKIT_PORTS = [7960, 7970, 7940];

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Worker's origin, e.g. http://127.0.0.1:8797 */
    apiOrigin: string;
    /** ws:// of the test livekit-server (also the Worker's LIVEKIT_URL). */
    livekitUrl: string;
    /** http:// of the same server, for RoomServiceClient. */
    livekitHttpUrl: string;
    livekitApiKey: string;
    livekitApiSecret: string;
    demoPassword: string;
    /** The Worker's AGENT_HOST_SECRET for this run: the stand-in agent signs its acknowledgements with it. */
    agentHostSecret: string;
    /** The port the Worker expects the agent-host on (the Skool sync test starts it there). */
    agentHostPort: number;
    /** The Worker's local state directory (query it with queryLocalD1). */
    persistDir: string;
    /**
     * Where the portal tests serve the public site, the client portal and the coach portal (free ports
     * picked here, so a running `npm run dev` on 5170-5172 is no obstacle): the Worker allows these
     * origins and sends each role to its portal after login.
     */
    portalUrls: { public: string; client: string; coach: string };
  }
}

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  const agentHostPort = await freePort();
  const portalUrls = {
    public: `http://127.0.0.1:${await freePort()}`,
    client: `http://127.0.0.1:${await freePort()}`,
    coach: `http://127.0.0.1:${await freePort()}`,
  };
  const stack = await startStack({
    agentHostUrl: `http://127.0.0.1:${agentHostPort}`,
    portalUrls,
    label: 'e2e',
    workerPorts: WORKER_PORTS,
    workerPortEnv: 'HC_E2E_WORKER_PORT',
    livekitPorts: LIVEKIT_PORTS,
    livekitPortEnv: 'HC_E2E_LIVEKIT_PORT',
    keepState: process.env.HC_E2E_KEEP_STATE === '1',
    verbose: process.env.HC_E2E_VERBOSE === '1',
  });
  project.provide('apiOrigin', stack.apiOrigin);
  project.provide('livekitUrl', stack.livekitUrl);
  project.provide('livekitHttpUrl', stack.livekitHttpUrl);
  project.provide('livekitApiKey', stack.livekitApiKey);
  project.provide('livekitApiSecret', stack.livekitApiSecret);
  project.provide('demoPassword', stack.demoPassword);
  project.provide('agentHostSecret', stack.agentHostSecret);
  project.provide('agentHostPort', agentHostPort);
  project.provide('persistDir', stack.persistDir);
  project.provide('portalUrls', portalUrls);
  console.log(
    `e2e: Worker ${stack.apiOrigin} (D1 in ${stack.persistDir}), livekit-server ${stack.livekitUrl}; ready in ${Date.now() - startedAt} ms`,
  );
  return stack.stop;
}
