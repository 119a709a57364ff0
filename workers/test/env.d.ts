import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      /** Injected by workers/vitest.config.ts for the test setup only. */
      TEST_MIGRATIONS: D1Migration[];
      /** Mailpit's HTTP API for the tests (workers/test/mailpit.global-setup.ts). */
      TEST_MAILPIT_URL: string;
    }
  }
}
