#!/usr/bin/env node
/**
 * Password verification cost, `npm run bench`.
 *
 * Times the production check (argon2id in WebAssembly, workers/src/lib/password.ts, bundled as is)
 * against a baseline measured in the same run: WebCrypto PBKDF2-SHA256 at 100,000 iterations, the
 * most production Workers allow. Twice:
 *   node     process CPU time (process.cpuUsage) over N verifications
 *   workerd  the same code in a bench Worker under Miniflare, timed per request from here; the
 *            isolate runs one request at a time and the loop does no I/O, so wall ≈ CPU (checked
 *            against workerd's own CPU time from /proc where there is one)
 * Prints a table and writes bench/results/password.json. Numbers are reported, never asserted.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { printTable } from './table.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results', 'password.json');
const require = createRequire(import.meta.url);

/** Verifications timed per case in Node. */
const NODE_OPS = 20;
/** Requests per case in workerd, and verifications per request (REQUESTS × K = NODE_OPS). */
const WORKERD_REQUESTS = 5;
const WORKERD_K = 4;
/** Untimed verifications first: wasm instantiation, JIT tiers, first-use costs. */
const WARMUP = 2;

/** @type {readonly import('./password-cases.mjs').CaseName[]} */
const CASES = ['argon2id', 'pbkdf2'];
const BASELINE = 'pbkdf2';

/**
 * @typedef {object} Measurement
 * @property {'node' | 'workerd'} runtime
 * @property {import('./password-cases.mjs').CaseName} case
 * @property {string} label
 * @property {number} ops
 * @property {number} msPerOp      the figure compared: process CPU in Node, wall minus request overhead in workerd
 * @property {string} measuredAs
 * @property {number} wallMsPerOp
 * @property {number | null} cpuMsPerOp  process CPU (Node) or workerd's CPU from /proc; null if unavailable
 * @property {number} [ratioToBaseline]
 */

/**
 * Bundles `entry` (which imports the production TypeScript) for Node or workerd. The argon2 .wasm
 * import becomes a compiled WebAssembly.Module, as it is in the Worker: in workerd through a
 * CompiledWasm module, in Node by reading the file (Node cannot import .wasm as a module).
 * @param {string} entry
 * @param {'node' | 'workerd'} target
 * @returns {Promise<{ code: string, wasm: { name: string, path: string }[] }>}
 */
async function bundle(entry, target) {
  /** @type {{ name: string, path: string }[]} */
  const wasm = [];
  /** @type {import('esbuild').Plugin} */
  const wasmModules = {
    name: 'wasm-modules',
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (args) => {
        const path = createRequire(join(args.resolveDir, 'noop.js')).resolve(args.path);
        if (target === 'workerd') {
          wasm.push({ name: basename(path), path });
          return { path: `./${basename(path)}`, external: true };
        }
        return { path, namespace: 'wasm-file' };
      });
      b.onLoad({ filter: /.*/, namespace: 'wasm-file' }, (args) => ({
        contents: `import { readFileSync } from 'node:fs';\nexport default new WebAssembly.Module(readFileSync(${JSON.stringify(args.path)}));\n`,
        loader: 'js',
        resolveDir: ROOT,
      }));
    },
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    platform: target === 'node' ? 'node' : 'neutral',
    conditions: target === 'workerd' ? ['workerd', 'worker', 'browser'] : [],
    mainFields: ['module', 'main'],
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'silent',
    plugins: [wasmModules],
  });
  return { code: result.outputFiles[0]?.text ?? '', wasm };
}

/** @param {number[]} xs */
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * @param {import('./password-cases.mjs').CaseName} name
 * @param {{ memoryCost: number, timeCost: number, parallelism: number }} params
 * @param {number} iterations
 */
function label(name, params, iterations) {
  return name === 'argon2id'
    ? `argon2id m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism} (wasm)`
    : `PBKDF2-SHA256 ${iterations / 1000}k (WebCrypto)`;
}

/**
 * Part (a): the cases in this Node process, CPU time by process.cpuUsage() deltas.
 * @param {string} dir temporary directory for the bundle
 * @returns {Promise<{ params: Record<string, number>, iterations: number, measurements: Measurement[] }>}
 */
async function benchNode(dir) {
  const { code } = await bundle(join(HERE, 'password-cases.mjs'), 'node');
  const file = join(dir, 'password-cases.node.mjs');
  writeFileSync(file, code);
  /** @type {typeof import('./password-cases.mjs')} */
  const cases = await import(pathToFileURL(file).href);

  /** @type {Measurement[]} */
  const measurements = [];
  for (const name of CASES) {
    const verify = await cases.prepare(name);
    for (let i = 0; i < WARMUP; i++) await verify();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < NODE_OPS; i++) await verify();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMsPerOp = (cpu.user + cpu.system) / 1000 / NODE_OPS;
    measurements.push({
      runtime: 'node',
      case: name,
      label: label(name, cases.PASSWORD_PARAMS, cases.PBKDF2_ITERATIONS),
      ops: NODE_OPS,
      msPerOp: cpuMsPerOp,
      measuredAs: 'process CPU',
      wallMsPerOp: wall / NODE_OPS,
      cpuMsPerOp,
    });
  }
  return { params: { ...cases.PASSWORD_PARAMS }, iterations: cases.PBKDF2_ITERATIONS, measurements };
}

/**
 * CPU milliseconds used so far by this process's workerd children (Linux /proc), or null.
 * @returns {number | null}
 */
function workerdCpuMs() {
  try {
    const ticksPerSecond = 100; // USER_HZ; Linux reports /proc times in it on every common platform
    let ticks = 0;
    let found = false;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[1] = ppid, fields[11] = utime, fields[12] = stime (stat(5), counted after the comm)
      if (comm !== 'workerd' || Number(fields[1]) !== process.pid) continue;
      ticks += Number(fields[11]) + Number(fields[12]);
      found = true;
    }
    return found ? (ticks * 1000) / ticksPerSecond : null;
  } catch {
    return null;
  }
}

/**
 * Part (b): the same cases inside workerd, in a bench Worker run by Miniflare.
 * @param {string} dir temporary directory standing in as the modules root
 * @returns {Promise<{ measurements: Measurement[], overheadMs: number, compatibilityDate: string }>}
 */
async function benchWorkerd(dir) {
  const { code, wasm } = await bundle(join(HERE, 'password-worker.mjs'), 'workerd');
  const compatibilityDate = /^\s*compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'))?.[1] ?? '2026-04-01';
  const mf = new Miniflare({
    modulesRoot: dir,
    modules: [
      { type: 'ESModule', path: join(dir, 'password-worker.mjs'), contents: code },
      ...wasm.map((w) => ({ type: /** @type {const} */ ('CompiledWasm'), path: join(dir, w.name), contents: readFileSync(w.path) })),
    ],
    compatibilityDate,
  });
  try {
    await mf.ready;
    /** @param {string} path */
    const get = async (path) => {
      const t0 = performance.now();
      const res = await mf.dispatchFetch(`http://bench.local${path}`);
      const body = await res.text();
      const ms = performance.now() - t0;
      if (!res.ok) throw new Error(`bench worker ${path}: ${res.status} ${body}`);
      return { ms, body: /** @type {Record<string, any>} */ (JSON.parse(body)) };
    };

    const { body: info } = await get('/params');
    for (let i = 0; i < 3; i++) await get('/noop');
    const noop = [];
    for (let i = 0; i < 10; i++) noop.push((await get('/noop')).ms);
    const overheadMs = median(noop);

    /** @type {Measurement[]} */
    const measurements = [];
    for (const name of CASES) {
      for (let i = 0; i < WARMUP; i++) await get(`/${name}?k=1`);
      const cpu0 = workerdCpuMs();
      const walls = [];
      for (let i = 0; i < WORKERD_REQUESTS; i++) walls.push((await get(`/${name}?k=${WORKERD_K}`)).ms);
      const cpu1 = workerdCpuMs();
      const ops = WORKERD_REQUESTS * WORKERD_K;
      measurements.push({
        runtime: 'workerd',
        case: name,
        label: label(name, info.PASSWORD_PARAMS, info.PBKDF2_ITERATIONS),
        ops,
        msPerOp: (sum(walls) - WORKERD_REQUESTS * overheadMs) / ops,
        measuredAs: 'wall − request overhead',
        wallMsPerOp: sum(walls) / ops,
        cpuMsPerOp: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / ops : null,
      });
    }
    return { measurements, overheadMs, compatibilityDate };
  } finally {
    await mf.dispose();
  }
}

/** @param {Measurement[]} measurements */
function addRatios(measurements) {
  for (const m of measurements) {
    const base = measurements.find((b) => b.runtime === m.runtime && b.case === BASELINE);
    if (base) m.ratioToBaseline = m.msPerOp / base.msPerOp;
  }
}

/** @param {Measurement[]} measurements */
function printMeasurements(measurements) {
  const rows = measurements.map((m) => [
    m.runtime,
    m.label,
    String(m.ops),
    m.msPerOp.toFixed(1),
    m.measuredAs,
    m.ratioToBaseline === undefined ? '' : `${m.ratioToBaseline.toFixed(2)}×`,
  ]);
  const header = ['runtime', 'verification', 'ops', 'ms/op', 'measured as', 'vs PBKDF2-100k'];
  printTable(header, rows, new Set([2, 3, 5]));
}

async function main() {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'hybrid-coach-bench-'));
  try {
    console.log('Password verification cost: the production argon2id vs WebCrypto PBKDF2-SHA256 at 100,000 iterations');
    console.log(`(${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version})\n`);
    const node = await benchNode(dir);
    const workerd = await benchWorkerd(dir);
    const measurements = [...node.measurements, ...workerd.measurements];
    addRatios(measurements);
    printMeasurements(measurements);

    const cpuNote = workerd.measurements
      .filter((m) => m.cpuMsPerOp !== null)
      .map((m) => `${m.case} ${m.cpuMsPerOp?.toFixed(1)}`)
      .join(', ');
    console.log(
      `\nworkerd runs one request at a time in the isolate and the loop does no I/O, so wall ≈ CPU there` +
        ` (request overhead ${workerd.overheadMs.toFixed(2)} ms, subtracted)` +
        (cpuNote ? `;\nworkerd's own CPU from /proc, ms/op (10 ms ticks): ${cpuNote}.` : '.'),
    );

    mkdirSync(dirname(RESULTS), { recursive: true });
    writeFileSync(
      RESULTS,
      `${JSON.stringify(
        {
          measuredAt: new Date().toISOString(),
          machine: { cpu: cpus()[0]?.model ?? null, cores: cpus().length, platform: `${process.platform}-${process.arch}` },
          node: process.version,
          miniflare: require('miniflare/package.json').version,
          compatibilityDate: workerd.compatibilityDate,
          argon2id: node.params,
          pbkdf2Iterations: node.iterations,
          baseline: BASELINE,
          workerdRequestOverheadMs: workerd.overheadMs,
          measurements,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`\nWrote ${RESULTS.slice(ROOT.length)} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
