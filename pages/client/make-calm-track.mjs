#!/usr/bin/env node
/**
 * Writes the bundled calm track, pages/client/public/calm-track.wav: a soft, slowly swelling pad
 * (A2, E3, A3, C#4 with a faint fifth above) that loops without a seam. Synthesised here rather than
 * downloaded, so its licence is ours. 8 kHz, 8-bit mono keeps it near 80 KB; the pad has nothing above
 * 1 kHz, so nothing is lost. Run `node pages/client/make-calm-track.mjs` after changing it.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RATE = 8000;
const SECONDS = 10;
const N = RATE * SECONDS;
// Every partial completes a whole number of cycles in SECONDS (f × SECONDS is an integer): a seamless loop.
const PARTIALS = [
  { f: 110, a: 0.34, swell: 1 },
  { f: 165, a: 0.22, swell: 2 },
  { f: 220, a: 0.16, swell: 1 },
  { f: 277.2, a: 0.1, swell: 3 },
  { f: 330, a: 0.06, swell: 2 },
];

const samples = new Uint8Array(N);
for (let i = 0; i < N; i++) {
  const t = i / RATE;
  let v = 0;
  for (const { f, a, swell } of PARTIALS) {
    // Each voice swells in and out `swell` times per loop, so the chord breathes.
    const env = 0.55 + 0.45 * Math.sin((2 * Math.PI * swell * t) / SECONDS + f);
    v += a * env * Math.sin(2 * Math.PI * f * t);
  }
  samples[i] = Math.round(128 + 127 * 0.6 * Math.max(-1, Math.min(1, v)));
}

const header = Buffer.alloc(44);
header.write('RIFF', 0);
header.writeUInt32LE(36 + N, 4);
header.write('WAVE', 8);
header.write('fmt ', 12);
header.writeUInt32LE(16, 16); // PCM chunk size
header.writeUInt16LE(1, 20); // PCM
header.writeUInt16LE(1, 22); // mono
header.writeUInt32LE(RATE, 24);
header.writeUInt32LE(RATE, 28); // bytes per second
header.writeUInt16LE(1, 32); // block align
header.writeUInt16LE(8, 34); // bits per sample
header.write('data', 36);
header.writeUInt32LE(N, 40);

const out = fileURLToPath(new URL('./public/calm-track.wav', import.meta.url));
writeFileSync(out, Buffer.concat([header, Buffer.from(samples)]));
console.log(`wrote ${out} (${44 + N} bytes)`);
