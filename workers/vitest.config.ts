import { fileURLToPath } from 'node:url';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const LIVEKIT_TEST_PORT = Number(process.env.HC_TEST_LIVEKIT_PORT ?? 7980);
/** The test Mailpit (workers/test/mailpit.global-setup.ts reads the same variables). */
const MAILPIT_SMTP_PORT = Number(process.env.HC_TEST_MAILPIT_SMTP_PORT ?? 1925);
const MAILPIT_HTTP_PORT = Number(process.env.HC_TEST_MAILPIT_HTTP_PORT ?? 8925);

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
          // The real livekit-server that the global setup starts for the tests (dev keys).
          LIVEKIT_URL: `ws://127.0.0.1:${LIVEKIT_TEST_PORT}`,
          LIVEKIT_API_KEY: 'devkey',
          LIVEKIT_API_SECRET: 'secret',
          AGENT_HOST_SECRET: 'test-only-agent-host-secret-0123456789abcdef',
          DATA_ENCRYPTION_KEY: 'test-only-data-encryption-key-0123456789abcdef',
          // Nothing listens here: these tests play the agent-host themselves.
          AGENT_HOST_URL: 'http://127.0.0.1:9',
          // Email goes to the test Mailpit (any login accepted, no TLS); workers/test/mailpit.ts reads it back.
          SMTP_HOST: '127.0.0.1',
          SMTP_PORT: String(MAILPIT_SMTP_PORT),
          SMTP_TLS: 'off',
          SMTP_USERNAME: 'test-smtp-user',
          SMTP_PASSWORD: 'test-only-smtp-password',
          MAIL_FROM: 'Hybrid Coach <no-reply@hybrid.coach>',
          TEST_MAILPIT_URL: `http://127.0.0.1:${MAILPIT_HTTP_PORT}`,
          TEST_MIGRATIONS: await readD1Migrations(root('d1/migrations')),
        },
      },
    })),
  ],
  test: {
    // The shared package's rules run here too: the Worker is where most of them run.
    include: ['workers/src/**/*.test.ts', 'workers/test/**/*.test.ts', 'shared/test/**/*.test.ts'],
    globalSetup: ['workers/test/livekit.global-setup.ts', 'workers/test/mailpit.global-setup.ts'],
    setupFiles: ['workers/test/apply-migrations.ts'],
    silent: 'passed-only',
  },
});
