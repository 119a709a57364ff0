import { describe, expect, it } from 'vitest';
import type { ProgressMessage } from '../../src/skool/contract';
import { scrapeSkool } from '../../src/skool/scraper';
import { runSkoolSync } from '../../src/skool/sync';
import { replicaForTest, replicaScraperConfig, startReceiver, syncRigForTest, TEST_SECRET } from './helpers';

const isProgress = (key: string) => key.includes(':progress:');

describe('a sync reports members scraped so far while it scrapes', () => {
  it('tells the Worker each community’s count as the list grows, ending with every member found', async () => {
    const replica = await replicaForTest({ counts: { ultra: 70, vagus: 95 }, pageSize: 20 });
    const rig = await syncRigForTest();
    const runId = crypto.randomUUID();
    await runSkoolSync(
      { runId, trigger: 'admin', resultUrl: rig.receiver.url },
      {
        outbox: rig.outbox,
        progress: { secret: TEST_SECRET },
        scrape: (onScraped) => scrapeSkool(replicaScraperConfig(replica, rig.diagnosticsDir), onScraped),
      },
    );
    await rig.outbox.drained();

    const reports = [...rig.receiver.accepted.entries()].filter(([key]) => isProgress(key)).map(([, m]) => (m as ProgressMessage).scraped);
    // Counts on the way, before the list was complete: the first page, then more.
    const ultra = reports.map((r) => r.ultra).filter((n): n is number => n !== null);
    expect(ultra.some((n) => n > 0 && n < 70)).toBe(true);
    for (const c of ['ultra', 'vagus'] as const) {
      const seen = reports.map((r) => r[c]).filter((n): n is number => n !== null);
      expect(seen, c).toEqual([...seen].sort((a, b) => a - b));
    }
    expect(reports.at(-1)).toEqual({ ultra: 70, vagus: 95 });
    // The last report went out before the results: progress never trails the final message.
    const keys = rig.receiver.deliveries.map((d) => d.key);
    expect(keys.findLastIndex(isProgress)).toBeLessThan(keys.indexOf(`${runId}:ultra:0`));
    expect(rig.receiver.final()).toMatchObject({ ok: true, communities: { ultra: { membersFound: 70 }, vagus: { membersFound: 95 } } });
  });

  it('loses its progress reports without harm: each is tried once, and the results still arrive, once, through the outbox', async () => {
    // A Worker that refuses every progress report (a deploy, a blip) and takes the rest after one refusal each.
    const receiver = await startReceiver({ answer: (key, attempt) => (isProgress(key) ? 503 : attempt === 1 ? 503 : 200) });
    const rig = await syncRigForTest();
    const runId = crypto.randomUUID();
    let reportsAsked = 0;
    const final = await runSkoolSync(
      { runId, trigger: 'cron', resultUrl: receiver.url },
      {
        outbox: rig.outbox,
        progress: { secret: TEST_SECRET, heartbeatMs: 50 },
        scrape: async (onScraped) => {
          for (let n = 1; n <= 5; n++) {
            onScraped('ultra', n);
            reportsAsked += 1;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return { communities: { ultra: { ok: true, members: [] }, vagus: { ok: true, members: [] } } };
        },
      },
    );
    await receiver.waitFor(`${runId}:final`);
    await rig.outbox.drained();
    await receiver.close();

    expect(final.ok).toBe(true);
    expect(reportsAsked).toBe(5);
    const progressKeys = receiver.deliveries.filter((d) => isProgress(d.key)).map((d) => d.key);
    expect(progressKeys.length).toBeGreaterThan(0);
    // Never retried: every report has a key of its own, tried once.
    expect(new Set(progressKeys).size).toBe(progressKeys.length);
    expect(receiver.acceptedCount(`${runId}:final`)).toBe(1);
    expect(receiver.deliveries.filter((d) => d.key === `${runId}:final`).map((d) => d.status)).toEqual([503, 200]);
  });
});
