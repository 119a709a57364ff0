import { type SpawnOptions, spawn } from 'node:child_process';
import { chmod, mkdtemp, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHROMIUM_PATH, sandboxMode } from '../../src/skool/chromium';
import { tempDir } from './helpers';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const AS_ROOT = process.getuid?.() === 0;
/** Who runs the probe when the tests run as root: the image's user is not root either. */
const NOBODY = 65534;

/** Launches Chromium as the scraper does, reads its chrome://sandbox page, prints one PROBE line. */
const PROBE = `
import { launchChromium } from ${JSON.stringify(join(ROOT, 'agent-host/src/skool/chromium.ts'))};
const report = (o) => console.log('PROBE ' + JSON.stringify(o));
try {
  const chromium = await launchChromium(process.env.CHROMIUM_PATH, { sandbox: process.env.SKOOL_CHROMIUM_SANDBOX });
  try {
    const page = await chromium.browser.newPage();
    await page.goto('chrome://sandbox');
    await page.waitForFunction(() => /adequately sandboxed/i.test(document.body.innerText));
    const text = await page.evaluate(() => document.body.innerText);
    const verdict = /You are (not )?adequately sandboxed/i.exec(text)[0];
    const layer1 = /Layer 1 Sandbox\\s+(\\S+)/.exec(text)?.[1];
    report({ launched: true, sandboxed: chromium.sandboxed, verdict, layer1 });
  } finally {
    await chromium.close();
  }
} catch (err) {
  report({ launched: false, error: err.message });
}
`;

interface Probe {
  launched: boolean;
  sandboxed?: boolean;
  verdict?: string;
  /** chrome://sandbox's "Layer 1 Sandbox": Namespace, or None. */
  layer1?: string;
  error?: string;
  logs: Record<string, unknown>[];
}

function run(argv: string[], options: SpawnOptions): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      const lines = `${out}\n${err}`.split('\n');
      const probe = lines.find((l) => l.startsWith('PROBE '));
      if (!probe) return reject(new Error(`the probe printed no result:\n${out}\n${err}`.slice(0, 4000)));
      const logs = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ ...(JSON.parse(probe.slice(6)) as Omit<Probe, 'logs'>), logs });
    });
  });
}

describe("the Skool scraper's Chromium and its sandbox", () => {
  let home: { path: string; remove: () => Promise<void> };
  let jail: string | undefined;
  const env = (sandbox: string) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home.path,
    CHROMIUM_PATH: process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH,
    SKOOL_CHROMIUM_SANDBOX: sandbox,
  });
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', PROBE];
  /**
   * As NOBODY, chrooted into a bind of the whole machine in a mount namespace of its own: the kernel
   * refuses user namespaces to a chrooted process, as Docker's default seccomp profile refuses them in
   * a container, so Chromium's sandbox cannot start there.
   */
  const inJail = (sandbox: string) =>
    run(
      [
        'unshare',
        '--mount',
        '--',
        '/bin/sh',
        '-c',
        'mount --rbind / "$1" && shift && exec chroot --userspec=65534:65534 "$@"',
        'jail',
        jail as string,
        jail as string,
        '/usr/bin/env',
        '-C',
        ROOT,
        ...node,
      ],
      {
        env: env(sandbox),
      },
    );

  beforeAll(async () => {
    home = await tempDir('chromium-home');
    await chmod(home.path, 0o777);
    if (AS_ROOT) jail = await mkdtemp(join(tmpdir(), 'hc-userns-refused-'));
  });
  afterAll(async () => {
    // rmdir, never a recursive delete: the jail is a mount point of the whole machine while a probe runs.
    if (jail) await rmdir(jail);
    await home?.remove();
  });

  it('renders pages in its sandbox when it runs as a user other than root', async () => {
    const probe = await run(node, { cwd: ROOT, env: env('on'), ...(AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}) });
    expect(probe, probe.error).toMatchObject({ launched: true, sandboxed: true, verdict: 'You are adequately sandboxed', layer1: 'Namespace' });
    expect(probe.logs).toContainEqual(expect.objectContaining({ level: 'info', msg: 'skool scraper: Chromium runs in its sandbox' }));
  });

  it.skipIf(!AS_ROOT)('refuses to start where user namespaces are refused, saying why and what to do, in a few lines', async () => {
    const probe = await inJail('on');
    expect(probe.launched).toBe(false);
    expect(probe.error).toMatch(/^Chromium's sandbox cannot start here: it needs user namespaces[\s\S]*SKOOL_CHROMIUM_SANDBOX=off/);
    expect(probe.error?.length).toBeLessThan(600);
  });

  it.skipIf(!AS_ROOT)('runs without its sandbox there when SKOOL_CHROMIUM_SANDBOX=off, and says so', async () => {
    const probe = await inJail('off');
    expect(probe, probe.error).toMatchObject({ launched: true, sandboxed: false, verdict: 'You are NOT adequately sandboxed', layer1: 'None' });
    expect(probe.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'skool scraper: Chromium runs WITHOUT its sandbox', why: 'SKOOL_CHROMIUM_SANDBOX=off' }),
    );
  });

  it('runs without its sandbox as root, where Chromium refuses one', () => {
    expect(sandboxMode('on', 0)).toMatchObject({ sandboxed: false, why: expect.stringContaining('root') });
    expect(sandboxMode('on', 1000)).toEqual({ sandboxed: true });
  });
});
