/**
 * The compiled agent-host (scripts/build-agent-host.mjs), which the image runs with plain Node: every
 * source has its JavaScript, every import of ours points at a compiled file that exists, and the job
 * file agents-js forks for each room loads with no loader at all. (The image itself:
 * dockerfile-rehearsal.test.ts; rooms with the compiled agent: every voice test in e2e/.)
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAgentHost, filesUnder } from '../../scripts/build-agent-host.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** The module specifiers a compiled file imports (static, re-exports and literal dynamic imports). */
function specifiers(js: string): string[] {
  return [...js.matchAll(/\bfrom\s*"([^"]+)"|\bimport\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** Plain Node (no --import, nothing inherited from vitest) with only PATH and `env`. */
function plainNode(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

describe('the compiled agent-host', () => {
  let dist: string;
  beforeAll(async () => {
    dist = await buildAgentHost();
  }, 60_000);

  it('has one JavaScript file for every TypeScript source, the shared package’s in dist/shared', () => {
    const expected = [
      ...filesUnder(join(ROOT, 'agent-host/src'), '.ts').map((f) => relative(join(ROOT, 'agent-host/src'), f)),
      ...filesUnder(join(ROOT, 'shared/src'), '.ts').map((f) => join('shared', relative(join(ROOT, 'shared/src'), f))),
    ].map((f) => f.replace(/\.ts$/, '.js'));
    expect(expected.length).toBeGreaterThan(40);
    expect(
      filesUnder(dist, '.js')
        .map((f) => relative(dist, f))
        .sort(),
    ).toEqual(expected.sort());
  });

  it('imports our own code by relative path to compiled files that exist, and packages by name', () => {
    const ours: string[] = [];
    for (const file of filesUnder(dist, '.js')) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        expect(spec, `${relative(dist, file)} imports ${spec}`).not.toMatch(/\.ts$|^@hybrid-coach\//);
        if (spec.startsWith('.')) {
          expect(spec, `${relative(dist, file)} imports ${spec}`).toMatch(/\.js$/);
          const target = resolve(dirname(file), spec);
          expect(readdirSync(dirname(target)), `${relative(dist, file)} imports ${spec}`).toContain(target.slice(dirname(target).length + 1));
          ours.push(relative(dist, target));
        }
      }
    }
    // The job file's own imports are among them: the shared package's and the agent's modules.
    expect(ours).toContain('shared/log.js');
    expect(ours).toContain('agent/providers.js');
  });

  it('loads in plain Node: the job file agents-js forks for each room, and the worker that names it', async () => {
    const url = (path: string) => pathToFileURL(join(dist, path)).href;
    const script = [
      `const job = (await import(${JSON.stringify(url('agent/job.js'))})).default;`,
      `const main = await import(${JSON.stringify(url('agent/main.js'))});`,
      'console.log(JSON.stringify({ entry: typeof job.entry, prewarm: typeof job.prewarm, jobFile: main.JOB_FILE, loaders: process.execArgv.filter((a) => /^(--import|--loader|--experimental-loader|--require|-r)\\b/.test(a)) }));',
    ].join('\n');
    const { code, out } = await plainNode(['--input-type=module', '-e', script]);
    expect(code, out).toBe(0);
    const line = out.split('\n').find((l) => l.startsWith('{"entry"'));
    expect(JSON.parse(line ?? '{}')).toEqual({
      entry: 'function',
      prewarm: 'function',
      jobFile: join(dist, 'agent/job.js'),
      loaders: [],
    });
  });

  it('refuses to start offline stand-ins it cannot run, and says what to set instead', async () => {
    // The stand-ins are development TypeScript: the compiled worker is given their URLs, or real keys.
    const { code, out } = await plainNode([join(dist, 'agent/main.js')], { AI_PROVIDERS: 'standin' });
    expect(code, out).toBe(1);
    expect(out).toContain('agent: could not start');
    expect(out).toContain('set DEEPGRAM_BASE_URL and OPENAI_BASE_URL, or real API keys');
  });
});
