/** The agent-host's Skool sync for e2e tests that drive a sync: the real server, scraping a local Skool replica. */
import { join } from 'node:path';
import { inject } from 'vitest';
import type { SkoolReplica } from '../agent-host/dev/skool-replica/server';
import type { ScrapeTimeouts } from '../agent-host/src/skool/scraper';
import { type SkoolSyncHost, startSkoolSyncHost } from '../agent-host/src/skool/server';

/**
 * The agent-host's Skool sync (the real server, in this process) on the stack's agent-host port, scraping
 * `replica` in Chromium; its outbox and diagnostics in `scratch`. `timeouts` on top of the scraper's own.
 */
export function startSyncHost(replica: SkoolReplica, scratch: string, timeouts: Partial<ScrapeTimeouts> = {}): Promise<SkoolSyncHost> {
  return startSkoolSyncHost(
    {
      AGENT_HOST_SECRET: inject('agentHostSecret'),
      AGENT_HOST_PORT: String(inject('agentHostPort')),
      AGENT_HOST_OUTBOX_DIR: join(scratch, 'outbox'),
      SKOOL_DIAGNOSTICS_DIR: join(scratch, 'diagnostics'),
      SKOOL_EMAIL: replica.credentials.email,
      SKOOL_PASSWORD: replica.credentials.password,
      SKOOL_BASE_URL: replica.url,
      SKOOL_ULTRA_URL: replica.membersUrl('ultra'),
      SKOOL_VAGUS_URL: replica.membersUrl('vagus'),
    },
    { host: '127.0.0.1', timeouts },
  );
}
