#!/usr/bin/env node
/**
 * Mailpit, a local SMTP server that keeps every email it receives and shows them over HTTP: the platform's
 * mail goes there in dev (`npm run dev`, SMTP 1025, inbox 8025) and in the tests (each suite its own).
 *
 *   node scripts/mailpit.mjs ensure                                 prints the binary's path (builds it if needed)
 *   node scripts/mailpit.mjs start --smtp N --http M [--test] [--inbox P]   runs one until Ctrl-C
 *
 * The binary is $MAILPIT_BIN, else `mailpit` on PATH, else .tools/bin/mailpit-v<version>, built once with
 * `go install`. That build has no web UI (its bundle is built with npm from packages the registry here does
 * not serve), so `--inbox P` serves a small inbox page of ours on P: the list of messages, each opened with
 * Mailpit's own /view/<ID>.html, and the rest of Mailpit's HTTP (API, views) passed through.
 */
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { runAsScript } from './cli.mjs';
import { answers, ensureGoBinary, runUntilSignalled, startToolProcess } from './go-tool.mjs';
import { isPortFree } from './ports.mjs';

/** The pinned Mailpit version. */
export const MAILPIT_VERSION = '1.33.1';

/**
 * In test mode, recipients whose address starts with `bounce` are refused with 550 (a permanent failure
 * the tests can provoke). Go's RE2 has no look-ahead, hence the spelled-out "anything but bounce" prefix.
 */
const ALLOWED_RECIPIENTS = '(?i)^([^b]|b[^o]|bo[^u]|bou[^n]|boun[^c]|bounc[^e])';

const WITHOUT_GO = `Get Mailpit ${MAILPIT_VERSION} another way and point MAILPIT_BIN at it (or put it on PATH as mailpit):
  - Homebrew: brew install mailpit
  - a release binary: https://github.com/axllent/mailpit/releases
  - Docker, for development beside \`npm run dev:api\` only (npm run dev and npm test need a binary):
      docker run --rm -p 1025:1025 -p 8025:8025 axllent/mailpit --smtp-auth-accept-any --smtp-auth-allow-insecure
Or install Go 1.26+ (https://go.dev/dl/) and this script builds it once into .tools/bin.`;

/**
 * Absolute path of a Mailpit binary; builds the pinned version into `.tools/bin` the first time.
 * @returns {Promise<string>}
 */
export function ensureMailpit() {
  return ensureGoBinary({
    tool: 'mailpit',
    version: MAILPIT_VERSION,
    goPackage: `github.com/axllent/mailpit@v${MAILPIT_VERSION}`,
    builtName: 'mailpit',
    envVar: 'MAILPIT_BIN',
    logPrefix: 'mailpit',
    buildTime: 'about 30 seconds',
    withoutGo: WITHOUT_GO,
  });
}

/**
 * @typedef {object} MailpitOptions
 * @property {number} [smtpPort]  default 1025
 * @property {number} [httpPort]  Mailpit's REST API and message views; default 8025
 * @property {boolean} [test]     keep every message (no pruning at 500), enable the Chaos API, refuse
 *   recipients starting with `bounce` (550)
 */

/**
 * @typedef {object} Mailpit
 * @property {number} smtpPort
 * @property {string} httpUrl   http:// of the REST API (/api/v1/...) and the views (/view/<ID>.html)
 * @property {Promise<number>} exited  resolves with the exit code (128 + signal) when it exits
 * @property {() => Promise<void>} stop  SIGTERM, SIGKILL after 5 s; resolves once it has exited
 */

/**
 * Starts Mailpit on 127.0.0.1 with a temporary database (gone when it stops); resolves once it is ready.
 * SMTP accepts any username and password, without TLS. Fails if a port is already taken.
 * @param {MailpitOptions} [options]
 * @returns {Promise<Mailpit>}
 */
export async function startMailpit({ smtpPort = 1025, httpPort = 8025, test = false } = {}) {
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await assertPortFree(httpUrl);
  // Mailpit answers HTTP even when its SMTP port is taken, and only then exits: say so before starting.
  if (!(await isPortFree({ tcp: smtpPort }))) throw new Error(`SMTP port ${smtpPort} is already in use (\`ss -ltnp 'sport = :${smtpPort}'\` shows by what)`);
  const bin = await ensureMailpit();
  const args = [
    ...['--smtp', `127.0.0.1:${smtpPort}`, '--listen', `127.0.0.1:${httpPort}`],
    ...['--smtp-auth-accept-any', '--smtp-auth-allow-insecure', '--smtp-disable-rdns', '--disable-version-check', '--quiet'],
    ...(test ? ['--max', '0', '--enable-chaos', '--smtp-allowed-recipients', ALLOWED_RECIPIENTS] : []),
  ];
  const { exited, stop } = await startToolProcess({
    name: 'mailpit',
    bin,
    args,
    readyUrl: `${httpUrl}/readyz`,
    // /readyz is about HTTP; the first email must not race the SMTP listener.
    ready: () => smtpAnswers(smtpPort),
  });
  return { smtpPort, httpUrl, exited, stop };
}

/**
 * Whether something accepts TCP connections on 127.0.0.1:`port`.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function smtpAnswers(port) {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
    socket.once('close', () => socket.destroy());
    socket.once('connect', () => socket.end());
  });
}

/**
 * Fails when something already answers at `httpUrl`, saying whether it is a leftover Mailpit.
 * @param {string} httpUrl
 */
async function assertPortFree(httpUrl) {
  if (!(await answers(`${httpUrl}/`)) && !(await answers(`${httpUrl}/readyz`))) return;
  /** @type {unknown} */
  const info = await fetch(`${httpUrl}/api/v1/info`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.json(),
    () => null,
  );
  const isMailpit = typeof info === 'object' && info !== null && 'Version' in info && 'Database' in info;
  throw new Error(
    isMailpit
      ? `a Mailpit is already running at ${httpUrl}, probably left by an earlier run; stop it first ` +
          '(`pgrep -af mailpit` shows it) rather than reusing one whose messages and settings may differ'
      : `port ${new URL(httpUrl).port} is already in use by something that is not Mailpit (${httpUrl} answers)`,
  );
}

/**
 * The dev inbox on `port`: `/` lists the messages (newest first), everything else goes to Mailpit.
 * @param {number} port
 * @param {string} mailpitUrl
 * @returns {Promise<import('node:http').Server>}
 */
function serveInbox(port, mailpitUrl) {
  const upstream = new URL(mailpitUrl);
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/' || req.url?.startsWith('/?'))) {
      inboxPage(mailpitUrl).then(
        (html) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html),
        (err) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`Mailpit did not answer: ${err.message}`),
      );
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.once('error', (err) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`Mailpit did not answer: ${err.message}`));
    req.pipe(forward);
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done(server));
  });
}

/**
 * @typedef {{ Name: string, Address: string }} Address
 * @typedef {{ ID: string, From: Address | null, To: Address[] | null, Subject: string, Created: string }} Summary
 */

/**
 * @param {string} mailpitUrl
 * @returns {Promise<string>}
 */
async function inboxPage(mailpitUrl) {
  const res = await fetch(`${mailpitUrl}/api/v1/messages?limit=200`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const { total, messages } = /** @type {{ total: number, messages: Summary[] }} */ (await res.json());
  const esc = (/** @type {string} */ s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
  const who = (/** @type {Address | null | undefined} */ a) => (a ? esc(a.Name ? `${a.Name} <${a.Address}>` : a.Address) : '');
  const rows = messages.map(
    (m) =>
      `<tr><td>${esc(new Date(m.Created).toLocaleString())}</td><td>${(m.To ?? []).map(who).join(', ')}</td>` +
      `<td><a href="/view/${encodeURIComponent(m.ID)}.html">${esc(m.Subject || '(no subject)')}</a>` +
      ` <a href="/view/${encodeURIComponent(m.ID)}.txt">text</a></td><td>${who(m.From)}</td></tr>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dev inbox (${total})</title>
<meta http-equiv="refresh" content="5">
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd}a{margin-right:.5em}</style></head>
<body><h1>Dev inbox</h1>
<p>Every email the platform sent in dev: ${total} (newest first; this page refreshes every 5 s; the API is at
<a href="/api/v1/messages">/api/v1/messages</a>).</p>
<table><thead><tr><th>Received</th><th>To</th><th>Subject</th><th>From</th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="4">No email yet.</td></tr>'}</tbody></table></body></html>
`;
}

/**
 * The command line (see the top of this file).
 * @param {readonly string[]} argv
 * @returns {Promise<number>} exit code
 */
export async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'ensure' && rest.length === 0) {
    console.log(await ensureMailpit());
    return 0;
  }
  const usage = 'usage: mailpit.mjs ensure | start --smtp N --http M [--test] [--inbox P]';
  if (command !== 'start') throw new Error(usage);

  /** @type {Record<string, number>} */
  const ports = {};
  let test = false;
  for (let i = 0; i < rest.length; i++) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (flag === '--test') test = true;
    else if ((flag === '--smtp' || flag === '--http' || flag === '--inbox') && value && /^\d+$/.test(value)) {
      ports[flag.slice(2)] = Number(value);
      i++;
    } else throw new Error(`unknown or incomplete argument: ${flag} (${usage})`);
  }
  if (!ports.smtp || !ports.http) throw new Error(usage);

  const mailpit = await startMailpit({ smtpPort: ports.smtp, httpPort: ports.http, test });
  let where = mailpit.httpUrl;
  if (ports.inbox) {
    try {
      const inbox = await serveInbox(ports.inbox, mailpit.httpUrl);
      void mailpit.exited.then(() => inbox.close());
      where = `http://127.0.0.1:${ports.inbox}`;
    } catch (err) {
      await mailpit.stop();
      throw new Error(`the inbox could not listen on 127.0.0.1:${ports.inbox}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  console.log(`mailpit: ready, SMTP on 127.0.0.1:${ports.smtp}, messages at ${where}${test ? ' (test mode)' : ''}`);
  return runUntilSignalled(mailpit);
}

runAsScript(import.meta.url, 'mailpit', main);
