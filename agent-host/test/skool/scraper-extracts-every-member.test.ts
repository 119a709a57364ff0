import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SkoolReplica, startReplica } from '../../dev/skool-replica/server';
import type { Member } from '../../src/skool/contract';
import { type ScrapeResult, scrapeSkool } from '../../src/skool/scraper';
import { replicaScraperConfig, tempDir } from './helpers';

describe('the scraper in Chromium against the Skool replica', () => {
  let replica: SkoolReplica;
  let diagnostics: Awaited<ReturnType<typeof tempDir>>;
  let result: ScrapeResult;

  beforeAll(async () => {
    // A little latency on every page and list fetch, so the scroll loop has to wait for the spinner.
    replica = await startReplica({ delayMs: 40 });
    diagnostics = await tempDir('diagnostics');
    result = await scrapeSkool(replicaScraperConfig(replica, diagnostics.path));
  }, 120_000);

  afterAll(async () => {
    await replica?.close();
    await diagnostics?.remove();
  });

  const members = (community: 'ultra' | 'vagus'): Member[] => {
    const scraped = result.communities[community];
    if (!scraped.ok) throw new Error(`${community} failed: ${scraped.error}`);
    return scraped.members;
  };

  it('extracts every member of both communities exactly as the replica holds them', () => {
    for (const community of ['ultra', 'vagus'] as const) {
      expect(members(community)).toHaveLength(replica.members[community].length);
      expect(members(community)).toEqual(replica.expectedMembers(community));
    }
    // The list really was loaded by scrolling, page after page.
    expect(replica.stats.listFetches).toBeGreaterThanOrEqual(Math.ceil(560 / 30) - 1 + Math.ceil(140 / 30) - 1);
  });

  it('keeps emails as shown, trimmed, with their capitals', () => {
    const emails = members('vagus').map((m) => m.email);
    expect(emails).toContain('mj.oconnor+skool@Gmail.com');
    expect(emails).toContain('SARAH.JOHNSON@ICLOUD.COM');
    expect(members('ultra').map((m) => m.email)).toContain('Mixed.Case@Example.COM');
    expect(emails.every((e) => e === null || e === e.trim())).toBe(true);
  });

  it('keeps the member who shows no email, with email null', () => {
    const ghost = members('vagus').filter((m) => m.email === null);
    expect(ghost).toHaveLength(1);
    expect(ghost[0]).toMatchObject({ name: 'Ghost Member', photoUrl: null, bio: null });
  });

  it('keeps non-ASCII names and bios intact, and members who share a name apart', () => {
    expect(members('ultra').map((m) => m.name)).toEqual(expect.arrayContaining(['Zoë Ångström', '李雷', 'Ólafur Þórðarson']));
    expect(members('vagus').map((m) => m.name)).toEqual(expect.arrayContaining(['José Ñúñez-García', 'Ana 🌿 Silva', '李雷']));
    expect(members('ultra').find((m) => m.name === '李雷')?.bio).toBe('教练 · 呼吸训练');
    expect(members('vagus').find((m) => m.name.startsWith('Mary-Jane'))).toMatchObject({
      name: "Mary-Jane O'Connor",
      bio: 'I <3 breathwork & long walks',
    });
    const sarahs = members('vagus').filter((m) => m.name === 'Sarah Johnson');
    expect(sarahs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sarahs.map((m) => m.profileUrl)).size).toBe(sarahs.length);
  });

  it('reads paid badges, cancellations and their end dates, past or ahead', () => {
    const today = new Date().toISOString().slice(0, 10);
    const grace = members('ultra').find((m) => m.email === 'grace.hall@hey.com');
    expect(grace).toMatchObject({ status: 'cancelled' });
    expect(grace?.membershipEndsAt && grace.membershipEndsAt > today).toBe(true);
    const tomasz = members('ultra').find((m) => m.email === 'tomasz.k@proton.me');
    expect(tomasz).toMatchObject({ status: 'cancelled' });
    expect(tomasz?.membershipEndsAt && tomasz.membershipEndsAt < today).toBe(true);

    const vagus = members('vagus');
    expect(vagus.find((m) => m.email === 'sarah.j@yahoo.com')?.paid).toBe(false);
    expect(vagus.find((m) => m.email === 'SARAH.JOHNSON@ICLOUD.COM')?.paid).toBe(true);
    expect(vagus.filter((m) => m.paid).length).toBe(replica.members.vagus.filter((m) => m.paid).length);
    for (const m of [...members('ultra'), ...vagus]) {
      expect(m.membershipEndsAt === null).toBe(m.status === 'active');
      expect(m.joinedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('leaves no diagnostics when nothing failed', async () => {
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(diagnostics.path).catch(() => [])).toEqual([]);
  });
});
