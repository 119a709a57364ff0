/**
 * A small SMTP submission client (RFC 5321, 3207 STARTTLS, 4954 AUTH PLAIN/LOGIN) over `cloudflare:sockets`.
 *
 * Ours rather than worker-mailer 1.2.1: that one loops forever once the server closes the connection
 * (its read loop ignores `done`), ignores its response timeout, sends in plain text when STARTTLS is not
 * offered, and reports failures as bare strings. An outbox needs to know, for each failure, whether the
 * message may be tried again and whether the server may already have accepted it: `SmtpError` says both.
 *
 * Every error message is built here (phase, reply code, enhanced code, a trimmed reply with addresses
 * masked): never an address, a body or a credential.
 */
import { connect } from 'cloudflare:sockets';
import type { MailConfig } from './config';

export type SmtpPhase = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'auth' | 'mail' | 'rcpt' | 'data' | 'body' | 'rset';

export class SmtpError extends Error {
  override name = 'SmtpError';
  constructor(
    readonly phase: SmtpPhase,
    message: string,
    readonly options: {
      code?: number;
      enhanced?: string;
      /** The same message may succeed later (4xx, a dropped connection, a timeout before the final dot). */
      retryable: boolean;
      /** The final dot was written and no answer came: the server may have accepted the message. */
      outcomeUnknown?: boolean;
    },
  ) {
    super(message);
  }
  get retryable(): boolean {
    return this.options.retryable;
  }
  get outcomeUnknown(): boolean {
    return this.options.outcomeUnknown ?? false;
  }
  /** One line for logs and `email_outbox.last_error`. */
  get summary(): string {
    return `${this.phase}${this.options.code ? ` ${this.options.code}` : ''}${this.options.enhanced ? ` ${this.options.enhanced}` : ''}: ${this.message}`;
  }
}

interface Reply {
  code: number;
  lines: string[];
}

export interface Envelope {
  from: string;
  to: string;
}

export interface SmtpSession {
  /** MAIL FROM, RCPT TO, DATA and the message; resolves once the server has accepted it (250). */
  send(envelope: Envelope, message: string): Promise<void>;
  /** RSET: forget a failed transaction so the connection can carry the next message. */
  reset(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const encoder = new TextEncoder();

/** What a server said, for a log line: no addresses, at most 120 characters. */
function masked(lines: string[]): string {
  return lines
    .join(' ')
    .replace(/<[^>]*>/g, '<addr>')
    .replace(/[^\s<>]+@[^\s<>]+/g, '<addr>')
    .slice(0, 120);
}

function replyError(phase: SmtpPhase, reply: Reply, outcomeUnknown = false): SmtpError {
  const enhanced = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply.lines.at(-1) ?? '')?.[1];
  return new SmtpError(phase, masked(reply.lines.map((l) => l.replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, ''))) || 'no text', {
    code: reply.code,
    ...(enhanced ? { enhanced } : {}),
    retryable: reply.code >= 400 && reply.code < 500,
    outcomeUnknown,
  });
}

/** Reads CRLF lines and whole (possibly multi-line) replies from a socket; never waits past the timeout. */
class Connection {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;
  private buffer = '';
  /** Set by any failed read or write: the stream is out of step and only closing it is safe. */
  broken = false;
  private decoder = new TextDecoder();

  constructor(
    private socket: Socket,
    private timeoutMs: number,
  ) {
    this.reader = socket.readable.getReader();
    this.writer = socket.writable.getWriter();
  }

  private async withTimeout<T>(phase: SmtpPhase, work: Promise<T>, outcomeUnknown = false): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SmtpError(phase, `no answer within ${this.timeoutMs} ms`, { retryable: !outcomeUnknown, outcomeUnknown })),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      // Every failure below a reply (timeout, closed, garbled, too long) leaves the stream out of step.
      this.broken = true;
      throw err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  private async line(phase: SmtpPhase, outcomeUnknown: boolean): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return line;
      }
      const { value, done } = await this.reader.read();
      if (done) throw new SmtpError(phase, 'the server closed the connection', { retryable: !outcomeUnknown, outcomeUnknown });
      this.buffer += this.decoder.decode(value, { stream: true });
      if (this.buffer.length > 64 * 1024) throw new SmtpError(phase, 'reply too long', { retryable: false, outcomeUnknown });
    }
  }

  /** One reply: lines `NNN-text` up to the last `NNN text`. */
  async reply(phase: SmtpPhase, outcomeUnknown = false): Promise<Reply> {
    return this.withTimeout(
      phase,
      (async () => {
        const lines: string[] = [];
        for (;;) {
          const line = await this.line(phase, outcomeUnknown);
          const m = /^(\d{3})([ -]?)(.*)$/.exec(line);
          if (!m) throw new SmtpError(phase, 'not an SMTP reply', { retryable: !outcomeUnknown, outcomeUnknown });
          const [, code, separator, text] = m as unknown as [string, string, string, string];
          lines.push(text);
          if (separator !== '-') return { code: Number(code), lines };
        }
      })(),
      outcomeUnknown,
    );
  }

  async write(phase: SmtpPhase, text: string, outcomeUnknown = false): Promise<void> {
    try {
      await this.withTimeout(phase, this.writer.write(encoder.encode(text)), outcomeUnknown);
    } catch (err) {
      this.broken = true;
      if (err instanceof SmtpError) throw err;
      throw new SmtpError(phase, 'the connection broke while writing', { retryable: !outcomeUnknown, outcomeUnknown });
    }
  }

  /** A command and its reply; anything but one of `expect` is an SmtpError. */
  async command(phase: SmtpPhase, text: string, expect: number[]): Promise<Reply> {
    await this.write(phase, `${text}\r\n`);
    const reply = await this.reply(phase);
    if (!expect.includes(reply.code)) throw replyError(phase, reply);
    return reply;
  }

  /** Upgrades to TLS (STARTTLS): the plain socket's streams are released first, as workerd requires. */
  startTls(): void {
    this.reader.releaseLock();
    this.writer.releaseLock();
    this.socket = this.socket.startTls();
    this.reader = this.socket.readable.getReader();
    this.writer = this.socket.writable.getWriter();
    this.buffer = '';
  }

  async close(): Promise<void> {
    try {
      await this.socket.close();
    } catch {
      // Already closed by the server: nothing left to release.
    }
  }
}

/** Lines that start with a dot get one more (RFC 5321 §4.5.2); CRLF line ends throughout. */
export function dotStuff(message: string): string {
  return message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
}

async function ehlo(conn: Connection, domain: string): Promise<Set<string>> {
  const reply = await conn.command('ehlo', `EHLO ${domain}`, [250]);
  // The first line is the greeting; the others are extensions: `STARTTLS`, `AUTH PLAIN LOGIN`, ...
  const extensions = new Set<string>();
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.toUpperCase().split(/[ =]+/);
    extensions.add(keyword);
    if (keyword === 'AUTH') for (const mechanism of params) extensions.add(`AUTH ${mechanism}`);
  }
  return extensions;
}

async function authenticate(conn: Connection, extensions: Set<string>, credentials: NonNullable<MailConfig['credentials']>): Promise<void> {
  const b64 = (s: string) => btoa(String.fromCharCode(...encoder.encode(s)));
  // Credentials were configured: a server that does not offer AUTH is an error, never an unauthenticated send.
  if (extensions.has('AUTH PLAIN')) {
    await conn.command('auth', `AUTH PLAIN ${b64(`\u0000${credentials.username}\u0000${credentials.password}`)}`, [235]);
  } else if (extensions.has('AUTH LOGIN')) {
    await conn.command('auth', 'AUTH LOGIN', [334]);
    await conn.command('auth', b64(credentials.username), [334]);
    await conn.command('auth', b64(credentials.password), [235]);
  } else {
    throw new SmtpError('auth', 'the server offers no AUTH PLAIN or LOGIN, and credentials are configured', { retryable: false });
  }
}

/**
 * Opens one connection (greeting, EHLO, STARTTLS when configured, AUTH), runs `fn` with it, and always
 * closes it (QUIT when the connection is still good).
 */
export async function withSmtp<T>(config: MailConfig, fn: (session: SmtpSession) => Promise<T>, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}): Promise<T> {
  let socket: Socket;
  try {
    socket = connect(
      { hostname: config.host, port: config.port },
      { secureTransport: config.tls === 'on' ? 'on' : config.tls === 'starttls' ? 'starttls' : 'off', allowHalfOpen: false },
    );
  } catch (err) {
    throw new SmtpError('connect', `could not open a connection (${err instanceof Error ? err.name : 'error'})`, { retryable: true });
  }
  // A refused or dropped connection also rejects `closed`: the failure is reported through `opened` and the reads.
  socket.closed.catch(() => undefined);
  const conn = new Connection(socket, timeoutMs);
  let finished = false;
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([socket.opened, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs)))]);
    } catch {
      throw new SmtpError('connect', `could not connect to the SMTP server on port ${config.port}`, { retryable: true });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    const greeting = await conn.reply('greeting');
    if (greeting.code !== 220) throw replyError('greeting', { ...greeting, code: greeting.code < 500 ? greeting.code : 421 });
    let extensions = await ehlo(conn, config.domain);
    if (config.tls === 'starttls') {
      if (!extensions.has('STARTTLS'))
        throw new SmtpError('starttls', 'SMTP_TLS=starttls and the server does not offer STARTTLS: not sending in plain text', { retryable: false });
      await conn.command('starttls', 'STARTTLS', [220]);
      conn.startTls();
      extensions = await ehlo(conn, config.domain);
    }
    if (config.credentials) await authenticate(conn, extensions, config.credentials);

    const session: SmtpSession = {
      async send({ from, to }, message) {
        for (const address of [from, to]) {
          if (/[\s<>]/.test(address)) throw new SmtpError('mail', 'an envelope address has spaces or angle brackets', { retryable: false });
        }
        await conn.command('mail', `MAIL FROM:<${from}>`, [250]);
        await conn.command('rcpt', `RCPT TO:<${to}>`, [250, 251]);
        await conn.command('data', 'DATA', [354]);
        const body = dotStuff(message);
        await conn.write('body', `${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, true);
        const accepted = await conn.reply('body', true);
        if (accepted.code !== 250) throw replyError('body', accepted);
      },
      async reset() {
        await conn.command('rset', 'RSET', [250]);
      },
    };
    const result = await fn(session);
    finished = true;
    return result;
  } finally {
    // QUIT only after `fn` returned and the stream is still in step: a rejected message (a reply code) keeps
    // the connection usable, a broken read or write does not.
    if (finished && !conn.broken) {
      try {
        await conn.write('rset', 'QUIT\r\n');
        await conn.reply('rset');
      } catch {
        // The messages are already accepted; a QUIT that fails changes nothing.
      }
    }
    await conn.close();
  }
}
