/**
 * Starts the system's Chromium (Debian's /usr/bin/chromium; Puppeteer's own download is skipped) with
 * the flags this project's machines need, in a fresh profile folder that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export interface Chromium {
  browser: Browser;
  /** Closes the browser (killing it if it does not close) and removes its profile folder. */
  close(): Promise<void>;
}

export async function launchChromium(executablePath: string, launchTimeoutMs = 30_000): Promise<Chromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'hc-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      // Puppeteer turns this into --headless=new, the only headless mode current Chromium has.
      headless: true,
      timeout: launchTimeoutMs,
      defaultViewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${userDataDir}`,
      ],
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 });
    throw err;
  }
  return {
    browser,
    close: async () => {
      const closed = await Promise.race([
        browser.close().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
      ]);
      if (!closed) browser.process()?.kill('SIGKILL');
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}
