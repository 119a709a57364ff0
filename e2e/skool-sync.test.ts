/**
 * The nightly Skool sync along its whole path: the Worker's cron handler asks the agent-host (the real
 * sync server, here in this process) to start; the agent-host scrapes the local Skool replica in real
 * Chromium and posts signed chunks back; the Worker applies them to D1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SkoolReplica } from '../agent-host/dev/skool-replica/server';
import { startReplica } from '../agent-host/dev/skool-replica/server';
import type { SkoolSyncHost } from '../agent-host/src/skool/server';
import { apiOk, browserTestFiles, eventually, login, skipAfterFirstFailure } from './helpers';
import { linkIn, waitForMail } from './mail';
import { queryLocalD1 } from './stack';
import { startSyncHost } from './sync-host';

const portals = inject('portalUrls');
const CLAIMED_PASSWORD = 'tidepools at low water, twice';

interface Run {
  id: string;
  trigger: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  ultraMembersFound: number | null;
  vagusMembersFound: number | null;
  newMembers: number;
  skipped: number;
  errorMessage: string | null;
}

describe('the nightly Skool sync, from the cron trigger to the D1 rows', () => {
  skipAfterFirstFailure();
  const files = browserTestFiles('skool-claim');
  let replica: SkoolReplica | undefined;
  let host: SkoolSyncHost | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'hc-e2e-sync-'));

  beforeAll(async () => {
    // The portals for the claim step build meanwhile.
    const portalsBuilt = files.portals('public', 'client');
    replica = await startReplica({ counts: { ultra: 40, vagus: 160 } });
    host = await startSyncHost(replica, scratch);
    await portalsBuilt;
  }, 180_000);

  afterAll(async () => {
    await host?.close();
    await replica?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('turns the communities into accounts with the right roles and tiers', async () => {
    if (!replica) throw new Error('no replica');
    const res = await fetch(`${inject('apiOrigin')}/__scheduled?cron=${encodeURIComponent('0 3 * * *')}`);
    expect(res.status).toBe(200);

    const admin = await login('admin@example.com');
    const run = await eventually(
      'the cron run to finish',
      async () => {
        const { items: runs } = await apiOk<{ items: Run[] }>('GET', '/api/admin/skool-sync/runs', { token: admin });
        const last = runs.find((r) => r.trigger === 'cron');
        return last && last.status !== 'RUNNING' ? last : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1000 },
    );
    expect(run.errorMessage).toBeNull();
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      ultraMembersFound: replica.served('ultra').length,
      vagusMembersFound: replica.served('vagus').length,
    });

    const expected = {
      ultra: replica.expectedMembers('ultra').filter((m) => m.email),
      vagus: replica.expectedMembers('vagus').filter((m) => m.email),
    };
    const rows = await queryLocalD1<{ email: string; role: string; membership_tier: string; password_hash: string | null }>(
      inject('persistDir'),
      'SELECT email, role, membership_tier, password_hash FROM users WHERE last_skool_sync IS NOT NULL',
    );
    const byEmail = new Map(rows.map((r) => [r.email, r]));
    const allEmails = new Set([...expected.ultra, ...expected.vagus].map((m) => m.email!.toLowerCase()));
    // Every member has an account (other files' syncs, e2e/admin-sync.test.ts, add people of their own).
    expect([...allEmails].filter((e) => !byEmail.has(e))).toEqual([]);
    expect(run.skipped).toBe(replica.expectedMembers('ultra').filter((m) => !m.email).length + replica.expectedMembers('vagus').filter((m) => !m.email).length);

    const now = Date.now();
    const throughDay = (d: string | null) => d !== null && Date.parse(`${d}T00:00:00Z`) + 86_400_000 > now;
    for (const m of expected.ultra) {
      const coach = m.status === 'active' || throughDay(m.membershipEndsAt);
      expect(byEmail.get(m.email!.toLowerCase())?.role, `${m.email} (${m.status}, ends ${m.membershipEndsAt})`).toBe(coach ? 'COACH' : 'CLIENT');
    }
    const ultraEmails = new Set(expected.ultra.map((m) => m.email!.toLowerCase()));
    for (const m of expected.vagus) {
      const row = byEmail.get(m.email!.toLowerCase());
      const paidUp = m.paid && (m.status === 'active' || throughDay(m.membershipEndsAt));
      expect(row?.membership_tier, `${m.email}`).toBe(paidUp ? 'VAGUS_MEMBER' : 'FREE');
      if (!ultraEmails.has(m.email!.toLowerCase())) expect(row?.role).toBe('CLIENT');
      // Placeholder accounts: no password until claimed.
      expect(row?.password_hash ?? null).toBeNull();
    }
  });

  it('emails a new member their claim link; from its text they choose a password, land in the client portal, and sign in again', async () => {
    if (!replica) throw new Error('no replica');
    const ultra = new Set(replica.expectedMembers('ultra').map((m) => m.email?.toLowerCase()));
    const member = replica.expectedMembers('vagus').find((m) => m.email && m.paid && m.status === 'active' && !ultra.has(m.email.toLowerCase()));
    if (!member?.email) throw new Error('the replica has no paid Vagus member with an email');
    const mail = await waitForMail(member.email.toLowerCase(), { subject: 'Set your Hybrid Coach password', timeoutMs: 60_000 });
    expect(mail.Text).toContain('Your Skool membership gives you a Hybrid Coach account');
    const link = linkIn(mail.Text, '/claim');

    const browser = await files.chromium();
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1200, height: 800 });
      await page.goto(link.href, { waitUntil: 'networkidle0' });
      await page.waitForSelector('[data-testid=set-password] input[name=newPassword]');
      await page.type('[data-testid=set-password] input[name=newPassword]', CLAIMED_PASSWORD);
      await page.type('[data-testid=set-password] input[name=confirmPassword]', CLAIMED_PASSWORD);
      await files.screenshot(page, 'claim-choose-password');
      // A new client: the portal's onboarding comes first.
      await Promise.all([page.waitForSelector('::-p-text(Sign out)', { timeout: 20_000 }), page.click('[data-testid=set-password] button[type=submit]')]);
      await eventually('the client portal', async () => (page.url().startsWith(portals.client) ? true : undefined));
      await files.screenshot(page, 'claim-signed-in');

      await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('::-p-text(Sign out)')]);
      expect(page.url()).toBe(`${portals.public}/login`);
      await page.type('input[name=email]', member.email);
      await page.type('input[name=password]', CLAIMED_PASSWORD);
      await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('button[type=submit]')]);
      await eventually('the client portal again', async () => (page.url().startsWith(portals.client) ? true : undefined));
      await page.waitForSelector('::-p-text(Sign out)', { timeout: 20_000 });
      await files.screenshot(page, 'claim-signed-in-again');
      // The link was used: it does not work a second time.
      await page.goto(link.href, { waitUntil: 'networkidle0' });
      await page.waitForSelector('[data-testid=set-password] input[name=newPassword]');
      await page.type('[data-testid=set-password] input[name=newPassword]', `${CLAIMED_PASSWORD} again`);
      await page.type('[data-testid=set-password] input[name=confirmPassword]', `${CLAIMED_PASSWORD} again`);
      await page.click('[data-testid=set-password] button[type=submit]');
      await page.waitForSelector('::-p-text(This link does not work)', { timeout: 15_000 });
      expect(await page.$eval('[role=alert]', (el) => el.textContent ?? '')).toContain('This link is invalid, used or expired');
      await files.screenshot(page, 'claim-link-used');
    } finally {
      await browser.close().catch(() => undefined);
    }
  });
});
