#!/usr/bin/env node
/**
 * schemathesis, the property-based API tester (PyPI), for the fuzz test in `npm test` (e2e/api-fuzz.test.ts).
 *
 *   node scripts/schemathesis.mjs ensure     prints the CLI's path (creates the virtual environment if needed)
 *
 * It lives in a virtual environment under the git-ignored .tools/ (python3 -m venv, then pip install of the
 * pinned version from PyPI), made once and reused; $SCHEMATHESIS_BIN points at another one.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fs, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The pinned version: checks and phases are named as in its CLI. */
export const SCHEMATHESIS_VERSION = '4.32.5';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VENV = join(ROOT, '.tools', `schemathesis-${SCHEMATHESIS_VERSION}`);

const isExecutable = (path) => {
  try {
    accessSync(path, fs.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Absolute path of the schemathesis CLI; installs the pinned version into .tools the first time. */
export function ensureSchemathesis() {
  const fromEnv = process.env.SCHEMATHESIS_BIN;
  if (fromEnv) {
    const bin = resolve(fromEnv);
    if (!isExecutable(bin)) throw new Error(`SCHEMATHESIS_BIN=${fromEnv} is not an executable file`);
    return bin;
  }
  const bin = join(VENV, 'bin', 'schemathesis');
  if (isExecutable(bin)) return bin;
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      rmSync(VENV, { recursive: true, force: true });
      throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}). schemathesis needs Python 3.9+ with venv and pip, and PyPI.`);
    }
  };
  console.error(`schemathesis: installing ${SCHEMATHESIS_VERSION} into ${VENV} (once)`);
  run('python3', ['-m', 'venv', VENV]);
  run(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  if (!isExecutable(bin)) throw new Error(`schemathesis was installed but ${bin} is missing`);
  return bin;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command] = process.argv.slice(2);
  if (command === 'ensure') {
    console.log(ensureSchemathesis());
  } else {
    console.error('usage: node scripts/schemathesis.mjs ensure');
    process.exit(2);
  }
}
