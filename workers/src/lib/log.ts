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

/** A loggable summary of an unknown thrown value (no stack in the message field). */
export function describeError(err: unknown): { errorName: string; errorMessage: string; stack?: string } {
  if (err instanceof Error) return { errorName: err.name, errorMessage: err.message, stack: err.stack };
  return { errorName: 'NonError', errorMessage: String(err) };
}
