// `npm test`: every suite, in order, then one closing line "N passed, N failed" over all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const results = '.wrangler/tmp/test-results';
mkdirSync(results, { recursive: true });

/** Checks that are not test suites: they pass or stop the run. */
const checks = [
  ['lint and format (Biome: `npm run lint`; `npm run format` fixes what it can)', ['npx', 'biome', 'check', '.']],
  ['dry-run deploy (wrangler.toml environments, production bundle size)', ['node', 'scripts/deploy-check.mjs']],
  ['typecheck (workers)', ['npx', 'tsc', '-p', 'tsconfig.json']],
  ['route types for the portals', ['npx', 'tsc', '-p', 'pages/tsconfig.api-types.json']],
  ['typecheck (pages)', ['npx', 'tsc', '-p', 'pages/tsconfig.json']],
  ['typecheck (e2e)', ['npx', 'tsc', '-p', 'e2e/tsconfig.json']],
  ['typecheck (agent-host)', ['npx', 'tsc', '-p', 'agent-host/tsconfig.json']],
  ['typecheck (bench)', ['npx', 'tsc', '-p', 'bench/tsconfig.json']],
  ['migrations and generated types', ['node', 'scripts/db-check.mjs']],
];

/** Vitest suites: each writes a JSON report that the closing line adds up. */
const suites = [
  ['workers (workerd, D1, Durable Objects, real livekit-server)', 'workers/vitest.config.ts'],
  ['agent-host (Node; real Chromium against the local Skool replica)', 'agent-host/vitest.config.ts'],
  ['end-to-end (real livekit-server, the Worker over HTTP, rtc-node participants)', 'e2e/vitest.config.ts'],
];

let passed = 0;
let failed = 0;
let broken = false;

for (const [name, [cmd, ...args]] of checks) {
  console.log(`\n▶ ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`✗ ${name} failed`);
    broken = true;
  }
}

for (const [name, config] of suites) {
  console.log(`\n▶ ${name}`);
  const report = `${results}/${config.replace(/[^a-z0-9]+/gi, '-')}.json`;
  const r = spawnSync('npx', ['vitest', 'run', '--config', config, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
    stdio: 'inherit',
  });
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    passed += json.numPassedTests;
    failed += json.numFailedTests;
    if (json.numTotalTests === 0) broken = true;
  } else {
    broken = true;
  }
  if (r.status !== 0) broken = true;
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(broken || failed > 0 ? 1 : 0);
