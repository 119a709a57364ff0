/** Starts an agent-host entry point, from the repository's TypeScript source or from its build, as the tests and benches do. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `entry` under `root`: `node [execArgv] <entry>` with `env` over this process's, piped, in its own process group (a signal to the group reaches the processes it starts too). */
function spawnNode(execArgv: string[], entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [...execArgv, join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

/** `node --import tsx <entry>` (`entry` from the repository root; no wrapper process): development's way, `npm run dev`. */
export function spawnSource(entry: string, env: Record<string, string>): ChildProcess {
  return spawnNode(['--import', 'tsx'], entry, env);
}

/**
 * `node agent-host/dist/<entry>` (`entry` like `agent/main.js`): the compiled agent-host, as the image runs it
 * (scripts/build-agent-host.mjs; e2e/global-setup.ts and the latency bench build it first).
 */
export function spawnCompiled(entry: string, env: Record<string, string>): ChildProcess {
  const path = join('agent-host/dist', entry);
  if (!existsSync(join(ROOT, path))) throw new Error(`${path} is not built: node scripts/build-agent-host.mjs`);
  return spawnNode([], path, env);
}
