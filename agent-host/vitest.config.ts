import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * agent-host tests in Node: the Skool scraper in the system's Chromium against the local replica,
 * the outbox against small local receivers, the start endpoint end to end.
 */
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['agent-host/test/**/*.test.ts'],
    // Each Chromium test starts a browser; two at a time on a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 90_000,
    hookTimeout: 120_000,
    silent: 'passed-only',
  },
});
