import { startMailpit } from '../../scripts/mailpit.mjs';

/**
 * Vitest globalSetup (runs in Node, once per run): Mailpit in test mode on 127.0.0.1, SMTP 1925 and HTTP 8925
 * (HC_TEST_MAILPIT_SMTP_PORT / HC_TEST_MAILPIT_HTTP_PORT move them, as in vitest.config.ts), for the Worker's
 * email; stopped when the run ends. Fails if a port is taken rather than testing against a leftover.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const mailpit = await startMailpit({
    smtpPort: Number(process.env.HC_TEST_MAILPIT_SMTP_PORT ?? 1925),
    httpPort: Number(process.env.HC_TEST_MAILPIT_HTTP_PORT ?? 8925),
    test: true,
  });
  return () => mailpit.stop();
}
