/**
 * agents-js puts what was said into some of its log lines, in fields named `lk.pii.*`: "starting
 * preemptive generation" carries the client's words (`lk.pii.new_transcript`), "playout completed
 * without interruption" the AI's (`lk.pii.message`). LiveKit Cloud redacts those fields when it takes
 * the logs; the JSON this process prints keeps them. No log of ours holds what was said (issue 17,
 * e2e/no-secrets-in-logs.test.ts), so every `lk.pii.*` field is masked, whatever its name, and the line
 * itself (which says what happened) is kept.
 *
 * Masked where the lines leave the process, on stdout: agents-js builds its loggers as children of
 * children (per job, per room, per speech) from the one it made at start, so no logger set afterwards
 * reaches them all.
 */

const PII_PREFIX = 'lk.pii.';
export const MASKED = '[not logged]';
const INSTALLED = Symbol.for('hybrid-coach:pii-masked-stdout');

/** The fields of one log line, with every `lk.pii.*` value masked. */
export function withoutPii(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (key.startsWith(PII_PREFIX)) {
      out ??= { ...fields };
      out[key] = MASKED;
    }
  }
  return out ?? fields;
}

/** Output with each JSON line's `lk.pii.*` fields masked; anything else as it was. */
export function maskPiiInOutput(text: string): string {
  if (!text.includes(`"${PII_PREFIX}`)) return text;
  return text
    .split('\n')
    .map((line) => {
      if (!line.includes(`"${PII_PREFIX}`)) return line;
      try {
        return JSON.stringify(withoutPii(JSON.parse(line) as Record<string, unknown>));
      } catch {
        // Not one JSON object (a line cut in two?): drop it rather than print what it holds.
        return JSON.stringify({ level: 40, msg: 'log line with a lk.pii field not printed' });
      }
    })
    .join('\n');
}

/**
 * Masks `lk.pii.*` fields in everything this process writes to stdout from now on (agents-js's JSON
 * log lines go there). Call it in the main process and in each job process (its own process, with its
 * own stdout); calling it twice does nothing more.
 */
export function maskPiiInAgentLogs(): void {
  const stdout = process.stdout as NodeJS.WriteStream & { [INSTALLED]?: true };
  if (stdout[INSTALLED]) return;
  stdout[INSTALLED] = true;
  const write = stdout.write.bind(stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined;
    return write(text?.includes(`"${PII_PREFIX}`) ? maskPiiInOutput(text) : chunk, ...rest);
  }) as typeof stdout.write;
}
