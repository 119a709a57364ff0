import { env, SELF } from 'cloudflare:test';
import { describeError } from '@hybrid-coach/shared/log';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { API, bearer, body, captureLogs, createUser, deliverMail, ipHeader, post, signIn } from '../../test/helpers';
import { mailTo } from '../../test/mailpit';

/** A trigger that makes every `event` on `table` fail, as a full disk or a broken migration would. */
async function breakTable(table: string, event: 'INSERT' | 'UPDATE') {
  const name = `break_${table}_${event.toLowerCase()}`;
  await env.DB.prepare(`CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
  };
}

/** Sends `request` while every `event` on `table` fails: its status, its body, and the log lines it caused. */
async function withBrokenTable(table: string, event: 'INSERT' | 'UPDATE', request: () => Promise<Response>) {
  const repair = await breakTable(table, event);
  let status = 0;
  let text = '';
  const lines = await captureLogs(async () => {
    try {
      const res = await request();
      status = res.status;
      text = await res.text();
    } finally {
      await repair();
    }
  });
  return { status, text, lines };
}

const unhandled = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'unhandled error');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a failed D1 write in the logs', () => {
  it('names the error, never the transcript line it was writing', async () => {
    const client = await createUser({ tier: 'PREMIUM' });
    const token = await signIn(client.email);
    const { sessionId } = (await body<{ sessionId: string }>(await post('/api/rooms', {}, bearer(token)))).data;
    const said = 'My sister Margot keeps calling me at 3am about the inheritance';
    const raw = JSON.stringify({
      sessionId,
      roomName: `session-${sessionId}`,
      lines: [
        { idempotencyKey: `${sessionId}:client:1`, speakerIdentity: client.id, role: 'client', text: said, startedAt: 1_000, endedAt: 2_000, heardByAi: true },
      ],
    });
    const { status, text, lines } = await withBrokenTable('messages', 'INSERT', async () =>
      SELF.fetch(`${API}/api/webhooks/agent/transcript`, {
        method: 'POST',
        headers: await signedHeaders(env.AGENT_HOST_SECRET, raw, `${sessionId}:batch:1`),
        body: raw,
      }),
    );
    expect(text).not.toContain('Margot');
    expect(status).toBe(500);
    for (const line of lines) {
      expect(line).not.toContain('Margot');
      expect(line).not.toContain('inheritance');
    }
    // Which error it was, where, and how big its parameters were: enough to act on.
    const [logged] = unhandled(lines);
    expect(logged).toMatchObject({
      level: 'error',
      path: '/api/webhooks/agent/transcript',
      errorName: 'DrizzleQueryError',
      errorCode: 'SQLITE_CONSTRAINT',
      paramCount: expect.any(Number),
      paramsLength: expect.any(Number),
    });
    expect(String(logged?.query)).toMatch(/^insert into "messages"/);
    expect(String(logged?.errorMessage)).toContain('simulated write failure');
  });

  it('names the error, never the symptoms of a profile it was writing', async () => {
    const client = await createUser();
    const token = await signIn(client.email);
    const symptoms = 'Panic attacks on the Northern line since the divorce';
    const { status, lines } = await withBrokenTable('profiles', 'INSERT', () =>
      SELF.fetch(`${API}/api/users/me/profile`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', ...bearer(token) },
        body: JSON.stringify({ symptoms }),
      }),
    );
    expect(status).toBe(500);
    for (const line of lines) expect(line).not.toMatch(/Northern line|divorce/);
    expect(unhandled(lines)[0]).toMatchObject({ errorName: 'DrizzleQueryError', errorCode: 'SQLITE_CONSTRAINT' });
  });

  it('names the error, never the password or its hash, when setting a password fails', async () => {
    const user = await createUser({ passwordHash: null });
    const password = 'tidepools at low water, twice';
    await post('/api/auth/claim/request', { email: user.email }, ipHeader());
    await deliverMail();
    const opened = (await mailTo(user.email)).at(-1)?.Text ?? '';
    const claimToken = decodeURIComponent(/claim\?token=([A-Za-z0-9_-]+)/.exec(opened)?.[1] ?? '');
    const { status, lines } = await withBrokenTable('users', 'UPDATE', () => post('/api/auth/claim', { token: claimToken, password }));
    expect(status).toBe(500);
    for (const line of lines) {
      expect(line).not.toContain(password);
      expect(line).not.toContain('$argon2id$');
      expect(line).not.toContain(claimToken);
    }
    expect(unhandled(lines)[0]).toMatchObject({ errorCode: 'SQLITE_CONSTRAINT' });
  });
});

describe('describeError', () => {
  const cause = Object.assign(new Error('D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT'), { name: 'Error' });
  const err = new DrizzleQueryError(
    'insert into "users" ("email", "password_hash", "role") values (?, ?, \'CLIENT\')',
    ['ada@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'],
    cause,
  );

  it('keeps a drizzle error’s name, code, query shape and parameter sizes, never the values', () => {
    const out = describeError(err);
    expect(out).toMatchObject({
      errorName: 'DrizzleQueryError',
      errorCode: 'SQLITE_CONSTRAINT',
      errorMessage: 'D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT',
      query: 'insert into "users" ("email", "password_hash", "role") values (?, ?, \'…\')',
      paramCount: 2,
      paramsLength: 'ada@example.com'.length + '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'.length,
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain('ada@example.com');
    expect(text).not.toContain('argon2id');
    // The stack keeps its frames only: its first line would repeat the message, values and all.
    expect(out.stack ?? '').not.toContain('Failed query');
  });

  it('blanks quoted values in D1’s and JSON.parse’s messages (D1 quotes the value it could not bind; JSON.parse its input)', () => {
    const typeError = new Error("D1_TYPE_ERROR: Type 'object' not supported for value 'my secret diary'");
    expect(describeError(typeError)).toMatchObject({ errorCode: 'D1_TYPE_ERROR', errorMessage: "D1_TYPE_ERROR: Type '…' not supported for value '…'" });
    let parseError: unknown;
    try {
      JSON.parse('I feel hopeless');
    } catch (e) {
      parseError = e;
    }
    expect(JSON.stringify(describeError(parseError))).not.toContain('hopeless');
    expect(describeError('a thrown string with a secret')).toEqual({ errorName: 'NonError', errorMessage: 'a thrown value of type string' });
    // The program's own words stay whole.
    expect(describeError(new Error('Skool scrape failed at step "open members page"')).errorMessage).toBe('Skool scrape failed at step "open members page"');
  });

  it('describes a drizzle error wrapped inside another error', () => {
    const outer = new Error('sync failed', { cause: err });
    const out = describeError(outer);
    expect(out).toMatchObject({ errorName: 'Error', errorMessage: 'sync failed', cause: { errorName: 'DrizzleQueryError', paramCount: 2 } });
    expect(JSON.stringify(out)).not.toContain('ada@example.com');
  });
});
