/**
 * Password hashing: argon2id at OWASP's minimum (19 MiB, t=2, p=1) in WebAssembly.
 *
 * Why this and not PBKDF2: production Workers cap WebCrypto PBKDF2 at 100,000 iterations (local
 * workerd does not), a sixth of OWASP's 600,000 for PBKDF2-SHA256. Pure-JS argon2 costs ~400 ms CPU.
 * @phi-ag/argon2 ships a prebuilt SIMD .wasm file; importing it as a module gives a compiled
 * WebAssembly.Module (no run-time compilation, which Workers forbid). bench/ measures the cost.
 */
import Argon2, { Argon2Type, Argon2Version } from '@phi-ag/argon2';
import wasm from '@phi-ag/argon2/argon2.wasm';

/** Current parameters. Stored hashes carry theirs (PHC string); a mismatch is re-hashed at login. */
export const PASSWORD_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, hashLength: 32 } as const;

let argon2: Argon2 | undefined;

async function instance(): Promise<Argon2> {
  argon2 ??= new Argon2(await WebAssembly.instantiate(wasm));
  return argon2;
}

export async function hashPassword(password: string): Promise<string> {
  const a = await instance();
  return a.hash(password, {
    ...PASSWORD_PARAMS,
    type: Argon2Type.Argon2id,
    version: Argon2Version.Version13,
    salt: crypto.getRandomValues(new Uint8Array(16)),
  }).encoded;
}

export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  const a = await instance();
  return a.tryVerify(encoded, password, Argon2Type.Argon2id).success;
}

/** True when `encoded` was made with other parameters than today's. */
export function needsRehash(encoded: string): boolean {
  const m = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$([^$]+)$/.exec(encoded);
  if (!m) return true;
  const [, v, mem, t, p, hash] = m;
  const hashBytes = Math.floor(((hash?.length ?? 0) * 3) / 4);
  return (
    Number(v) !== Argon2Version.Version13 ||
    Number(mem) !== PASSWORD_PARAMS.memoryCost ||
    Number(t) !== PASSWORD_PARAMS.timeCost ||
    Number(p) !== PASSWORD_PARAMS.parallelism ||
    hashBytes !== PASSWORD_PARAMS.hashLength
  );
}

/**
 * A hash of a random throw-away password at today's parameters. Verified against when the email
 * is unknown or has no password, so those answers take as long as a wrong password does.
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$lqGSBpaMpqYxLylzax8h6Q$DLR5dgvq0opFYxovgQ+y47NCBk6seNXlEO+DJ+D0D9Y';
