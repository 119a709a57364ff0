/** Starts an agent-host entry point from the repository's TypeScript source, as the tests and benches do. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `node --import tsx <entry>` (`entry` from the repository root; no wrapper process) with `env` over
 * this process's, stdout and stderr piped, in its own process group: a signal to the group reaches
 * the processes it starts too.
 */
export function spawnSource(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}
