/**
 * The agent-host's HTTP side of the Skool sync: `POST /skool-sync/start` (signed by the Worker; starts
 * a run in the background, one at a time, idempotent per run id) and `GET /health` (the whole
 * agent-host's, when it runs with the agent worker: see ../host.ts).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, log } from '@hybrid-coach/shared/log';
import { IDEMPOTENCY_HEADER, verifySigned } from '@hybrid-coach/shared/signing';
import { sandboxMode } from './chromium';
import { type SkoolSyncConfig, loadSkoolSyncConfig } from './config';
import type { StartRequest } from './contract';
import { Outbox } from '../lib/outbox';
import { type ScrapeTimeouts, scrapeSkool } from './scraper';
import { runSkoolSync } from './sync';

const STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

/** The one error the server throws; answered as `{ success: false, error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly code: keyof typeof STATUS,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const MAX_BODY_BYTES = 16 * 1024;
/** Run ids remembered for idempotency (in memory: a restart forgets them). */
const REMEMBERED_RUNS = 1000;
const VERIFY_MESSAGES = {
  missing: 'missing or malformed signature headers',
  stale: 'timestamp outside the replay window',
  'bad-signature': 'signature does not match',
} as const;

export interface SkoolSyncServerDeps {
  secret: string;
  /** Its depth is reported by /health. */
  outbox: Pick<Outbox, 'depth'>;
  /** Runs one sync to the end (scrape and store every message in the outbox). */
  runSync: (request: StartRequest) => Promise<unknown>;
  /** More of /health (the agent worker, all outboxes); `ok: false` answers 503. */
  health?: () => Promise<{ ok?: boolean }>;
  /** False once the process is shutting down: new runs are refused with 503. */
  accepting?: () => boolean;
}

export interface SkoolSyncServer {
  server: Server;
  /** The run in progress, if any. */
  running(): string | null;
  /** Resolves when the run in progress (if any) has finished. */
  idle(): Promise<void>;
}

export function createSkoolSyncServer(deps: SkoolSyncServerDeps): SkoolSyncServer {
  let current: { runId: string; done: Promise<void> } | null = null;
  const seen = new Set<string>();

  const start = (request: StartRequest): { runId: string; accepted: boolean } => {
    if (seen.has(request.runId)) return { runId: request.runId, accepted: false };
    if (deps.accepting && !deps.accepting()) throw new HttpError('SERVICE_UNAVAILABLE', 'the agent-host is shutting down; no new Skool sync');
    if (current) throw new HttpError('CONFLICT', `a Skool sync is already running (run ${current.runId})`);
    seen.add(request.runId);
    if (seen.size > REMEMBERED_RUNS) seen.delete(seen.values().next().value as string);
    const done = deps
      .runSync(request)
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://agent-host').pathname;
    if (req.method === 'GET' && path === '/health') {
      const report = { ok: true, syncRunning: current !== null, outboxDepth: deps.outbox.depth, ...(await deps.health?.()) };
      return json(res, report.ok === false ? 503 : 200, report);
    }
    if (req.method === 'POST' && path === '/skool-sync/start') {
      const body = await readBody(req, MAX_BODY_BYTES);
      const failure = await verifySigned(deps.secret, body, { get: (name) => header(req, name) });
      if (failure) throw new HttpError('UNAUTHORIZED', VERIFY_MESSAGES[failure]);
      const request = parseStart(body, header(req, IDEMPOTENCY_HEADER));
      const answer = start(request);
      log('info', answer.accepted ? 'skool sync: start accepted' : 'skool sync: start repeated; ignored', {
        runId: request.runId,
        trigger: request.trigger,
      });
      return json(res, 202, { success: true, data: answer });
    }
    throw new HttpError('NOT_FOUND', `no route for ${req.method} ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!(err instanceof HttpError)) log('error', 'agent-host: unhandled error', { path: req.url, ...describeError(err) });
      const known = err instanceof HttpError ? err : new HttpError('INTERNAL_ERROR', 'internal error');
      if (res.headersSent) return void res.destroy();
      json(res, STATUS[known.code], { success: false, error: { code: known.code, message: known.message } });
    });
  });

  return {
    server,
    running: () => current?.runId ?? null,
    idle: async () => {
      await current?.done;
    },
  };
}

/** Validates the start body; the idempotency key must be the run id it starts. */
function parseStart(body: string, idempotencyKey: string | null): StartRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpError('VALIDATION_ERROR', 'body is not JSON');
  }
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { runId, trigger, resultUrl } = v;
  if (typeof runId !== 'string' || !/^[\w.:-]{1,128}$/.test(runId)) throw new HttpError('VALIDATION_ERROR', 'runId must be 1-128 characters of [A-Za-z0-9_.:-]');
  if (trigger !== 'cron' && trigger !== 'admin') throw new HttpError('VALIDATION_ERROR', 'trigger must be "cron" or "admin"');
  if (typeof resultUrl !== 'string' || !/^https?:\/\//.test(resultUrl) || !URL.canParse(resultUrl)) {
    throw new HttpError('VALIDATION_ERROR', 'resultUrl must be an http(s) URL');
  }
  if (idempotencyKey !== runId) throw new HttpError('VALIDATION_ERROR', 'Idempotency-Key must equal runId');
  return { runId, trigger, resultUrl };
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError('PAYLOAD_TOO_LARGE', `body over ${limit} bytes`));
        req.resume();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface SkoolSyncHost {
  url: string;
  outbox: Outbox;
  sync: SkoolSyncServer;
  close(): Promise<void>;
}

/**
 * Wires the Skool sync from the environment: config (fails fast), the outbox (replaying what an
 * earlier process left), the scraper, and the server listening on AGENT_HOST_PORT.
 */
export async function startSkoolSyncHost(
  env: Record<string, string | undefined> = process.env,
  options: {
    host?: string;
    config?: Partial<SkoolSyncConfig>;
    timeouts?: Partial<ScrapeTimeouts>;
  } & Pick<SkoolSyncServerDeps, 'health' | 'accepting'> = {},
): Promise<SkoolSyncHost> {
  const config = { ...loadSkoolSyncConfig(env), ...options.config };
  const outbox = await Outbox.open({ dir: config.outboxDir, secret: config.secret });
  const sync = createSkoolSyncServer({
    secret: config.secret,
    outbox,
    ...(options.health ? { health: options.health } : {}),
    ...(options.accepting ? { accepting: options.accepting } : {}),
    runSync: (request) =>
      runSkoolSync(request, { outbox, scrape: () => scrapeSkool({ ...config.scraper, ...(options.timeouts ? { timeouts: options.timeouts } : {}) }) }),
  });
  await new Promise<void>((resolve, reject) => {
    sync.server.once('error', reject);
    sync.server.listen(config.port, options.host, () => resolve());
  });
  const address = sync.server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${address.port}`;
  const sandbox = sandboxMode(config.scraper.chromiumSandbox);
  log('info', 'agent-host: skool sync listening', {
    url,
    outboxDir: config.outboxDir,
    outboxDepth: outbox.depth,
    chromiumSandbox: sandbox.sandboxed ? 'on' : `off: ${sandbox.why}`,
  });
  return {
    url,
    outbox,
    sync,
    close: async () => {
      await new Promise<void>((resolve) => {
        sync.server.closeAllConnections();
        sync.server.close(() => resolve());
      });
      await outbox.close();
    },
  };
}
