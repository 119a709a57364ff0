/** One JSON object per line, for Workers Logs. Never pass secrets, tokens, passwords or transcript text. */
type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogFields {
  requestId?: string;
  userId?: string;
  sessionId?: string;
  [key: string]: unknown;
}

export function log(level: Level, msg: string, fields: LogFields = {}): void {
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** What a log line says about a thrown value: which error and where, never the values it carried. */
export type ErrorFields = {
  errorName: string;
  /** SQLITE_CONSTRAINT, D1_TYPE_ERROR, or the error's own string `code`. */
  errorCode?: string;
  errorMessage: string;
  /** A failed query's SQL, its string literals blanked; the values are bound parameters, never logged. */
  query?: string;
  paramCount?: number;
  /** Characters (or bytes) of all parameters together: the size of what was written, not what. */
  paramsLength?: number;
  /** Stack frames only: the stack's first line repeats the message. */
  stack?: string;
  cause?: ErrorFields;
};

const MAX_MESSAGE = 300;
const MAX_QUERY = 600;
const MAX_CAUSES = 3;

const cap = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** SQL string literals blanked (double quotes are identifiers in SQL, kept). */
const blankSqlLiterals = (sql: string) => sql.replace(/'(?:[^']|'')*'/g, "'…'");

/**
 * Quoted text blanked: D1 quotes the value it could not bind, V8's JSON.parse a piece of its input,
 * FTS5 the word it stopped at. SQLite names tables and columns unquoted, so those stay.
 */
const blankQuoted = (text: string) =>
  text
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/“[^”]*”/g, '“…”');

/** Each string parameter's own text cut out too, wherever a message repeats it unquoted. */
function scrub(text: string, params: readonly unknown[]): string {
  let out = text;
  for (const p of params) if (typeof p === 'string' && p.length >= 4) out = out.split(p).join('…');
  return out;
}

const codeOf = (err: Error): string | undefined => {
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string' && /^[\w.-]{1,64}$/.test(own)) return own;
  return /\bSQLITE_[A-Z_]+\b/.exec(err.message)?.[0] ?? /\bD1_[A-Z_]+\b/.exec(err.message)?.[0];
};

/** The frames of `err.stack`, without its header (`Name: message`, which may span lines). */
function framesOf(err: Error): string | undefined {
  const stack = err.stack;
  if (!stack) return undefined;
  const header = err.message ? `${err.name}: ${err.message}` : err.name;
  // Anything but a stack that starts with its header is not trusted to be frames alone.
  if (!stack.startsWith(header)) return undefined;
  const frames = stack
    .slice(header.length)
    .split('\n')
    .filter((line) => /^\s+at /.test(line));
  return frames.length > 0 ? frames.join('\n') : undefined;
}

/** A drizzle failed query (DrizzleQueryError): its message is the SQL and every parameter value. */
const isFailedQuery = (err: Error): err is Error & { query: string; params: unknown[] } =>
  typeof (err as { query?: unknown }).query === 'string' && Array.isArray((err as { params?: unknown }).params);

const lengthOf = (p: unknown): number =>
  p === null || p === undefined ? 0 : p instanceof ArrayBuffer ? p.byteLength : ArrayBuffer.isView(p) ? p.byteLength : String(p).length;

/**
 * A loggable summary of an unknown thrown value. Safe by construction for the database: a failed
 * query gives its SQL shape, the database's error and the count and size of its parameters, never
 * their values; D1's and JSON.parse's messages have their quoted text blanked; every stack keeps its
 * frames only (its first line repeats the message).
 */
export function describeError(err: unknown, depth = 0): ErrorFields {
  if (!(err instanceof Error)) return { errorName: 'NonError', errorMessage: `a thrown value of type ${err === null ? 'null' : typeof err}` };
  if (isFailedQuery(err)) {
    const cause = err.cause instanceof Error ? err.cause : undefined;
    const code = cause ? codeOf(cause) : undefined;
    const stack = framesOf(err);
    return {
      errorName: 'DrizzleQueryError',
      ...(code ? { errorCode: code } : {}),
      errorMessage: cause ? cap(scrub(blankQuoted(cause.message), err.params), MAX_MESSAGE) : 'Failed query',
      query: cap(blankSqlLiterals(err.query), MAX_QUERY),
      paramCount: err.params.length,
      paramsLength: err.params.reduce<number>((n, p) => n + lengthOf(p), 0),
      ...(stack ? { stack } : {}),
    };
  }
  const code = codeOf(err);
  const stack = framesOf(err);
  const cause = err.cause !== undefined && depth < MAX_CAUSES ? describeError(err.cause, depth + 1) : undefined;
  // The database's and the JSON parser's messages may quote values; others (a Skool step name, a
  // LiveKit answer) are the program's own words and are kept whole.
  const mayQuoteValues = err instanceof SyntaxError || /\b(?:D1_|SQLITE_)/.test(err.message);
  return {
    errorName: err.name,
    ...(code ? { errorCode: code } : {}),
    errorMessage: cap(mayQuoteValues ? blankQuoted(err.message) : err.message, MAX_MESSAGE),
    ...(stack ? { stack } : {}),
    ...(cause ? { cause } : {}),
  };
}
