/**
 * The Admin section's Skool sync in real Chromium against the e2e stack: an admin of this file's own
 * presses "Run now" and watches the run's progress (members scraped so far, seen while the local Skool
 * replica holds its later pages until the test lets them go: waiting on state, never a sleep), then sees
 * the finished run's counts and its changes person by person. The agent-host's sync server runs in this
 * process and reports progress to the Worker over the signed webhook. Screenshots of each screen, at
 * desktop and phone widths, go to e2e/artifacts/admin-sync/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SkoolReplica, startReplica } from '../agent-host/dev/skool-replica/server';
import type { SkoolSyncHost } from '../agent-host/src/skool/server';
import { browserTestFiles, coachPortalUrl, createCoach, eventually, openWithGrant, skipAfterFirstFailure } from './helpers';
import { queryLocalD1 } from './stack';
import { startSyncHost } from './sync-host';

const stamp = Date.now().toString(36);
const ADMIN_EMAIL = `admin-sync-admin-${stamp}@example.com`;
const ADMIN_NAME = 'Sam Sync';
/** Fewer than the replica's page (30) at first, so progress shows part-way; no community half the size of another file's run. */
const COUNTS = { ultra: 40, vagus: 100 };

describe('the Admin section: an admin runs the Skool sync and watches it', () => {
  const files = browserTestFiles('admin-sync');
  const scratch = mkdtempSync(join(tmpdir(), 'hc-e2e-admin-sync-'));
  let replica: SkoolReplica;
  let host: SkoolSyncHost | undefined;
  let browser: Browser;
  let page: Page;
  let runId = '';

  const textOf = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

  beforeAll(async () => {
    const portalsBuilt = files.portals('coach');
    await createCoach(ADMIN_EMAIL, ADMIN_NAME);
    await queryLocalD1(inject('persistDir'), `UPDATE users SET role = 'ADMIN' WHERE email = '${ADMIN_EMAIL}'`);
    // Members of this file's own (tagged emails), so the run has new people to show whatever ran before.
    replica = await startReplica({ counts: COUNTS, emailTag: `as-${stamp}-` });
    // A page held by the test keeps the replica's spinner up: the scraper waits for it, well past the release.
    host = await startSyncHost(replica, scratch, { loadingMs: 180_000 });
    await portalsBuilt;
    browser = await files.chromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 860 });
    page.on('pageerror', (e) => console.error(`coach portal page error: ${e instanceof Error ? e.message : String(e)}`));
  }, 180_000);

  afterAll(async () => {
    replica?.pages.release();
    await browser?.close().catch(() => undefined);
    await host?.close();
    await replica?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  skipAfterFirstFailure();

  it('opens the Skool sync screen from the Admin section', async () => {
    await openWithGrant(page, coachPortalUrl(), ADMIN_EMAIL);
    await page.waitForSelector('nav[aria-label=Main] a[href="/admin"]', { timeout: 15_000 });
    await Promise.all([page.waitForSelector('[data-testid=people-filters]'), page.click('nav[aria-label=Main] a[href="/admin"]')]);
    await Promise.all([page.waitForSelector('::-p-text(Run now)'), page.click('nav[aria-label=Admin] a[href="/admin/sync"]')]);
    expect(page.url()).toBe(`${coachPortalUrl()}/admin/sync`);
    await files.screens(page, 'sync-runs-before');
  });

  it('runs a sync and shows the members scraped so far while it runs', async () => {
    replica.pages.hold();
    await page.click('::-p-text(Run now)');
    await page.waitForSelector('[data-testid=sync-run-page][data-status=RUNNING]', { timeout: 20_000 });
    runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');

    // The scraper has the Ultra list's first page and waits on the next (held): the page shows it, as it runs.
    await eventually('the scraper to wait on a held page', async () => (replica.pages.waiting > 0 ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    await page.waitForFunction(() => /^\d+ members scraped so far$/.test(document.querySelector('[data-fact="Skool Ultra"]')?.textContent ?? ''), {
      timeout: 30_000,
      polling: 200,
    });
    const sofar = Number.parseInt(await textOf('[data-fact="Skool Ultra"]'), 10);
    expect(sofar).toBeGreaterThan(0);
    expect(sofar).toBeLessThan(COUNTS.ultra);
    expect(await textOf('[data-testid=sync-status]')).toBe('Running');
    expect(await textOf('[data-fact="Skool Vagus"]')).toBe('Not started yet');
    await files.screens(page, 'sync-run-progress');
    // The list says a sync is running, and "Run now" waits for it.
    replica.pages.release();
  });

  it('shows the finished run’s counts and its changes, person by person', async () => {
    await page.waitForSelector('[data-testid=sync-run-page][data-status=SUCCEEDED]', { timeout: 150_000 });
    expect(await textOf('[data-fact="Skool Ultra"]')).toBe(`${COUNTS.ultra} members`);
    expect(await textOf('[data-fact="Skool Vagus"]')).toBe(`${COUNTS.vagus} members`);
    const people = new Set([...replica.expectedMembers('ultra'), ...replica.expectedMembers('vagus')].flatMap((m) => (m.email ? [m.email.toLowerCase()] : [])));
    expect(await textOf('[data-fact="New members"]')).toBe(String(people.size));
    expect(await textOf('[data-fact="Started"]')).toContain(ADMIN_NAME);

    const coach = replica.expectedMembers('ultra').find((m) => m.email && m.status === 'active');
    if (!coach?.email) throw new Error('the replica has no active Ultra member with an email');
    const row = `[data-testid=sync-change][data-email="${coach.email.toLowerCase()}"]`;
    await page.waitForSelector(row, { timeout: 15_000 });
    const changes = await textOf(row);
    expect(changes).toContain('Role: Coach');
    expect(changes).toContain('Skool Ultra status: active');
    await files.screens(page, 'sync-run-finished');

    await Promise.all([page.waitForSelector('[data-testid=sync-runs]'), page.click('::-p-text(← Skool sync)')]);
    const first = await page.$eval('[data-testid=sync-run]', (el) => ({ status: el.getAttribute('data-status'), text: el.textContent ?? '' }));
    expect(first.status).toBe('SUCCEEDED');
    expect(first.text).toContain(ADMIN_NAME);
    await files.screens(page, 'sync-runs-after');
    expect(runId).not.toBe('');
  });

  it('holds back a run whose Vagus list shrank by more than half, and applies it after a dialog that names the numbers', async () => {
    // The same community, now listing 30 of its 100 members: the safety rule holds the run back.
    const short = await startReplica({ counts: COUNTS, emailTag: `as-${stamp}-`, servedFraction: { vagus: 0.3 } });
    await host?.close();
    host = await startSyncHost(short, scratch);
    try {
      await page.click('::-p-text(Run now)');
      await page.waitForSelector('[data-testid=sync-run-page][data-status=FAILED]', { timeout: 150_000 });
      expect(decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '')).not.toBe(runId);
      await page.waitForSelector('[data-testid=sync-override]');
      expect(await textOf('[data-testid=sync-override]')).toContain('Vagus: 100 members at the last good run, 30 now');
      // A paid member missing from the short list keeps their tier until an admin applies the run.
      // The first such by email: the changes list is by email, 50 people a page.
      const leaver = replica
        .expectedMembers('vagus')
        .filter((m, i) => i >= 30 && m.email && m.paid && m.status === 'active')
        .sort((a, b) => (a.email ?? '').toLowerCase().localeCompare((b.email ?? '').toLowerCase()))[0];
      if (!leaver?.email) throw new Error('the replica has no paid Vagus member past the short list');
      const tierOf = async () =>
        (await queryLocalD1<{ t: string }>(inject('persistDir'), `SELECT membership_tier AS t FROM users WHERE email = '${leaver.email?.toLowerCase()}'`))[0]
          ?.t;
      expect(await tierOf()).toBe('VAGUS_MEMBER');
      await files.screens(page, 'sync-run-held-back');

      await page.click('::-p-text(Apply this run…)');
      await page.waitForSelector('dialog[open] [data-testid=override-numbers]');
      expect(await textOf('dialog[open] [data-testid=override-numbers]')).toBe('Vagus: 100 members at the last good run, 30 now');
      await page.type('dialog[open] textarea[name=reason]', 'Seventy members left with the price change');
      await files.screens(page, 'sync-override-dialog');
      await page.click('::-p-text(Apply the run)');
      await page.waitForSelector('[data-testid=sync-run-page][data-status=SUCCEEDED]', { timeout: 30_000 });
      expect(await page.$('[data-testid=sync-override]')).toBeNull();
      await page.waitForFunction(() => document.body.textContent?.includes('Seventy members left with the price change'), { timeout: 15_000 });
      expect(await tierOf()).toBe('FREE');
      await page.waitForSelector(`[data-testid=sync-change][data-email="${leaver.email.toLowerCase()}"]`, { timeout: 15_000 });
      expect(await textOf(`[data-testid=sync-change][data-email="${leaver.email.toLowerCase()}"]`)).toContain('Tier: Vagus member → Free');
      await files.screens(page, 'sync-run-applied');
    } finally {
      await short.close();
    }
  });
});
