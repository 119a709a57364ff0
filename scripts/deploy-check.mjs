// `npm run deploy:check [-- --env staging] [--config other.toml]`: what CI can check of a deploy without an account, offline.
//   1. wrangler.toml: every deployed environment repeats each var, D1 and Durable Object binding and the
//      cron of the top level (wrangler inherits none of the bindings), with no local URL and no secret in vars.
//   2. `wrangler deploy --dry-run --outdir <tmp> --env production`: bundles the Worker as a deploy would;
//      a build failure fails the check. Prints the upload size, raw and gzip, against Cloudflare's limits.
//   3. deploy/livekit.yaml, the self-hosted livekit-server's example: the pinned livekit-server parses it
//      (it refuses unknown fields) and serves the ports the firewall notes open; its webhook is signed
//      with one of its keys and goes to the Worker's receiver.
// Runs first in `npm test`. Nothing here reaches the network: no metrics, no update check, no API call.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { experimental_readRawConfig, unstable_readConfig } from 'wrangler';
import { ensureLivekitServer } from './livekit.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Cloudflare's limit on a Worker's compressed upload: Workers Paid (argon2 needs it), and Free. */
const LIMIT_GZIP_PAID = 10 * 1024 * 1024;
const LIMIT_GZIP_FREE = 3 * 1024 * 1024;
/** Offline and quiet: no telemetry, no banner (the banner is what runs wrangler's npm update check). */
const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false', WRANGLER_HIDE_BANNER: 'true', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' };

const say = (line) => console.log(`deploy:check: ${line}`);
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function parseArgs(argv) {
  let env = 'production';
  let config = join(ROOT, 'wrangler.toml');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--env' && argv[i + 1]) env = argv[++i];
    else if (argv[i] === '--config' && argv[i + 1]) config = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (--env <name>, --config <wrangler.toml>)`);
  }
  return { env, config };
}

/** The Worker's secret names: .dev.vars.example is their one list. */
function secretNames() {
  const text = readFileSync(join(ROOT, '.dev.vars.example'), 'utf8');
  return [...text.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]);
}

/** Problems with each deployed environment of wrangler.toml, compared with the top level. */
function checkEnvironments(config) {
  const { rawConfig } = experimental_readRawConfig({ config });
  const envs = Object.keys(rawConfig.env ?? {});
  const read = (env) => unstable_readConfig({ config, env }, { hideWarnings: true });
  const top = read(undefined);
  const secrets = secretNames();
  const problems = [];
  const notes = [];
  const names = (list) =>
    list
      .map((b) => b.name ?? b.binding)
      .sort()
      .join(', ');
  const databases = new Map();

  for (const env of envs) {
    const c = read(env);
    const where = `[env.${env}]`;
    for (const name of Object.keys(top.vars)) if (!(name in c.vars)) problems.push(`${where} lacks the var ${name}`);
    for (const name of Object.keys(c.vars))
      if (!(name in top.vars)) problems.push(`${where} has the var ${name}, which the top level (local dev, the Env type) lacks`);
    for (const [name, value] of Object.entries(c.vars)) {
      if (secrets.includes(name)) problems.push(`${where} puts the secret ${name} in vars: use \`wrangler secret put ${name} --env ${env}\``);
      if (/localhost|127\.0\.0\.1|\bdevkey\b/.test(String(value))) problems.push(`${where} var ${name} = "${value}" is a local development value`);
    }
    // Mail (workers/src/mail/config.ts refuses these at run time too; here they fail before a deploy).
    if (c.vars.SMTP_TLS === 'off') problems.push(`${where} SMTP_TLS is off: use on (port 465) or starttls (port 587)`);
    if (String(c.vars.SMTP_PORT) === '25') problems.push(`${where} SMTP_PORT 25: Workers cannot open it; use the provider's submission port`);
    if (String(c.vars.SMTP_HOST ?? '').endsWith('.invalid'))
      notes.push(`${where} SMTP_HOST is still the FILL-IN placeholder: mail waits until it is set (docs/operations.md, "Email")`);
    if (names(c.d1_databases) !== names(top.d1_databases))
      problems.push(`${where} D1 bindings are [${names(c.d1_databases)}], not [${names(top.d1_databases)}]`);
    for (const db of c.d1_databases) {
      const local = top.d1_databases.find((d) => d.binding === db.binding);
      if (db.database_id === local?.database_id) problems.push(`${where} D1 ${db.binding} uses the local development database id`);
      if (db.migrations_dir !== local?.migrations_dir)
        problems.push(`${where} D1 ${db.binding} has migrations_dir ${db.migrations_dir}, not ${local?.migrations_dir}`);
      const other = databases.get(db.database_id);
      if (other) problems.push(`${where} D1 ${db.binding} shares its database with ${other}`);
      databases.set(db.database_id, where);
      if (/^([0-9a-f])\1{7}-\1{4}-4\1{3}-8\1{3}-\1{12}$/.test(db.database_id ?? '')) {
        notes.push(
          `${where} D1 ${db.binding} (${db.database_name}) still has a placeholder database_id: fill it in before its first deploy (docs/operations.md)`,
        );
      }
    }
    const dos = (cfg) =>
      cfg.durable_objects.bindings
        .map((b) => `${b.name}=${b.class_name}`)
        .sort()
        .join(', ');
    if (dos(c) !== dos(top)) problems.push(`${where} Durable Objects are [${dos(c)}], not [${dos(top)}]`);
    const crons = (cfg) => (cfg.triggers.crons ?? []).join(', ');
    if (crons(c) !== crons(top)) problems.push(`${where} crons are [${crons(c)}], not [${crons(top)}]`);
  }
  return { envs, problems, notes };
}

/** `wrangler deploy --dry-run` into a temporary folder; the bundle's files, or the build's output on failure. */
function dryRun(env, config) {
  const outdir = mkdtempSync(join(tmpdir(), 'hc-deploy-check-'));
  try {
    const require = createRequire(import.meta.url);
    const manifestPath = require.resolve('wrangler/package.json');
    const bin = join(dirname(manifestPath), JSON.parse(readFileSync(manifestPath, 'utf8')).bin.wrangler);
    const r = spawnSync(process.execPath, [bin, 'deploy', '--dry-run', '--outdir', outdir, '--env', env, '--config', config], {
      cwd: ROOT,
      env: { ...process.env, ...WRANGLER_ENV },
      encoding: 'utf8',
    });
    if (r.status !== 0) return { ok: false, output: `${r.stdout}${r.stderr}` };
    // What gets uploaded: the bundle and its modules (wasm); not the source map or wrangler's README.
    const files = readdirSync(outdir).filter((f) => !f.endsWith('.map') && f !== 'README.md');
    const contents = files.map((f) => readFileSync(join(outdir, f)));
    const raw = contents.reduce((n, b) => n + b.length, 0);
    // As wrangler measures it: the modules gzipped together.
    const gzip = gzipSync(Buffer.concat(contents)).length;
    return { ok: true, files, raw, gzip };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Problems with deploy/livekit.yaml, as the pinned livekit-server reads it. */
async function checkLivekitExample() {
  const path = join(ROOT, 'deploy/livekit.yaml');
  const problems = [];
  // The placeholders filled in; no STUN lookup of the public IP (nothing outside is reachable here).
  const text = readFileSync(path, 'utf8')
    .replace('<LIVEKIT_API_SECRET>', 'x'.repeat(48))
    .replace(/use_external_ip: true/, 'use_external_ip: false');
  // The few fields checked here, read from their top-level sections (indented `name: value` lines).
  const section = (name) => text.match(new RegExp(`^${name}:\\n((?:[ \\t]+.*\\n|[ \\t]*#.*\\n|\\n)*)`, 'm'))?.[1] ?? '';
  const keys = [...section('keys').matchAll(/^\s+([\w-]+):\s*\S+/gm)].map((m) => m[1]);
  const webhook = section('webhook');
  const signer = webhook.match(/^\s+api_key:\s*(\S+)/m)?.[1];
  const urls = [...webhook.matchAll(/^\s+-\s*(https?:\/\/\S+)/gm)].map((m) => m[1]);
  if (!signer || !keys.includes(signer)) problems.push(`its webhook is signed with "${signer}", which is not one of its keys (${keys.join(', ')})`);
  if (urls.length === 0) problems.push('its webhook has no URL');
  for (const url of urls) {
    if (new URL(url).pathname !== '/api/webhooks/livekit') problems.push(`its webhook goes to ${url}, not the Worker's /api/webhooks/livekit`);
  }
  if (!/^\s+enabled:\s*true/m.test(section('turn'))) problems.push('TURN is not enabled');
  const dir = mkdtempSync(join(tmpdir(), 'hc-livekit-yaml-'));
  try {
    const file = join(dir, 'livekit.yaml');
    writeFileSync(file, text);
    const run = spawnSync(await ensureLivekitServer(), ['--config', file, 'ports'], { encoding: 'utf8' });
    const out = `${run.stdout}${run.stderr}`;
    // `ports` answers 0 even when it cannot read the config: its words say.
    if (run.status !== 0 || /could not|error/i.test(out)) problems.push(`livekit-server refuses it: ${out.trim()}`);
    for (const port of ['7880', '7881', '3478', '5349', '50000-60000']) {
      if (!out.includes(`${port} - `)) problems.push(`livekit-server does not list port ${port} for it`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

const { env, config } = parseArgs(process.argv.slice(2));
let failed = false;

const { envs, problems, notes } = checkEnvironments(config);
if (!envs.includes(env)) {
  console.error(`deploy:check: wrangler.toml has no [env.${env}] (it has: ${envs.join(', ') || 'none'})`);
  process.exit(1);
}
if (problems.length > 0) {
  for (const p of problems) console.error(`deploy:check: ✗ ${p}`);
  failed = true;
} else {
  say(`wrangler.toml: ${envs.join(', ')} each have every var, D1 and Durable Object binding and cron of the top level`);
}
for (const n of notes) say(`note: ${n}`);

const started = Date.now();
const bundle = dryRun(env, config);
if (!bundle.ok) {
  console.error(bundle.output);
  console.error(`deploy:check: ✗ wrangler deploy --dry-run --env ${env} failed (above)`);
  process.exit(1);
}
const over = bundle.gzip > LIMIT_GZIP_PAID;
say(
  `${env} bundle (${bundle.files.join(', ')}): ${kib(bundle.raw)}, gzip ${kib(bundle.gzip)} ` +
    `(${((bundle.gzip / LIMIT_GZIP_PAID) * 100).toFixed(1)}% of Workers Paid's ${kib(LIMIT_GZIP_PAID)}; ` +
    `Free allows ${kib(LIMIT_GZIP_FREE)}); built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
if (over) {
  console.error(`deploy:check: ✗ the ${env} bundle is over Cloudflare's ${kib(LIMIT_GZIP_PAID)} gzip limit`);
  failed = true;
}
const livekitProblems = await checkLivekitExample();
if (livekitProblems.length > 0) {
  for (const p of livekitProblems) console.error(`deploy:check: ✗ deploy/livekit.yaml: ${p}`);
  failed = true;
} else {
  say('deploy/livekit.yaml: livekit-server reads it (ports 7880, 7881, 3478, 5349, 50000-60000); its webhook goes, signed, to /api/webhooks/livekit');
}
process.exit(failed ? 1 : 0);
