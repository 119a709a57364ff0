/**
 * The agent-host in production (the Docker image's command): the AI coach's agent worker and the
 * Skool sync in one process (host.ts). Compiled (scripts/build-agent-host.mjs): `node agent-host/dist/main.js`;
 * from the sources, `node --import tsx agent-host/src/main.ts`.
 *
 * Configuration, each part one zod schema read once at start (lib/env.ts): agent/config.ts (LIVEKIT_*,
 * API_URL, AGENT_HOST_SECRET, AI_PROVIDERS and the provider keys, AGENT_OUTBOX_DIR), agent/main.ts (AGENT_IDLE_PROCESSES), skool/config.ts (SKOOL_*, AGENT_HOST_PORT, AGENT_HOST_OUTBOX_DIR,
 * CHROMIUM_PATH, SKOOL_CHROMIUM_SANDBOX), host.ts (AGENT_HOST_DRAIN_MS, AGENT_HOST_FLUSH_MS,
 * AGENT_HOST_SWEEP_MS, AGENT_HOST_DROPPED_RETENTION_DAYS). deploy/agent-host.env.example lists them all.
 *
 * SIGTERM (or SIGINT): no new sessions or sync runs; live sessions finish within AGENT_HOST_DRAIN_MS;
 * the outboxes deliver what they hold within AGENT_HOST_FLUSH_MS; then exit 0. A second signal exits
 * at once (1). If the agent worker gives up on livekit-server, the process shuts down and exits 1, so
 * its supervisor restarts it.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { startAgentHost } from './host';

try {
  const host = await startAgentHost(process.env);
  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) {
      log('warn', 'agent-host: second signal; exiting without waiting', { reason });
      process.exit(1);
    }
    stopping = true;
    host.shutdown(reason).then(
      () => process.exit(code),
      (err: unknown) => {
        log('error', 'agent-host: shutdown failed', describeError(err));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('SIGINT', () => stop('SIGINT', 0));
  host.agentStopped.catch(() => {
    if (!stopping) stop('the agent worker stopped', 1);
  });
} catch (err) {
  // The message names what is wrong (a missing variable, a port in use); the stack adds nothing.
  log('error', 'agent-host: could not start', { error: describeError(err).errorMessage });
  process.exit(1);
}
