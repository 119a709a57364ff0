/**
 * Starts the system's Chromium (Debian's /usr/bin/chromium; Puppeteer's own download is skipped) with
 * the flags this project's machines need, in a fresh profile folder that is removed afterwards.
 *
 * Chromium renders Skool's pages in its sandbox (each renderer in its own user, PID and network
 * namespaces under a seccomp filter) whenever it can: always, except as root (Chromium refuses it
 * there) or when SKOOL_CHROMIUM_SANDBOX=off says so. Debian's Chromium has no setuid helper, so the
 * sandbox needs unprivileged user namespaces; a container that refuses them (Docker's default seccomp
 * profile does) makes the launch fail with a message that says so, never a silent fallback:
 * docs/operations.md, "Chromium's sandbox".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError, log } from '@hybrid-coach/shared/log';
import puppeteer, { type Browser } from 'puppeteer-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** The flags headless Chromium needs on this project's machines (no GPU, no QUIC, no background traffic); the e2e browser uses them too. */
export const HEADLESS_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** SKOOL_CHROMIUM_SANDBOX: `on` (the default: sandboxed unless root) or `off`. */
export type SandboxSetting = 'on' | 'off';

export interface Chromium {
  browser: Browser;
  /** Whether its renderers run in Chromium's sandbox. */
  sandboxed: boolean;
  /** Closes the browser (killing it if it does not close) and removes its profile folder. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  launchTimeoutMs?: number;
  sandbox?: SandboxSetting;
}

/** Whether Chromium will run sandboxed here, and if not, why not. */
export function sandboxMode(setting: SandboxSetting = 'on', uid = process.getuid?.()): { sandboxed: true } | { sandboxed: false; why: string } {
  if (setting === 'off') return { sandboxed: false, why: 'SKOOL_CHROMIUM_SANDBOX=off' };
  if (uid === 0) return { sandboxed: false, why: 'running as root, where Chromium refuses its sandbox (run as another user, as the image does)' };
  return { sandboxed: true };
}

/** What Chromium prints when it can create neither user namespaces nor use a setuid helper. */
const NO_SANDBOX = /No usable sandbox!|Failed to move to new namespace/;

export async function launchChromium(executablePath: string, options: LaunchOptions = {}): Promise<Chromium> {
  const mode = sandboxMode(options.sandbox);
  if (mode.sandboxed) log('info', 'skool scraper: Chromium runs in its sandbox', { uid: process.getuid?.() });
  else log('warn', 'skool scraper: Chromium runs WITHOUT its sandbox', { why: mode.why });
  const userDataDir = await mkdtemp(join(tmpdir(), 'hc-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      // Puppeteer turns this into --headless=new, the only headless mode current Chromium has.
      headless: true,
      timeout: options.launchTimeoutMs ?? 30_000,
      defaultViewport: { width: 1280, height: 900 },
      args: [...(mode.sandboxed ? [] : ['--no-sandbox']), ...HEADLESS_FLAGS, `--user-data-dir=${userDataDir}`],
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    throw launchFailure(err, mode.sandboxed);
  }
  return {
    browser,
    sandboxed: mode.sandboxed,
    close: async () => {
      const closed = await Promise.race([
        browser.close().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
      ]);
      if (!closed) browser.process()?.kill('SIGKILL');
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

/**
 * A launch error short enough for the sync's result (the Worker keeps 2,000 characters of it): Puppeteer
 * appends all of Chromium's stderr. A sandbox that cannot start says what to do about it.
 */
function launchFailure(err: unknown, sandboxed: boolean): Error {
  const message = describeError(err).errorMessage;
  if (sandboxed && NO_SANDBOX.test(message)) {
    return new Error(
      "Chromium's sandbox cannot start here: it needs user namespaces, which this container or host refuses " +
        '(Docker\'s default seccomp profile does). Allow them (docs/operations.md, "Chromium\'s sandbox"), ' +
        'or set SKOOL_CHROMIUM_SANDBOX=off to run Chromium without it.',
    );
  }
  const lines = message.split('\n').map((l) => l.trim());
  // The first line, and Chromium's own first error or fatal line if it printed one.
  const chromium = lines.find((l) => /:(ERROR|FATAL):/.test(l));
  return new Error([lines[0], chromium].filter(Boolean).join(' ').slice(0, 600));
}
