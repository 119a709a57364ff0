/**
 * The two things bench/run.mjs times, shared by its Node run and its workerd run (both bundle this
 * file with esbuild): the production password check from workers/src/lib/password.ts, and the
 * baseline, WebCrypto PBKDF2-SHA256 at 100,000 iterations (the most production Workers allow).
 */
import { hashPassword, PASSWORD_PARAMS, verifyPassword } from '../workers/src/lib/password.ts';

export { PASSWORD_PARAMS };
export const PBKDF2_ITERATIONS = 100_000;

const PASSWORD = 'bench-correct-horse-battery';

/**
 * @typedef {'argon2id' | 'pbkdf2'} CaseName
 * @typedef {() => Promise<void>} Operation one password verification
 */

/**
 * Sets a case up (hashing the password once) and answers one verification of it.
 * @param {CaseName} name
 * @returns {Promise<Operation>}
 */
export async function prepare(name) {
  if (name === 'argon2id') {
    const encoded = await hashPassword(PASSWORD);
    return async () => {
      if (!(await verifyPassword(encoded, PASSWORD))) throw new Error('argon2id: the correct password did not verify');
    };
  }
  if (name === 'pbkdf2') {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const expected = await pbkdf2(PASSWORD, salt);
    return async () => {
      const derived = await pbkdf2(PASSWORD, salt);
      if (!equal(derived, expected)) throw new Error('pbkdf2: the correct password did not verify');
    };
  }
  throw new Error(`unknown case: ${String(name)}`);
}

/**
 * @param {string} password
 * @param {Uint8Array<ArrayBuffer>} salt
 */
async function pbkdf2(password, salt) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: PBKDF2_ITERATIONS }, key, 256);
  return new Uint8Array(bits);
}

/**
 * Constant-time comparison, as a real verification would do.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 */
function equal(a, b) {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
