import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { assertPatched, PATCHED, unpatchedFiles } from '../src/lib/patched';

/**
 * The agent-host starts only on dependencies patches/ has mended (lib/patched.ts, called first by
 * startAgentHost): an install without them would keep every frame of every session's audio.
 */

const dir = mkdtempSync(join(tmpdir(), 'hc-patched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node_modules with the two packages as released, but for `patchedFiles`, which have their fix. */
function install(name: string, patchedFiles: string[]): string {
  const root = join(dir, name);
  for (const pkg of new Set(PATCHED.map((p) => p.pkg))) {
    const at = join(root, 'node_modules', pkg);
    mkdirSync(join(at, 'dist'), { recursive: true });
    writeFileSync(join(at, 'package.json'), JSON.stringify({ name: pkg, version: '1.9.0', main: 'dist/index.js' }));
    writeFileSync(join(at, 'dist', 'index.js'), '');
    writeFileSync(join(at, 'dist', 'package.json'), JSON.stringify({ type: 'module' })); // not the package's own
  }
  // A file can carry more than one fix (utils: readStream's and mergeFrames').
  const markers = new Map<string, string[]>();
  for (const fix of PATCHED) for (const file of fix.files) markers.set(`${fix.pkg}/${file}`, [...(markers.get(`${fix.pkg}/${file}`) ?? []), fix.marker]);
  for (const [source, names] of markers) {
    writeFileSync(
      join(root, 'node_modules', source),
      patchedFiles.includes(source) ? names.map((name) => `let ${name} = null;`).join('\n') : 'const abortPromise = waitForAbort(signal);',
    );
  }
  const from = join(root, 'main.js');
  writeFileSync(from, '');
  return pathToFileURL(from).href;
}

describe('the agent-host refuses dependencies installed without patches/', () => {
  it('finds every fix in this install (npm ci applied them)', () => {
    expect(unpatchedFiles()).toEqual([]);
    expect(() => assertPatched()).not.toThrow();
  });

  it('names each file without its fix, and how to mend it', () => {
    const every = PATCHED.flatMap((fix) => fix.files.map((file) => `${fix.pkg}/${file}`));
    const from = install(
      'skipped',
      every.filter((f) => f.includes('stt_v2')),
    );
    expect(unpatchedFiles(from)).toEqual([
      "@livekit/agents/dist/utils.js (readStream keeps every frame of a session's audio)",
      "@livekit/agents/dist/utils.cjs (readStream keeps every frame of a session's audio)",
      "@livekit/agents-plugin-deepgram/dist/stt.js (nova-3's stream keeps every frame)",
      "@livekit/agents-plugin-deepgram/dist/stt.cjs (nova-3's stream keeps every frame)",
      '@livekit/agents/dist/audio.js (AudioByteStream copies the audio byte by byte through a JS array)',
      '@livekit/agents/dist/audio.cjs (AudioByteStream copies the audio byte by byte through a JS array)',
      '@livekit/agents/dist/utils.js (mergeFrames copies the audio sample by sample through a JS array)',
      '@livekit/agents/dist/utils.cjs (mergeFrames copies the audio sample by sample through a JS array)',
      '@livekit/agents/dist/worker.js (every agent-host starts an inference process (~300 MiB) for an end-of-turn model this agent never asks)',
      '@livekit/agents/dist/worker.cjs (every agent-host starts an inference process (~300 MiB) for an end-of-turn model this agent never asks)',
    ]);
    expect(() => assertPatched(from)).toThrow(/run `npx patch-package`.*@livekit\/agents\/dist\/utils\.js/);
    expect(unpatchedFiles(install('all', every))).toEqual([]);
  });
});
