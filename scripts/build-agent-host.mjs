/**
 * The agent-host compiled to JavaScript, `node scripts/build-agent-host.mjs`: what the image runs
 * (`node agent-host/dist/main.js`), and the end-to-end tests and the latency bench with it.
 *
 * Why compiled: under tsx (`--import tsx`) every process carries its loader, and agents-js forks one job
 * process per room with the parent's flags, so each room paid for tsx again: ~25–30 MiB of a job
 * process's ~110–140 MiB (an idle job.ts imported both ways, PSS 110–115 MiB compiled against 139–143
 * under tsx; bench/agent-latency.ts prints the per-room figure). Node 20 runs no TypeScript itself.
 *
 * One output file per source file, in the source's own layout (agent-host/src/agent/job.ts →
 * agent-host/dist/agent/job.js; the shared package's files, shared/src/log.ts → agent-host/dist/shared/log.js),
 * so what the sources say of themselves holds in the build: a module's `import.meta.url` (the job file
 * next to agent/main.js, agent-host/ two levels up), its identity (one instance of each), and "run
 * when started directly" guards. esbuild (already the engine under tsx and Vite) strips the types; each
 * of our imports is rewritten to the compiled file's relative path, packages stay imports of
 * node_modules. Types are checked apart, by `tsc` (npm run typecheck, and the image's build stage).
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = { agentHost: join(ROOT, 'agent-host/src'), shared: join(ROOT, 'shared/src') };
export const AGENT_HOST_DIST = join(ROOT, 'agent-host/dist');
const SHARED_PACKAGE = '@hybrid-coach/shared/';
/** Each source tree and the folder of agent-host/dist its JavaScript goes to. */
const TREES = [
  { root: SOURCES.agentHost, out: '.' },
  { root: SOURCES.shared, out: 'shared' },
];

/** Every file under `dir` whose name ends in `ext` (declaration files left out). */
export function filesUnder(dir, ext) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Where a source file's JavaScript goes. */
function outputOf(file) {
  for (const { root, out } of TREES) {
    if (file.startsWith(root + sep)) return join(AGENT_HOST_DIST, out, relative(root, file)).replace(/\.ts$/, '.js');
  }
  throw new Error(`build-agent-host: ${relative(ROOT, file)} is outside agent-host/src and shared/src`);
}

/** Our imports (relative, and the shared package's) become imports of the compiled files; the rest stay as written. */
const compiledImports = {
  name: 'compiled-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      let source;
      if (args.path.startsWith(SHARED_PACKAGE)) source = join(SOURCES.shared, `${args.path.slice(SHARED_PACKAGE.length)}.ts`);
      else if (args.path.startsWith('./') || args.path.startsWith('../')) {
        const base = resolve(args.resolveDir, args.path.replace(/\.[jt]s$/, ''));
        source = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
      } else return { path: args.path, external: true };
      if (!source || !existsSync(source)) return { errors: [{ text: `cannot find the TypeScript source of "${args.path}"` }] };
      const path = relative(dirname(outputOf(args.importer)), outputOf(source));
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
};

/**
 * Compiles agent-host/src and shared/src into agent-host/dist, replacing what was there: built beside it
 * first and swapped in with two renames, so a worker started from the old build (another test run, a
 * bench) finds a whole job.js when it forks a job process, not a half-written or missing one.
 */
export async function buildAgentHost() {
  if (existsSync(join(SOURCES.agentHost, 'shared')))
    throw new Error('build-agent-host: agent-host/src/shared would collide with the shared package in dist/shared');
  const staging = `${AGENT_HOST_DIST}.building-${process.pid}`;
  const old = `${AGENT_HOST_DIST}.old-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const { root, out } of TREES) {
    await build({
      entryPoints: filesUnder(root, '.ts'),
      outbase: root,
      outdir: join(staging, out),
      bundle: true, // so that the plugin sees every import; each one is external, so each file holds only itself
      plugins: [compiledImports],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    });
  }
  // The plugin wrote each import relative to the output's place in dist; the staging folder has the same layout.
  if (existsSync(AGENT_HOST_DIST)) renameSync(AGENT_HOST_DIST, old);
  renameSync(staging, AGENT_HOST_DIST);
  rmSync(old, { recursive: true, force: true });
  return AGENT_HOST_DIST;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const out = await buildAgentHost();
  console.log(`agent-host compiled into ${relative(ROOT, out)}/`);
}
