/**
 * Runs the Skool sync side of the agent-host on its own: `npx tsx agent-host/src/skool/main.ts`.
 * Configuration comes from the environment (see config.ts); against the local replica, run
 * `npx tsx agent-host/dev/skool-replica/main.ts` and export the SKOOL_* lines it prints.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { startSkoolSyncHost } from './server';

try {
  const host = await startSkoolSyncHost(process.env);
  const stop = (signal: string) => {
    log('info', 'agent-host: stopping; undelivered messages stay in the outbox', { signal, outboxDepth: host.outbox.depth, syncRunning: host.sync.running() });
    void host.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  // The message names what is wrong (a missing variable, a port in use); the stack adds nothing.
  log('error', 'agent-host: could not start the Skool sync', { error: describeError(err).errorMessage });
  process.exit(1);
}
