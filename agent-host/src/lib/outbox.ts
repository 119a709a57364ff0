/**
 * A durable outbox for signed webhooks to the Worker: each message is a JSON file, written (and
 * fsynced) before it is sent and removed once the receiver answers 2xx. Files left by a crash or an
 * outage are replayed, oldest first, when the next instance opens the folder. One message at a time,
 * in order: a receiver that is down holds the queue, so a run's final message never overtakes its
 * chunks. Retries back off exponentially (capped). A message the receiver will never take (400, 413,
 * 415, 422) is set aside in `dropped/` at once; any other refusal (401 and 403 during a secret rotation,
 * 404 or 5xx during a deploy, 408, 409, 429) is retried until the receiver has refused that message for
 * `giveUpAfterMs` (a day), counted from its first refusal, which is stored with it so a restart does not
 * start the count again. While nothing answers at all, nothing is given up. Every drop is logged at error
 * level as `outbox: message dropped`, and /health counts what `dropped/` holds until the retention sweep
 * deletes it. The receiver dedupes by Idempotency-Key, so a retry after a lost answer is harmless.
 * Knows nothing of what it carries.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, log } from '@hybrid-coach/shared/log';
import { signedHeaders } from '@hybrid-coach/shared/signing';

export interface OutboxOptions {
  /** The folder holding pending messages (created if missing). */
  dir: string;
  /** Signs every delivery (AGENT_HOST_SECRET). */
  secret: string;
  /** First retry delay; doubles each failed attempt. */
  baseBackoffMs?: number;
  /** Longest wait between two attempts. */
  maxBackoffMs?: number;
  /** A delivery that takes longer is abandoned and retried. */
  requestTimeoutMs?: number;
  /**
   * How long the receiver may go on refusing one message (401, 403, 404, 5xx, ...) before it is set
   * aside in dropped/, from its first refusal: a secret rotation or a deploy takes minutes to hours,
   * a message that still fails after a day is one the receiver chokes on, and it holds the queue.
   */
  giveUpAfterMs?: number;
  fetch?: typeof fetch;
}

/** Answers that say the receiver will never take this message as it is: set aside at once. */
const NEVER_ACCEPTED = new Set([400, 413, 415, 422]);

/** A message as stored on disk: the body is kept as the exact string that gets signed. */
interface StoredMessage {
  v: 1;
  url: string;
  idempotencyKey: string;
  body: string;
  createdAt: string;
  /** When the receiver first refused it (ISO time); absent until then. */
  firstRefusedAt?: string;
}

/** Why a delivery failed; `retryable` says whether trying again may help. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

const DROPPED = 'dropped';
const DAY_MS = 24 * 60 * 60_000;

export class Outbox {
  private readonly queue: string[] = [];
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly giveUpAfterMs: number;
  private readonly fetch: typeof fetch;
  private pumping: Promise<void> | null = null;
  private closed = false;
  private inFlight: AbortController | null = null;
  private wake: (() => void) | null = null;
  private idleWaiters: (() => void)[] = [];
  private seq = 0;

  private constructor(private readonly options: OutboxOptions) {
    this.baseBackoffMs = options.baseBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? DAY_MS;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Opens the folder and starts delivering whatever an earlier process left in it. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options);
    await mkdir(options.dir, { recursive: true });
    const names = await readdir(options.dir);
    // A temp file is a message whose enqueue never returned: nobody was told it was stored.
    await Promise.all(names.filter((n) => n.endsWith('.tmp')).map((n) => rm(join(options.dir, n), { force: true })));
    outbox.queue.push(...names.filter((n) => n.endsWith('.json')).sort());
    if (outbox.queue.length > 0) log('info', 'outbox: replaying messages left by an earlier run', { dir: options.dir, count: outbox.queue.length });
    outbox.kick();
    return outbox;
  }

  /** Messages stored and not yet delivered (or dropped). */
  get depth(): number {
    return this.queue.length;
  }

  /** Stores a signed POST of `payload` (as JSON) to `url`; resolves once it is on disk. */
  async enqueue(url: string, idempotencyKey: string, payload: unknown): Promise<void> {
    if (this.closed) throw new Error('outbox is closed');
    const message: StoredMessage = { v: 1, url, idempotencyKey, body: JSON.stringify(payload), createdAt: new Date().toISOString() };
    // Names sort in enqueue order, across restarts too.
    const name = `${Date.now().toString().padStart(15, '0')}-${(this.seq++).toString().padStart(6, '0')}-${randomBytes(4).toString('hex')}.json`;
    await writeDurably(join(this.options.dir, name), message);
    this.queue.push(name);
    this.kick();
  }

  /** The idempotency keys of the messages stored and not yet delivered (an unreadable file is left out). */
  async pendingKeys(): Promise<string[]> {
    const keys = await Promise.all(
      [...this.queue].map(async (name) => {
        try {
          return (JSON.parse(await readFile(join(this.options.dir, name), 'utf8')) as StoredMessage).idempotencyKey;
        } catch {
          // Delivered (and removed) while we read, or not a message: not pending.
          return null;
        }
      }),
    );
    return keys.filter((k): k is string => typeof k === 'string');
  }

  /** Resolves when every stored message has been delivered or dropped. */
  drained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops sending; undelivered messages stay on disk for the next instance. */
  async close(): Promise<void> {
    this.closed = true;
    this.inFlight?.abort();
    this.wake?.();
    await this.pumping;
  }

  private kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // An enqueue may have landed between the loop's last check and here.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async pump(): Promise<void> {
    let attempt = 0;
    while (!this.closed && this.queue.length > 0) {
      const name = this.queue[0] as string;
      let message: StoredMessage;
      try {
        message = JSON.parse(await readFile(join(this.options.dir, name), 'utf8')) as StoredMessage;
        if (message.v !== 1 || typeof message.url !== 'string' || typeof message.body !== 'string') throw new Error('not an outbox message');
      } catch (err) {
        this.logDrop({ file: name, why: 'unreadable', reason: describeError(err).errorMessage });
        await this.setAside(name);
        continue;
      }

      try {
        await this.deliver(message);
        await rm(join(this.options.dir, name), { force: true });
        this.done(name);
        if (attempt > 0)
          log('info', 'outbox: delivered after retries', { outbox: this.options.dir, idempotencyKey: message.idempotencyKey, attempts: attempt + 1 });
        attempt = 0;
      } catch (err) {
        if (this.closed) break;
        const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), true);
        attempt += 1;
        // Only an answer counts against a message: while nothing answers, waiting is all there is to do.
        const refusedSince = failure.status === null || !failure.retryable ? null : (message.firstRefusedAt ?? (await this.noteFirstRefusal(name, message)));
        const refusedForMs = refusedSince === null ? 0 : Date.now() - Date.parse(refusedSince);
        if (!failure.retryable || refusedForMs >= this.giveUpAfterMs) {
          this.logDrop({
            url: message.url,
            idempotencyKey: message.idempotencyKey,
            status: failure.status,
            attempts: attempt,
            why: failure.retryable
              ? `refused for ${Math.round(refusedForMs / 60_000)} minutes, longer than the outbox waits`
              : 'the receiver will never accept it',
            reason: failure.message,
            ...(refusedSince === null ? {} : { firstRefusedAt: refusedSince }),
          });
          await this.setAside(name, message);
          attempt = 0;
          continue;
        }
        const backoff = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(attempt - 1, 30));
        // Jitter, so many agent-hosts (or a restart) do not retry in step; Retry-After wins when given.
        const delay = Math.min(this.maxBackoffMs, failure.retryAfterMs ?? backoff * (0.5 + Math.random() * 0.5));
        log('warn', 'outbox: delivery failed, will retry', {
          outbox: this.options.dir,
          url: message.url,
          idempotencyKey: message.idempotencyKey,
          status: failure.status,
          reason: failure.message,
          attempt,
          retryInMs: Math.round(delay),
        });
        await this.sleep(delay);
      }
    }
  }

  /** Error level, one stable message, for the alert on drops (docs/operations.md); never the body. */
  private logDrop(fields: Record<string, unknown>): void {
    log('error', 'outbox: message dropped', { outbox: this.options.dir, ...fields, keptIn: join(this.options.dir, DROPPED) });
  }

  /** Stores when the receiver first refused the message, so the count survives a restart; resolves with it. */
  private async noteFirstRefusal(name: string, message: StoredMessage): Promise<string> {
    const at = new Date().toISOString();
    try {
      await writeDurably(join(this.options.dir, name), { ...message, firstRefusedAt: at });
    } catch (err) {
      // Not fatal: the count starts again at the next refusal, which errs on the side of waiting.
      log('warn', 'outbox: could not note a refusal on disk', { outbox: this.options.dir, file: name, ...describeError(err) });
    }
    return at;
  }

  private async deliver(message: StoredMessage): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    const timer = setTimeout(() => controller.abort(), this.requestTimeoutMs);
    try {
      // Signed at each attempt: the receiver's replay window must not expire during an outage.
      const headers = await signedHeaders(this.options.secret, message.body, message.idempotencyKey);
      let res: Response;
      try {
        res = await this.fetch(message.url, { method: 'POST', headers, body: message.body, signal: controller.signal, redirect: 'manual' });
      } catch (err) {
        throw new DeliveryError(controller.signal.aborted ? `no answer within ${this.requestTimeoutMs} ms` : networkReason(err), true);
      }
      const text = await res.text().catch(() => '');
      if (res.status >= 200 && res.status < 300) return;
      throw new DeliveryError(
        `HTTP ${res.status}: ${answerOf(text)}`,
        !NEVER_ACCEPTED.has(res.status),
        res.status,
        retryAfterMs(res.headers.get('Retry-After')),
      );
    } finally {
      clearTimeout(timer);
      this.inFlight = null;
    }
  }

  /**
   * Moves a message into dropped/ as it was enqueued (no refusal noted, so moving it back replays it
   * afresh), written anew so its modification time is the drop's: the retention sweep counts from it.
   */
  private async setAside(name: string, message?: StoredMessage): Promise<void> {
    const folder = join(this.options.dir, DROPPED);
    const from = join(this.options.dir, name);
    try {
      await mkdir(folder, { recursive: true });
      if (message) {
        const { firstRefusedAt: _, ...asEnqueued } = message;
        await writeDurably(join(folder, name), asEnqueued);
        await rm(from, { force: true });
      } else {
        await rename(from, join(folder, name));
      }
    } catch (err) {
      log('error', 'outbox: could not move a dropped message aside; deleting it', { outbox: this.options.dir, file: name, ...describeError(err) });
      await rm(from, { force: true });
    }
    this.done(name);
  }

  private done(name: string): void {
    const index = this.queue.indexOf(name);
    if (index >= 0) this.queue.splice(index, 1);
    if (this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        finish();
      };
    });
  }
}

/** Writes `value` as JSON to `path` through a synced temp file and a rename: a crash leaves the old file or the new. */
async function writeDurably(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(JSON.stringify(value));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
}

/**
 * The receiver's reason, for the log: the Worker's `{ error: { code, message } }` without its `fields`
 * (a validation error may quote what was sent), or the start of any other answer.
 */
function answerOf(text: string): string {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (error && typeof error.code === 'string') return `${error.code}: ${String(error.message ?? '')}`.slice(0, 300);
  } catch {
    // not JSON: a proxy's or the platform's own page
  }
  return text.slice(0, 200);
}

/** Messages set aside in the outbox folder `dir` (its dropped/), waiting for a person to replay or let go. */
export async function droppedCount(dir: string): Promise<number> {
  const names = await readdir(join(dir, DROPPED)).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.json')).length;
}

/**
 * Deletes what the outbox folder `dir` set aside more than `retentionMs` ago (by the time it was set
 * aside); resolves with how many. Files only: the folders stay, an outbox may be writing into them.
 */
export async function deleteOldDropped(dir: string, retentionMs: number, now = Date.now()): Promise<number> {
  const folder = join(dir, DROPPED);
  const names = await readdir(folder).catch(() => [] as string[]);
  let deleted = 0;
  // A .tmp there is a move aside that a crash cut short: the message itself stayed in the queue.
  for (const name of names.filter((n) => n.endsWith('.json') || n.endsWith('.tmp'))) {
    const path = join(folder, name);
    const info = await stat(path).catch(() => null);
    if (!info || now - info.mtimeMs <= retentionMs) continue;
    await rm(path, { force: true });
    if (name.endsWith('.json')) deleted += 1;
  }
  return deleted;
}

/** fetch's "fetch failed" says nothing; its cause (ECONNREFUSED, ENOTFOUND, ...) does. */
function networkReason(err: unknown): string {
  const message = describeError(err).errorMessage;
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${message}: ${typeof code === 'string' ? `${code} ` : ''}${cause.message}`;
  }
  return message;
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
