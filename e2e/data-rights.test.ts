/**
 * A client's data rights (issue 17) in real Chromium against the e2e stack: a client of this file's own,
 * with a finished session whose transcript the agent-host delivered (signed, as it does), downloads
 * "my data" from Settings and the test opens the zip and finds the transcript lines; deletes the account
 * with the password and lands signed out on the public site; signing in then offers only to cancel (and
 * cancelling works); deleted again, the erasure cron is run as of eight days later and every row about
 * them is gone, table by table, the FTS5 index too.
 *
 * The clock: the cron runs through Miniflare's `/cdn-cgi/handler/scheduled?cron=…&time=…`, which sets
 * the scheduled time the Worker erases "as of". It exists only in local workerd (wrangler dev), never on
 * Cloudflare, so the Worker carries no test-only code or switch for it.
 * Screenshots at desktop and phone widths go to e2e/artifacts/data-rights/.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { DELETION_GRACE_MS, EXPORT_FORMAT_VERSION } from '@hybrid-coach/shared/data-export';
import { strFromU8, unzipSync } from 'fflate';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentPost, api, apiOk, browserTestFiles, createClient, createCoach, eventually, login, openWithGrant, skipAfterFirstFailure } from './helpers';
import { queryLocalD1 } from './stack';

const stamp = Date.now().toString(36);
const EMAIL = `data-rights-client-${stamp}@example.com`;
const NAME = `Rowan Leaving ${stamp}`;
const PASSWORD = 'hybrid-demo-2026';
// A word only this file says: the search index is asked for it after the erasure.
const WORD = `quillmoss${stamp.replace(/[^a-z]/g, '')}`;
const LINES = [`I slept better after the ${WORD} breathing`, 'That is good to hear; let us build on it.'];
const DESKTOP = { width: 1200, height: 860 };
const PHONE = { width: 390, height: 844, deviceScaleFactor: 2 };

describe('a client downloads their data, deletes the account, and is erased after the grace period', () => {
  const files = browserTestFiles('data-rights');
  const portals = inject('portalUrls');
  const q = (sql: string) => queryLocalD1<{ n: number }>(inject('persistDir'), sql);
  let browser: Browser;
  let page: Page;
  let clientId = '';
  let sessionId = '';

  async function screens(name: string) {
    await files.screenshot(page, `${name}-desktop`);
    await page.setViewport(PHONE);
    await files.screenshot(page, `${name}-phone`);
    await page.setViewport(DESKTOP);
  }

  beforeAll(async () => {
    const coachId = await createCoach(`data-rights-coach-${stamp}@example.com`, 'Casey Coach');
    await createClient(EMAIL, NAME, 'PREMIUM');
    const token = await login(EMAIL);
    clientId = (await apiOk<{ id: string }>('GET', '/api/users/me', { token })).id;
    // A finished session with the coach; its lines come from the agent-host's signed webhook, as in a call.
    sessionId = `e2e-data-rights-${stamp}`;
    const started = Date.now() - 3600_000;
    await q(
      `INSERT INTO coaching_sessions (id, room_name, client_id, coach_id, status, started_at, ended_at, tier_at_start, minutes_charged, ai_summary, created_at)
       VALUES ('${sessionId}', 'session-${sessionId}', '${clientId}', '${coachId}', 'COMPLETED', ${started}, ${started + 600_000}, 'PREMIUM', 10, 'Sleep is improving', ${started});
       INSERT INTO client_notes (id, coach_id, client_id, text, shareable_with_ai, created_at, updated_at)
       VALUES ('${sessionId}-note', '${coachId}', '${clientId}', 'Likes slow breathing', 1, ${started}, ${started});
       INSERT INTO appointments (id, scheduled_for, duration_minutes, client_id, coach_id, status, created_at)
       VALUES ('${sessionId}-appt', ${Date.now() + 3 * 86_400_000}, 30, '${clientId}', '${coachId}', 'SCHEDULED', ${started});
       INSERT INTO crisis_flags (session_id, state, raised_at, reason, updated_at)
       VALUES ('${sessionId}', 'OPEN', ${started + 60_000}, 'keyword', ${started + 60_000});
       INSERT INTO mfa_recovery_codes (id, user_id, code_hash, created_at) VALUES ('${sessionId}-code', '${clientId}', '${sessionId}-code-hash', ${started});
       INSERT INTO mfa_challenges (id, challenge_hash, binding_hash, user_id, purpose, expires_at, created_at)
       VALUES ('${sessionId}-mfa', '${sessionId}-challenge', '${sessionId}-binding', '${clientId}', 'verify', ${Date.now() + 600_000}, ${started});`,
    );
    await agentPost(
      '/api/webhooks/agent/transcript',
      {
        sessionId,
        lines: LINES.map((text, i) => ({
          idempotencyKey: `${sessionId}:${i}`,
          speakerIdentity: i === 0 ? clientId : 'agent-ai',
          role: i === 0 ? 'client' : 'ai',
          text,
          startedAt: started + i * 5000,
          endedAt: started + i * 5000 + 3000,
          heardByAi: true,
        })),
      },
      `${sessionId}:batch`,
    );
    await apiOk('POST', `/api/sessions/${sessionId}/rating`, { token, body: { rating: 5, tip: 3 } }, 201);
    await files.portals('public', 'client');
    browser = await files.chromium();
    page = await browser.newPage();
    await page.setViewport(DESKTOP);
    page.on('pageerror', (e) => console.error(`portal page error: ${e instanceof Error ? e.message : String(e)}`));
    mkdirSync(files.path('downloads'), { recursive: true });
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: files.path('downloads') });
  }, 240_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
  });

  skipAfterFirstFailure();

  it('downloads "my data" from Settings: the zip holds export.json and export.html with the session’s transcript lines', async () => {
    await openWithGrant(page, portals.client, EMAIL);
    // The callback keeps the session in this tab's storage, then moves on: settings from there.
    await page.waitForFunction(() => !window.location.pathname.startsWith('/auth'));
    await page.goto(`${portals.client}/settings`);
    await page.waitForSelector('[data-testid=data-rights]');
    await screens('settings-your-data');
    await page.locator('::-p-text(Download my data)').click();
    const zipName = await eventually(
      'the zip in the download folder',
      () => {
        const name = readdirSync(files.path('downloads'), { withFileTypes: true })
          .map((d) => d.name)
          .find((n) => n.endsWith('.zip'));
        if (!name) throw new Error('no zip downloaded yet');
        return name;
      },
      { timeoutMs: 30_000 },
    );
    expect(zipName).toMatch(/^hybrid-coach-data-\d{4}-\d{2}-\d{2}\.zip$/);
    const zip = unzipSync(new Uint8Array(readFileSync(files.path('downloads', zipName))));
    expect(Object.keys(zip).sort()).toEqual(['export.html', 'export.json']);
    const data = JSON.parse(strFromU8(zip['export.json']!)) as {
      version: number;
      account: { email: string };
      sessions: { id: string; transcript: { text: string }[]; rating: { tipDollars: number } | null }[];
      sharedNotes: { text: string }[];
      appointments: { id: string }[];
    };
    expect(data.version).toBe(EXPORT_FORMAT_VERSION);
    expect(data.account.email).toBe(EMAIL);
    const session = data.sessions.find((s) => s.id === sessionId);
    expect(session?.transcript.map((l) => l.text)).toEqual(LINES);
    expect(session?.rating?.tipDollars).toBe(3);
    expect(data.sharedNotes.map((n) => n.text)).toEqual(['Likes slow breathing']);
    const html = strFromU8(zip['export.html']!);
    for (const line of LINES) expect(html).toContain(line.replace(/'/g, '&#39;'));
  });

  it('deletes the account with the password (a wrong one is refused on the spot) and lands signed out on the public site', async () => {
    await page.locator('::-p-text(Delete my account…)').click();
    await page.waitForSelector('dialog[open] input[name=deletePassword]');
    await page.type('dialog[open] input[name=deletePassword]', 'not my password');
    await page.locator('dialog[open] ::-p-text(Delete my account)').click();
    await page.waitForFunction(() => document.querySelector('dialog[open]')?.textContent?.includes('Not your current password'));
    await screens('delete-wrong-password');
    await page.$eval('dialog[open] input[name=deletePassword]', (el) => {
      (el as HTMLInputElement).select();
    });
    await page.type('dialog[open] input[name=deletePassword]', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.locator('dialog[open] ::-p-text(Delete my account)').click()]);
    expect(page.url()).toContain(`${portals.public}/login?deletion=`);
    await page.waitForFunction(() => document.body.textContent?.includes('Your account will be deleted'));
    await screens('login-after-deletion');
    const rows = await queryLocalD1<{ disabled: number; pending: number }>(
      inject('persistDir'),
      `SELECT disabled_at IS NOT NULL AS disabled, deletion_requested_at IS NOT NULL AS pending FROM users WHERE id = '${clientId}'`,
    );
    expect(rows).toEqual([{ disabled: 1, pending: 1 }]);
  });

  it('cannot sign in during the grace period: the sign-in offers only to cancel the deletion, and cancelling signs in', async () => {
    const answer = await api<{ deletionPending?: true; grant?: string }>('POST', '/api/auth/login', { body: { email: EMAIL, password: PASSWORD } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ success: true, data: { deletionPending: true, erasesAt: expect.any(String) } });
    await page.type('input[name=email]', EMAIL);
    await page.type('input[name=password]', PASSWORD);
    await page.locator('button[type=submit]').click();
    await page.waitForSelector('[data-testid=deletion-pending]');
    await screens('sign-in-deletion-pending');
    await Promise.all([page.waitForNavigation(), page.locator('::-p-text(Cancel the deletion and sign in)').click()]);
    await page.waitForFunction((origin) => window.location.href.startsWith(origin) && !window.location.pathname.startsWith('/auth'), {}, portals.client);
    const rows = await q(`SELECT count(*) AS n FROM users WHERE id = '${clientId}' AND deletion_requested_at IS NULL AND disabled_at IS NULL`);
    expect(rows[0]?.n).toBe(1);
  });

  it('deleted again, is erased by the cron run as of a time past the grace period: no row about them in any table, nor in the search index', async () => {
    const token = await login(EMAIL);
    await apiOk('POST', '/api/users/me/deletion', { token, body: { password: PASSWORD } });
    // Before the grace period ends, the cron leaves them alone.
    const cron = (at: number) => fetch(`${inject('apiOrigin')}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('17 * * * *')}&time=${at}`);
    expect((await cron(Date.now() + DELETION_GRACE_MS - 3600_000)).status).toBe(200);
    expect((await q(`SELECT count(*) AS n FROM users WHERE id = '${clientId}'`))[0]?.n).toBe(1);
    expect((await cron(Date.now() + DELETION_GRACE_MS + 3600_000)).status).toBe(200);

    const about = {
      users: `users WHERE id = '${clientId}' OR email = '${EMAIL}'`,
      profiles: `profiles WHERE user_id = '${clientId}'`,
      coaching_sessions: `coaching_sessions WHERE client_id = '${clientId}'`,
      messages: `messages WHERE session_id = '${sessionId}'`,
      messages_fts: `messages_fts WHERE messages_fts MATCH '${WORD}'`,
      session_ratings: `session_ratings WHERE session_id = '${sessionId}'`,
      appointments: `appointments WHERE client_id = '${clientId}'`,
      consent_records: `consent_records WHERE user_id = '${clientId}'`,
      client_notes: `client_notes WHERE client_id = '${clientId}'`,
      claim_tokens: `claim_tokens WHERE user_id = '${clientId}'`,
      password_reset_tokens: `password_reset_tokens WHERE user_id = '${clientId}'`,
      login_sessions: `login_sessions WHERE user_id = '${clientId}'`,
      auth_grants: `auth_grants WHERE user_id = '${clientId}'`,
      email_outbox: `email_outbox WHERE user_id = '${clientId}' OR to_email = '${EMAIL}'`,
      membership_status_history: `membership_status_history WHERE user_id = '${clientId}'`,
    };
    const counts: Record<string, number> = {};
    for (const [table, from] of Object.entries(about)) counts[table] = (await q(`SELECT count(*) AS n FROM ${from}`))[0]?.n ?? -1;
    expect(counts).toEqual(Object.fromEntries(Object.keys(about).map((t) => [t, 0])));
    // Every other table too, every column: none may hold the client's id, email, name, session id (the
    // note's and appointment's ids start with it) or the transcript's word. Allowed: the audit log and
    // erased_sessions (ids and counts, docs/operations.md), erasure_suppressions (a keyed hash only), and
    // the FTS5 index's own tables (asked through MATCH above; a deleted term can linger in a segment's bytes).
    const allowed = ['audit_log', 'erased_sessions', 'erasure_suppressions'];
    const columns = await queryLocalD1<{ t: string; c: string }>(
      inject('persistDir'),
      `SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p
       WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_cf_%' AND m.name NOT LIKE 'messages_fts%' AND m.name <> 'd1_migrations'`,
    );
    const tables = new Map<string, string[]>();
    for (const { t, c } of columns) if (!allowed.includes(t)) tables.set(t, [...(tables.get(t) ?? []), c]);
    expect(tables.size).toBeGreaterThan(20);
    const needles = [clientId, EMAIL, NAME, sessionId, WORD];
    const hits = await queryLocalD1<{ t: string; n: number }>(
      inject('persistDir'),
      [...tables]
        .map(([t, cols]) => {
          // One text per row (concat_ws: a flat call; an OR per column passes SQLite's expression depth).
          const row = `concat_ws(char(31), ${cols.map((c) => `"${c}"`).join(', ')})`;
          return `SELECT '${t}' AS t, count(*) AS n FROM (SELECT ${row} AS x FROM "${t}") WHERE ${needles.map((n) => `instr(x, '${n}') > 0`).join(' OR ')}`;
        })
        // One statement per table: D1 allows only a few terms in a compound SELECT.
        .join(';\n'),
    );
    expect(hits.filter((h) => h.n > 0)).toEqual([]);
    expect(hits).toHaveLength(tables.size);
    // What stays: the audit row of the run (ids and counts) and the session's billing counts.
    const audit = await queryLocalD1<{ after: string }>(
      inject('persistDir'),
      `SELECT after FROM audit_log WHERE action = 'user.erase' AND target_id = '${clientId}'`,
    );
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.after)).toMatchObject({ sessions: 1, messages: 2, ratings: 1, appointments: 1, notes: 1, crisisFlags: 1 });
    expect(audit[0]!.after).not.toContain(EMAIL);
    expect((await q(`SELECT count(*) AS n FROM erased_sessions WHERE session_id = '${sessionId}' AND minutes_charged = 10`))[0]?.n).toBe(1);
    const gone = await api('POST', '/api/auth/login', { body: { email: EMAIL, password: PASSWORD } });
    expect(gone.status).toBe(401);
  });
});
