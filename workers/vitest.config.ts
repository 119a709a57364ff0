import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Worker and Durable Object tests, inside workerd, against a real (local) D1 migrated from d1/. */
export default defineConfig({
  root: root(''),
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: root('wrangler.toml') },
      miniflare: {
        bindings: {
          // Test-only values: a fixed JWT secret so tests can forge tokens with other keys.
          JWT_SECRET: 'test-only-jwt-secret-0123456789abcdefghijklmnop',
          TEST_MIGRATIONS: await readD1Migrations(root('d1/migrations')),
        },
      },
    })),
  ],
  test: {
    include: ['workers/src/**/*.test.ts'],
    setupFiles: ['workers/test/apply-migrations.ts'],
    silent: 'passed-only',
  },
});
