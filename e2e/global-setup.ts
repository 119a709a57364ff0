/**
 * Vitest globalSetup for the end-to-end suite (runs once, in Node): the real stack of e2e/stack.ts
 * (livekit-server + Mailpit + the Worker over HTTP on a fresh migrated and seeded local D1), on ports apart from
 * `npm run dev` (7880/8787) and the workerd tests (7980). Everything is stopped when the run ends.
 */
import type { TestProject } from 'vitest/node';
import { freePort } from '../agent-host/src/lib/free-port';
import { buildAgentHost } from '../scripts/build-agent-host.mjs';
import { type Stack, startStack } from './stack';

/** Tried in order; HC_E2E_WORKER_PORT / HC_E2E_LIVEKIT_PORT pin one. LiveKit also takes port+1 (tcp) and port+2 (udp). */
const WORKER_PORTS = [8797, 8807, 8817];
const LIVEKIT_PORTS = [7960, 7970, 7940];

/** What the tests get of the stack (described on `Stack`). */
const FROM_STACK = [
  'apiOrigin',
  'livekitUrl',
  'livekitHttpUrl',
  'livekitApiKey',
  'livekitApiSecret',
  'mailpitUrl',
  'demoPassword',
  'agentHostSecret',
  'persistDir',
  'logDirs',
] as const satisfies readonly (keyof Stack)[];

declare module 'vitest' {
  export interface ProvidedContext extends Pick<Stack, (typeof FROM_STACK)[number]> {
    /** The port the Worker expects the agent-host on (the Skool sync test starts it there). */
    agentHostPort: number;
    /**
     * Where the portal tests serve the public site, the client portal and the coach portal (free ports
     * picked here, so a running `npm run dev` on 5170-5172 is no obstacle): the Worker allows these
     * origins and sends each role to its portal after login.
     */
    portalUrls: { public: string; client: string; coach: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  // The agent worker the voice tests start is the compiled one, as in the image (e2e/voice.ts AgentProcess).
  await buildAgentHost();
  const agentHostPort = await freePort();
  const portalUrls = {
    public: `http://127.0.0.1:${await freePort()}`,
    client: `http://127.0.0.1:${await freePort()}`,
    coach: `http://127.0.0.1:${await freePort()}`,
  };
  const stack = await startStack({
    label: 'e2e',
    envPrefix: 'HC_E2E',
    workerPorts: WORKER_PORTS,
    livekitPorts: LIVEKIT_PORTS,
    agentHostUrl: `http://127.0.0.1:${agentHostPort}`,
    portalUrls,
  });
  for (const key of FROM_STACK) project.provide(key, stack[key]);
  project.provide('agentHostPort', agentHostPort);
  project.provide('portalUrls', portalUrls);
  console.log(
    `e2e: Worker ${stack.apiOrigin} (D1 in ${stack.persistDir}), livekit-server ${stack.livekitUrl}, Mailpit ${stack.mailpitUrl}; ready in ${Date.now() - startedAt} ms`,
  );
  return stack.stop;
}
