/**
 * The fixes patches/ makes to dependencies, checked when the agent-host starts. An install that
 * skipped them (`npm ci --ignore-scripts`, a node_modules copied from elsewhere) would run an agent
 * whose every session keeps every frame of its audio until it ends, copies each frame through a JS
 * array of its samples, and beside which an unused inference process holds ~300 MiB (patches/README.md);
 * the agent-host refuses to start on one instead. Each fix is known by a name its patched files have and
 * the released ones lack.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const PATCHED = [
  { pkg: '@livekit/agents', files: ['dist/utils.js', 'dist/utils.cjs'], marker: 'wakeOnAbort', fault: "readStream keeps every frame of a session's audio" },
  { pkg: '@livekit/agents-plugin-deepgram', files: ['dist/stt.js', 'dist/stt.cjs'], marker: 'wakeOnAbort', fault: "nova-3's stream keeps every frame" },
  { pkg: '@livekit/agents-plugin-deepgram', files: ['dist/stt_v2.js', 'dist/stt_v2.cjs'], marker: 'wakeOnReconnect', fault: "Flux's stream keeps every frame" },
  {
    pkg: '@livekit/agents',
    files: ['dist/audio.js', 'dist/audio.cjs'],
    marker: 'concatBytes',
    fault: 'AudioByteStream copies the audio byte by byte through a JS array',
  },
  {
    pkg: '@livekit/agents',
    files: ['dist/utils.js', 'dist/utils.cjs'],
    marker: 'concatSamples',
    fault: 'mergeFrames copies the audio sample by sample through a JS array',
  },
  {
    pkg: '@livekit/agents',
    files: ['dist/worker.js', 'dist/worker.cjs'],
    marker: 'localEotWanted',
    fault: 'every agent-host starts an inference process (~300 MiB) for an end-of-turn model this agent never asks',
  },
] as const;

/** The folder of `pkg` as `from` resolves it: up from its entry file to the package.json that names it. */
function packageRoot(pkg: string, from: string): string {
  let dir = dirname(createRequire(from).resolve(pkg));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json for ${pkg} above its entry file`);
    dir = up;
  }
}

/** Each installed file that lacks its fix, as `<package>/<file> (<what the fix mends>)`; empty when all are in. */
export function unpatchedFiles(from: string = import.meta.url): string[] {
  const missing: string[] = [];
  // Each package found and each file read once, though several fixes may share them (utils.js has two).
  const roots = new Map<string, string>();
  const texts = new Map<string, string>();
  for (const fix of PATCHED) {
    const root = roots.get(fix.pkg) ?? packageRoot(fix.pkg, from);
    roots.set(fix.pkg, root);
    for (const file of fix.files) {
      const path = join(root, file);
      const text = texts.get(path) ?? readFileSync(path, 'utf8');
      texts.set(path, text);
      if (!text.includes(fix.marker)) missing.push(`${fix.pkg}/${file} (${fix.fault})`);
    }
  }
  return missing;
}

/** Throws, naming each file and the way to mend it, unless every fix of patches/ is installed. */
export function assertPatched(from: string = import.meta.url): void {
  const missing = unpatchedFiles(from);
  if (missing.length > 0) {
    throw new Error(`dependencies installed without patches/ (run \`npx patch-package\`; patches/README.md): ${missing.join('; ')}`);
  }
}
