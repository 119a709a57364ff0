// Types for scripts/mailpit.mjs, for TypeScript importers (workers/test/mailpit.global-setup.ts, e2e/stack.ts).

/** The pinned Mailpit version built into .tools/bin when no other binary is found. */
export declare const MAILPIT_VERSION: string;

/** Absolute path of a Mailpit binary: $MAILPIT_BIN, PATH, or .tools/bin (built once with go install). */
export declare function ensureMailpit(): Promise<string>;

export interface MailpitOptions {
  /** Default 1025. */
  smtpPort?: number;
  /** Mailpit's REST API and message views; default 8025. */
  httpPort?: number;
  /** Keep every message (no pruning at 500), enable the Chaos API, refuse recipients starting with `bounce` (550). */
  test?: boolean;
}

export interface Mailpit {
  smtpPort: number;
  /** http:// of the REST API (/api/v1/...) and the views (/view/<ID>.html). */
  httpUrl: string;
  /** Resolves with the exit code (128 + signal number) when it exits. */
  exited: Promise<number>;
  /** SIGTERM, SIGKILL after 5 s; resolves once exited. */
  stop(): Promise<void>;
}

/** Starts Mailpit on 127.0.0.1 (any SMTP login accepted, no TLS, a temporary database); fails if a port is taken. */
export declare function startMailpit(options?: MailpitOptions): Promise<Mailpit>;

/** The command line: `ensure` or `start --smtp N --http M [--test] [--inbox P]`; resolves with the exit code. */
export declare function main(argv: readonly string[]): Promise<number>;
