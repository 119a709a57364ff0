/**
 * A durable outbox for signed webhooks to the Worker: each message is a JSON file, written (and
 * fsynced) before it is sent and removed once the receiver answers 2xx. Files left by a crash or an
 * outage are replayed, oldest first, when the next instance opens the folder. One message at a time,
 * in order: a receiver that is down holds the queue, so a run's final message never overtakes its
 * chunks. Retries back off exponentially (capped); a 4xx other than 408/429 is permanent, logged and
 * set aside in `dropped/`. The receiver dedupes by Idempotency-Key, so a retry after a lost answer is
 * harmless. Knows nothing of what it carries.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, log } from '../../../workers/src/lib/log';
import { signedHeaders } from '../../../workers/src/lib/signing';

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
  fetch?: typeof fetch;
}

/** A message as stored on disk: the body is kept as the exact string that gets signed. */
interface StoredMessage {
  v: 1;
  url: string;
  idempotencyKey: string;
  body: string;
  createdAt: string;
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

export class Outbox {
  private readonly queue: string[] = [];
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
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
    const temp = join(this.options.dir, `${name}.tmp`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(JSON.stringify(message));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(this.options.dir, name));
    this.queue.push(name);
    this.kick();
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
        log('error', 'outbox: unreadable message set aside', { file: name, ...describeError(err) });
        await this.setAside(name);
        continue;
      }

      try {
        await this.deliver(message);
        await rm(join(this.options.dir, name), { force: true });
        this.done(name);
        if (attempt > 0) log('info', 'outbox: delivered after retries', { idempotencyKey: message.idempotencyKey, attempts: attempt + 1 });
        attempt = 0;
      } catch (err) {
        if (this.closed) break;
        const failure = err instanceof DeliveryError ? err : new DeliveryError(String(err), true);
        if (!failure.retryable) {
          log('error', 'outbox: receiver refused the message for good; dropped', {
            url: message.url,
            idempotencyKey: message.idempotencyKey,
            status: failure.status,
            reason: failure.message,
          });
          await this.setAside(name);
          attempt = 0;
          continue;
        }
        attempt += 1;
        const backoff = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(attempt - 1, 30));
        // Jitter, so many agent-hosts (or a restart) do not retry in step; Retry-After wins when given.
        const delay = Math.min(this.maxBackoffMs, failure.retryAfterMs ?? backoff * (0.5 + Math.random() * 0.5));
        log('warn', 'outbox: delivery failed, will retry', {
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
      const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      throw new DeliveryError(`HTTP ${res.status}: ${text.slice(0, 300)}`, !permanent, res.status, retryAfterMs(res.headers.get('Retry-After')));
    } finally {
      clearTimeout(timer);
      this.inFlight = null;
    }
  }

  private async setAside(name: string): Promise<void> {
    const folder = join(this.options.dir, DROPPED);
    try {
      await mkdir(folder, { recursive: true });
      await rename(join(this.options.dir, name), join(folder, name));
    } catch (err) {
      log('error', 'outbox: could not move a dropped message aside; deleting it', { file: name, ...describeError(err) });
      await rm(join(this.options.dir, name), { force: true });
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
