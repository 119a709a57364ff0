// Fails when workers/src/db/schema.ts has changes that no migration in d1/migrations carries,
// or when workers/worker-configuration.d.ts is stale against wrangler.toml.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

const run = (args) => execFileSync('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

// drizzle-kit wants a path relative to the repo; .wrangler/ is already ignored by git.
const out = '.wrangler/tmp/migrations-check';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
try {
  cpSync('d1/migrations', out, { recursive: true });
  const before = readdirSync(out).sort().join(',');
  const said = run(['drizzle-kit', 'generate', '--dialect', 'sqlite', '--schema', 'workers/src/db/schema.ts', '--out', out]);
  const after = readdirSync(out).sort().join(',');
  // drizzle-kit can exit 0 on a failure, so also require its "no changes" line.
  if (before !== after || !/No schema changes/i.test(said)) {
    console.error(said);
    console.error('db:check: workers/src/db/schema.ts has changes with no migration. Run `npm run db:generate` and commit d1/migrations.');
    process.exit(1);
  }
  console.log('db:check: d1/migrations matches the drizzle schema');
} finally {
  rmSync(out, { recursive: true, force: true });
}

try {
  run(['wrangler', 'types', 'workers/worker-configuration.d.ts', '--check', '--strict-vars=false', '--env-file', '.dev.vars.example']);
  console.log('db:check: workers/worker-configuration.d.ts matches wrangler.toml');
} catch (err) {
  console.error('db:check: workers/worker-configuration.d.ts is stale. Run `npm run types` and commit it.');
  console.error(String(err.stdout ?? ''), String(err.stderr ?? ''));
  process.exit(1);
}
