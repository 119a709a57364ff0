import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_PROCESS_FLAGS, loadIdleProcesses, withJobProcessFlags } from '../../src/agent/main';

describe('the job processes’ Node flags (memory per room)', () => {
  it('adds them after the loader, once, and keeps a flag the agent-host was started with', () => {
    const argv = withJobProcessFlags(['--import', 'tsx']);
    expect(argv).toEqual(['--import', 'tsx', ...JOB_PROCESS_FLAGS]);
    expect(withJobProcessFlags(argv)).toEqual(argv);
    expect(withJobProcessFlags(['--optimize-for-size=false', '--import', 'tsx'], ['--optimize-for-size'])).toEqual([
      '--optimize-for-size=false',
      '--import',
      'tsx',
    ]);
  });

  it('reach a process forked with them, as agents-js forks a job process (with the parent’s execArgv): a small young generation, no source maps though tsx turns them on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hc-job-flags-'));
    try {
      const child = join(dir, 'child.mjs');
      writeFileSync(
        child,
        "import v8 from 'node:v8'; let keep = []; for (let i = 0; i < 300_000; i++) { keep.push({ i, s: String(i) }); if (keep.length > 20_000) keep = []; } process.send({ sourceMaps: process.sourceMapsEnabled, youngMiB: v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576 });",
      );
      const proc = fork(child, [], { execArgv: withJobProcessFlags(['--import', 'tsx']) });
      const [message] = (await once(proc, 'message')) as [{ sourceMaps: boolean; youngMiB: number }];
      await once(proc, 'exit');
      expect(message.sourceMaps).toBe(false);
      // After that garbage V8's young generation has grown to 16 MiB by default; --optimize-for-size keeps it at 2.
      expect(message.youngMiB).toBeLessThanOrEqual(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads AGENT_IDLE_PROCESSES (unset: agents-js’s default) and refuses 0, which agents-js would read as its default', () => {
    expect(loadIdleProcesses({})).toBeUndefined();
    expect(loadIdleProcesses({ AGENT_IDLE_PROCESSES: '1' })).toBe(1);
    expect(() => loadIdleProcesses({ AGENT_IDLE_PROCESSES: '0' })).toThrow(/AGENT_IDLE_PROCESSES must be a number of processes, at least 1/);
  });
});
