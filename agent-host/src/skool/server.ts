/**
 * The agent-host's HTTP side of the Skool sync: `POST /skool-sync/start` (signed by the Worker; starts
 * a run in the background, one at a time, idempotent per run id) and `GET /health` (the whole
 * agent-host's, when it runs with the agent worker: see ../host.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { contractIssues, jsonOf } from '@hybrid-coach/shared/agent-contract';
import { describeError, log } from '@hybrid-coach/shared/log';
import { IDEMPOTENCY_HEADER, verifySigned } from '@hybrid-coach/shared/signing';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import type { Env } from '../lib/env';
import { Outbox } from '../lib/outbox';
import { sandboxMode } from './chromium';
import { loadSkoolSyncConfig, type SkoolSyncConfig } from './config';
import { HoldsRequest, StartRequest } from './contract';
import { type ScrapeTimeouts, scrapeSkool } from './scraper';
import { runSkoolSync } from './sync';

/** The Worker's error codes (workers/src/lib/errors.ts) that this server answers, with their status. */
const STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

/** The one error the server throws; answered as `{ success: false, error: { code, message, fields? } }`. */
export class HttpError extends Error {
  constructor(
    readonly code: keyof typeof STATUS,
    message: string,
    readonly fields?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const MAX_BODY_BYTES = 16 * 1024;
/** Run ids remembered for idempotency (in memory: a restart forgets them). */
const REMEMBERED_RUNS = 1000;
const smallBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new HttpError('PAYLOAD_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`);
  },
});
const VERIFY_MESSAGES = {
  missing: 'missing or malformed signature headers',
  stale: 'timestamp outside the replay window',
  'bad-signature': 'signature does not match',
} as const;

export interface SkoolSyncServerDeps {
  secret: string;
  /** Its depth is reported by /health; its pending keys say which runs still have messages to deliver. */
  outbox: Pick<Outbox, 'depth'> & Partial<Pick<Outbox, 'pendingKeys'>>;
  /** Runs one sync to the end (scrape and store every message in the outbox); null with `SKOOL_SYNC=off`. */
  runSync: ((request: StartRequest) => Promise<unknown>) | null;
  /** More of /health (the agent worker, all outboxes); `ok: false` answers 503. */
  health?: () => Promise<{ ok?: boolean }>;
  /** False once the process is shutting down: new runs are refused with 503. */
  accepting?: () => boolean;
}

export interface SkoolSyncServer {
  /** The HTTP side (served by @hono/node-server in startSkoolSyncHost; tests call `app.request`). */
  app: Hono;
  /** The run in progress, if any. */
  running(): string | null;
  /** Resolves when the run in progress (if any) has finished. */
  idle(): Promise<void>;
}

export function createSkoolSyncServer(deps: SkoolSyncServerDeps): SkoolSyncServer {
  let current: { runId: string; done: Promise<void> } | null = null;
  const seen = new Set<string>();

  /** With the sync off here, a request means the Worker's AGENT_HOST_URL names the wrong host: say so loudly. */
  const syncOff = () =>
    new HttpError('CONFLICT', "the Skool sync is off on this agent-host (SKOOL_SYNC=off); the Worker's AGENT_HOST_URL must name the one that runs it");

  const start = (request: StartRequest): { runId: string; accepted: boolean } => {
    const runSync = deps.runSync;
    if (!runSync) throw syncOff();
    if (seen.has(request.runId)) return { runId: request.runId, accepted: false };
    if (deps.accepting && !deps.accepting()) throw new HttpError('SERVICE_UNAVAILABLE', 'the agent-host is shutting down; no new Skool sync');
    if (current) throw new HttpError('CONFLICT', `a Skool sync is already running (run ${current.runId})`);
    seen.add(request.runId);
    if (seen.size > REMEMBERED_RUNS) seen.delete(seen.values().next().value as string);
    const done = runSync(request)
      .then(
        () => undefined,
        (err: unknown) => log('error', 'skool sync: run failed before its final message was stored', { runId: request.runId, ...describeError(err) }),
      )
      .finally(() => {
        current = null;
      });
    current = { runId: request.runId, done };
    return { runId: request.runId, accepted: true };
  };

  const app = new Hono()
    .get('/health', async (c) => {
      const report = { ok: true, syncRunning: current !== null, outboxDepth: deps.outbox.depth, ...(await deps.health?.()) };
      return c.json(report, report.ok === false ? 503 : 200);
    })
    .post('/skool-sync/start', smallBody, async (c) => {
      const body = await c.req.text();
      const failure = await verifySigned(deps.secret, body, c.req.raw.headers);
      if (failure) throw new HttpError('UNAUTHORIZED', VERIFY_MESSAGES[failure]);
      const request = parseContract(StartRequest, body, 'start', c.req.header(IDEMPOTENCY_HEADER) ?? null);
      const answer = start(request);
      log('info', answer.accepted ? 'skool sync: start accepted' : 'skool sync: start repeated; ignored', {
        runId: request.runId,
        trigger: request.trigger,
      });
      return c.json({ success: true, data: answer }, 202);
    })
    /**
     * Does this process hold the run: scraping it, or with messages of it in the outbox? The Worker asks
     * before it refuses a new run as "already running": a restarted agent-host holds none of the runs
     * its predecessor was scraping (their results, if any were stored, are in the outbox and count).
     */
    .post('/skool-sync/holds', smallBody, async (c) => {
      const body = await c.req.text();
      const failure = await verifySigned(deps.secret, body, c.req.raw.headers);
      if (failure) throw new HttpError('UNAUTHORIZED', VERIFY_MESSAGES[failure]);
      const { runId } = parseContract(HoldsRequest, body, 'holds', c.req.header(IDEMPOTENCY_HEADER) ?? null);
      // Not "held: false": that would fail a run the host that does sync is still scraping.
      if (!deps.runSync) throw syncOff();
      const pending = (await deps.outbox.pendingKeys?.()) ?? [];
      const held = current?.runId === runId || pending.some((key) => key.startsWith(`${runId}:`));
      log('info', 'skool sync: asked whether a run is held', { runId, held });
      return c.json({ success: true, data: { runId, held } }, 200);
    });
  const refuse = (c: Context, err: HttpError) =>
    c.json({ success: false, error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } }, STATUS[err.code]);
  app.notFound((c) => refuse(c, new HttpError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof HttpError) return refuse(c, err);
    log('error', 'agent-host: unhandled error', { path: c.req.path, ...describeError(err) });
    return refuse(c, new HttpError('INTERNAL_ERROR', 'internal error'));
  });

  return {
    app,
    running: () => current?.runId ?? null,
    idle: async () => {
      await current?.done;
    },
  };
}

/** Validates a body against the contract; the idempotency key must be the run id it names. */
function parseContract<T extends { runId: string }>(schema: z.ZodType<T>, body: string, what: string, idempotencyKey: string | null): T {
  const value = jsonOf(body);
  if (value === undefined) throw new HttpError('VALIDATION_ERROR', 'body is not JSON');
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const fields = contractIssues(parsed.error);
    log('warn', `skool sync: ${what} refused: it does not match the contract`, { fields });
    throw new HttpError('VALIDATION_ERROR', parsed.error.issues[0]?.message ?? `invalid ${what} request`, fields);
  }
  if (idempotencyKey !== parsed.data.runId) throw new HttpError('VALIDATION_ERROR', 'Idempotency-Key must equal runId');
  return parsed.data;
}

export interface SkoolSyncHost {
  url: string;
  outbox: Outbox;
  sync: SkoolSyncServer;
  server: Server;
  close(): Promise<void>;
}

/**
 * Wires the Skool sync from the environment: config (fails fast), the outbox (replaying what an
 * earlier process left), the scraper, and the server listening on AGENT_HOST_PORT.
 */
export function startSkoolSyncHost(
  env: Env = process.env,
  options: Parameters<typeof openSkoolSyncHost>[1] & { config?: Partial<SkoolSyncConfig> } = {},
): Promise<SkoolSyncHost> {
  return openSkoolSyncHost({ ...loadSkoolSyncConfig(env), ...options.config }, options);
}

/** The same from a configuration already read (the host reads it once, for both sides). */
export async function openSkoolSyncHost(
  config: SkoolSyncConfig,
  options: { host?: string; timeouts?: Partial<ScrapeTimeouts> } & Pick<SkoolSyncServerDeps, 'health' | 'accepting'> = {},
): Promise<SkoolSyncHost> {
  const outbox = await Outbox.open({ dir: config.outboxDir, secret: config.secret });
  const scraper = config.scraper;
  const sync = createSkoolSyncServer({
    secret: config.secret,
    outbox,
    ...(options.health ? { health: options.health } : {}),
    ...(options.accepting ? { accepting: options.accepting } : {}),
    runSync: scraper
      ? (request) =>
          runSkoolSync(request, {
            outbox,
            progress: { secret: config.secret },
            scrape: (onScraped) => scrapeSkool({ ...scraper, ...(options.timeouts ? { timeouts: options.timeouts } : {}) }, onScraped),
          })
      : null,
  });
  // Global Request/Response stay Node's own: the agent worker's SDK shares this process.
  const server = createAdaptorServer({ fetch: sync.app.fetch, overrideGlobalObjects: false }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  const sandbox = scraper ? sandboxMode(scraper.chromiumSandbox) : null;
  log('info', scraper ? 'agent-host: skool sync listening' : 'agent-host: skool sync off here (SKOOL_SYNC=off); /health listening', {
    url,
    outboxDir: config.outboxDir,
    outboxDepth: outbox.depth,
    ...(sandbox ? { chromiumSandbox: sandbox.sandboxed ? 'on' : `off: ${sandbox.why}` } : {}),
  });
  return {
    url,
    outbox,
    sync,
    server,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await outbox.close();
    },
  };
}
