/**
 * What each portal costs to download, `npx tsx bench/portal-size.ts`.
 *
 * Builds every portal with the repository's vite.config.ts (as `npm run build:pages` does, into a
 * temporary folder, with a manifest) and measures its files after gzip (level 9):
 *   JS, CSS      everything the build emitted
 *   first load   the entry chunk, the chunks it imports statically, and its CSS: what any page costs
 *   call route   chunks reached only through dynamic import() (the call room of the client and coach portals)
 * Baseline in the same run: the portal's whole build (JS + CSS). Prints the first load and the call route as a
 * share of it, and which chunk holds the LiveKit client (found by a string only livekit-client
 * ships), so a change that pulls LiveKit into the first load shows at once. Writes
 * bench/results/portal-size.json. Numbers are reported, never asserted.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { machineLine, printTable, ROOT, writeResults } from './common';

const PORTALS = ['public', 'client', 'coach'] as const;
type Portal = (typeof PORTALS)[number];

/** A log line livekit-client carries in its code (livekit-client/src/room/Room.ts): marks its chunk. */
const LIVEKIT_MARKER = 'already connected to room';

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  css?: string[];
}
type Manifest = Record<string, ManifestChunk>;

interface PortalSize {
  portal: Portal;
  jsGzip: number;
  cssGzip: number;
  firstLoadGzip: number;
  firstLoadFiles: string[];
  lazyGzip: number;
  lazyFiles: string[];
  livekitIn: string[];
  livekitInFirstLoad: boolean;
}

const gz = (bytes: Buffer) => gzipSync(bytes, { level: 9 }).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const pct = (part: number, whole: number) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(0)}%`);

/** Files reached from `keys` through static imports (and their CSS), by manifest key. */
function closure(manifest: Manifest, keys: string[]): Set<string> {
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const next of manifest[key]?.imports ?? []) visit(next);
  };
  keys.forEach(visit);
  return seen;
}

async function measure(portal: Portal): Promise<PortalSize> {
  const outDir = mkdtempSync(join(tmpdir(), `hc-size-${portal}-`));
  try {
    // vite.config.ts reads PORTAL when it is loaded, which build() does each time.
    process.env.PORTAL = portal;
    await build({
      configFile: join(ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, manifest: true, chunkSizeWarningLimit: 10_000 },
    });
    const manifest = JSON.parse(readFileSync(join(outDir, '.vite/manifest.json'), 'utf8')) as Manifest;
    const assets = readdirSync(join(outDir, 'assets'));
    const sizeOf = (file: string) => gz(readFileSync(join(outDir, file)));
    const jsGzip = assets.filter((f) => f.endsWith('.js')).reduce((sum, f) => sum + sizeOf(`assets/${f}`), 0);
    const cssGzip = assets.filter((f) => f.endsWith('.css')).reduce((sum, f) => sum + sizeOf(`assets/${f}`), 0);

    const entries = Object.keys(manifest).filter((k) => manifest[k]?.isEntry);
    const first = closure(manifest, entries);
    const dynamic = [...first].flatMap((k) => manifest[k]?.dynamicImports ?? []);
    const lazy = [...closure(manifest, dynamic)].filter((k) => !first.has(k));
    const filesOf = (keys: Iterable<string>) => {
      const files = new Set<string>();
      for (const k of keys) {
        const chunk = manifest[k];
        if (!chunk) continue;
        files.add(chunk.file);
        for (const css of chunk.css ?? []) files.add(css);
      }
      return [...files];
    };
    const firstLoadFiles = filesOf(first);
    const lazyFiles = filesOf(lazy).filter((f) => !firstLoadFiles.includes(f));
    const livekitIn = assets.filter((f) => f.endsWith('.js') && readFileSync(join(outDir, 'assets', f), 'utf8').includes(LIVEKIT_MARKER));
    return {
      portal,
      jsGzip,
      cssGzip,
      firstLoadGzip: firstLoadFiles.reduce((sum, f) => sum + sizeOf(f), 0),
      firstLoadFiles,
      lazyGzip: lazyFiles.reduce((sum, f) => sum + sizeOf(f), 0),
      lazyFiles,
      livekitIn,
      livekitInFirstLoad: livekitIn.some((f) => firstLoadFiles.includes(`assets/${f}`)),
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const results: PortalSize[] = [];
for (const portal of PORTALS) results.push(await measure(portal));

console.log(`\nPortal sizes after gzip -9 ${machineLine()}; baseline: the portal's whole build (JS + CSS)\n`);
printTable(
  ['portal', 'JS', 'CSS', 'first load', 'of all', 'lazy (call route)', 'of all', 'LiveKit client in'],
  results.map((r) => [
    r.portal,
    kb(r.jsGzip),
    kb(r.cssGzip),
    kb(r.firstLoadGzip),
    pct(r.firstLoadGzip, r.jsGzip + r.cssGzip),
    r.lazyFiles.length ? kb(r.lazyGzip) : '-',
    r.lazyFiles.length ? pct(r.lazyGzip, r.jsGzip + r.cssGzip) : '-',
    r.livekitIn.length === 0 ? 'not bundled' : `${r.livekitIn.join(', ')} (${r.livekitInFirstLoad ? 'FIRST LOAD' : 'lazy only'})`,
  ]),
  new Set([1, 2, 3, 4, 5, 6]),
);
for (const r of results) {
  if (r.lazyGzip === 0) continue;
  console.log(
    `\n${r.portal} portal: the call route adds ${kb(r.lazyGzip)} to a first load of ${kb(r.firstLoadGzip)} ` +
      `(${(r.lazyGzip / r.firstLoadGzip).toFixed(2)}x); LiveKit ${r.livekitInFirstLoad ? 'IS in the first load' : 'loads only with the call route'}.`,
  );
}
console.log(`\nwrote ${writeResults('portal-size', { machine: machineLine(), results })}`);
