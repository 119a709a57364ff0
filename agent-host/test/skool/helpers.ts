/**
 * Shared by the Skool sync tests: a stand-in for the Worker's webhook (verifies signatures with the
 * real verifySigned, dedupes by Idempotency-Key as the Worker does), temp folders, and scraper
 * settings pointed at a replica.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDEMPOTENCY_HEADER, verifySigned } from '@hybrid-coach/shared/signing';
import { onTestFinished } from 'vitest';
import { type ReplicaOptions, type SkoolReplica, startReplica } from '../../dev/skool-replica/server';
import { Outbox } from '../../src/lib/outbox';
import { DEFAULT_CHROMIUM_PATH } from '../../src/skool/chromium';
import type { FinalMessage, MembersMessage, StartRequest } from '../../src/skool/contract';
import { type ScraperConfig, type ScrapeTimeouts, scrapeSkool } from '../../src/skool/scraper';
import { runSkoolSync } from '../../src/skool/sync';

export const TEST_SECRET = 'test-only-agent-host-secret-0123456789abcdef';

/** Short waits: the replica answers in milliseconds; a visible spinner still gets its full time. */
export const TEST_TIMEOUTS: Partial<ScrapeTimeouts> = { idleScrollMs: 1_000, navigationMs: 20_000, selectorMs: 10_000 };

export interface Delivery {
  key: string;
  status: number;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  /** Every attempt, in arrival order, with the status it was answered. */
  deliveries: Delivery[];
  /** First accepted body per Idempotency-Key, in acceptance order (what the Worker would apply). */
  accepted: Map<string, unknown>;
  /** How many times each key was answered 2xx. */
  acceptedCount(key: string): number;
  /** Requests whose signature did not verify. */
  badSignatures: number;
  members(): MembersMessage[];
  final(): FinalMessage | undefined;
  /** Resolves once `key` has been accepted. */
  waitFor(key: string, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A stand-in for `POST /api/webhooks/skool-sync`. `answer` picks the status for each attempt
 * (default 200); a repeated key that was already accepted is answered 200 and not recorded again.
 */
export async function startReceiver(options: { secret?: string; answer?: (key: string, attempt: number) => number; port?: number } = {}): Promise<Receiver> {
  const secret = options.secret ?? TEST_SECRET;
  const deliveries: Delivery[] = [];
  const accepted = new Map<string, unknown>();
  const counts = new Map<string, number>();
  const attempts = new Map<string, number>();
  const waiters = new Map<string, (() => void)[]>();
  let badSignatures = 0;

  const server = createServer((req, res) => {
    void readAll(req).then(async (body) => {
      const headers = { get: (name: string) => (req.headers[name.toLowerCase()] as string | undefined) ?? null };
      if ((await verifySigned(secret, body, headers)) !== null) {
        badSignatures += 1;
        res.writeHead(401).end();
        return;
      }
      const key = headers.get(IDEMPOTENCY_HEADER) ?? '';
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const status = accepted.has(key) ? 200 : (options.answer?.(key, attempt) ?? 200);
      deliveries.push({ key, status, body });
      if (status >= 200 && status < 300) {
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (!accepted.has(key)) {
          accepted.set(key, JSON.parse(body));
          for (const wake of waiters.get(key) ?? []) wake();
          waiters.delete(key);
        }
      }
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ success: status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/api/webhooks/skool-sync`;

  return {
    url,
    port,
    deliveries,
    accepted,
    acceptedCount: (key) => counts.get(key) ?? 0,
    get badSignatures() {
      return badSignatures;
    },
    members: () => [...accepted.values()].filter((m): m is MembersMessage => (m as { kind: string }).kind === 'members'),
    final: () => [...accepted.values()].find((m): m is FinalMessage => (m as { kind: string }).kind === 'final'),
    waitFor: (key, timeoutMs = 60_000) =>
      accepted.has(key)
        ? Promise.resolve(accepted.get(key))
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`receiver: ${key} not accepted within ${timeoutMs} ms`)), timeoutMs);
            waiters.set(key, [
              ...(waiters.get(key) ?? []),
              () => {
                clearTimeout(timer);
                resolve(accepted.get(key));
              },
            ]);
          }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A fresh temp folder and its removal. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `hc-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Scraper settings aimed at a replica, with the replica's credentials unless told otherwise. */
export function replicaScraperConfig(replica: SkoolReplica, diagnosticsDir: string, overrides: Partial<ScraperConfig> = {}): ScraperConfig {
  return {
    baseUrl: replica.url,
    email: replica.credentials.email,
    password: replica.credentials.password,
    membersUrls: { ultra: replica.membersUrl('ultra'), vagus: replica.membersUrl('vagus') },
    chromiumPath: process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH,
    diagnosticsDir,
    timeouts: TEST_TIMEOUTS,
    ...overrides,
  };
}

/** What a sync test runs against: a stand-in Worker, an open outbox, a diagnostics folder; `close` removes it all. */
export interface SyncRig {
  receiver: Receiver;
  outbox: Outbox;
  diagnosticsDir: string;
  close(): Promise<void>;
}

export async function openSyncRig(): Promise<SyncRig> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    const receiver = await startReceiver();
    closers.push(receiver.close);
    const [outboxDir, diagnostics] = await Promise.all([tempDir('outbox'), tempDir('diagnostics')]);
    closers.push(outboxDir.remove, diagnostics.remove);
    const outbox = await Outbox.open({ dir: outboxDir.path, secret: TEST_SECRET });
    closers.push(() => outbox.close());
    return { receiver, outbox, diagnosticsDir: diagnostics.path, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** openSyncRig for the running test: closed when it finishes. */
export async function syncRigForTest(): Promise<SyncRig> {
  const rig = await openSyncRig();
  onTestFinished(rig.close);
  return rig;
}

/** A replica for the running test (closed when it finishes). */
export async function replicaForTest(options: ReplicaOptions = {}): Promise<SkoolReplica> {
  const replica = await startReplica(options);
  onTestFinished(replica.close);
  return replica;
}

/**
 * One whole sync of `replica` (scraped with the test settings, `overrides` on top) into a rig of its
 * own, delivered: resolves once the outbox is empty, with what runSkoolSync returned.
 */
export async function syncReplica(
  replica: SkoolReplica,
  request: Omit<StartRequest, 'resultUrl'>,
  overrides: Partial<ScraperConfig> = {},
): Promise<{ rig: SyncRig; final: FinalMessage }> {
  const rig = await syncRigForTest();
  const final = await runSkoolSync(
    { ...request, resultUrl: rig.receiver.url },
    { outbox: rig.outbox, scrape: () => scrapeSkool(replicaScraperConfig(replica, rig.diagnosticsDir, overrides)) },
  );
  await rig.outbox.drained();
  return { rig, final };
}

/** The kinds of file (`html`, `png`) kept in `dir` for the step whose files' names hold `step`, sorted. */
export async function diagnosticsKept(dir: string, step: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.includes(step))
    .map((f) => f.split('.').pop() ?? '')
    .sort();
}
