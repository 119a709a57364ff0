import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * End-to-end tests in Node: a real livekit-server and the real Worker over HTTP (e2e/global-setup.ts).
 * One file at a time in one child process: the suites share those two servers, and @livekit/rtc-node
 * is a native module that does not belong in worker threads.
 */
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['e2e/**/*.test.ts'],
    globalSetup: ['e2e/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // Webhooks and WebRTC on a 2-core CI machine: tests poll with their own deadlines; these are backstops.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
