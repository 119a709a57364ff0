import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      /** Injected by workers/vitest.config.ts for the test setup only. */
      TEST_MIGRATIONS: D1Migration[];
      /** The test Mailpit's HTTP API (workers/test/mailpit.ts). */
      TEST_MAILPIT_URL: string;
    }
  }
}
