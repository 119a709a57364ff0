/**
 * Encryption at rest for data the app must read back later (queued emails, staff MFA secrets, intake
 * answers and coaches' notes through lib/field-crypto.ts): AES-256-GCM under a key derived with
 * HKDF-SHA-256 from the Worker secret DATA_ENCRYPTION_KEY, one key per purpose, so a value sealed for
 * one use cannot be opened as another.
 *
 * A sealed value is one string, `v1.<keyId>.<iv>.<ciphertext>` (base64url): the key id names the
 * secret it was sealed with, so a rotation can run with the old secret set as
 * DATA_ENCRYPTION_KEY_PREVIOUS until nothing sealed with it is left (docs/operations.md). An optional
 * `context` (e.g. the row id) is bound in as associated data: a value copied into another row does
 * not open there.
 *
 * WebCrypto does all of it (Workers have AES-GCM and HKDF natively); no library needed.
 */
import { requireSecret } from './config';

/** What a sealed value is for. Add a purpose here; never reuse one for different data. */
export type EncryptionPurpose = 'email-outbox' | 'mfa-secret' | 'client-data' | 'intake-answer' | 'coach-note';

const VERSION = 'v1';
const IV_BYTES = 12;
const SALT = new TextEncoder().encode('hybrid-coach/data-encryption/v1');

/** Thrown when a sealed value cannot be opened: tampered, another purpose or context, or an unknown key. */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

interface Key {
  id: string;
  material: CryptoKey;
}

function b64url(bytes: Uint8Array): string {
  let binary = '';
  // By chunks: spreading a large array into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
const utf8 = (text: string) => new TextEncoder().encode(text);

/** Derived keys, per secret and purpose, for the life of the isolate (derivation costs a little). */
const derived = new Map<string, Promise<Key>>();

function deriveKey(secret: string, purpose: EncryptionPurpose): Promise<Key> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = derived.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey', 'deriveBits']);
      const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info: utf8(info) });
      // The key id: 6 bytes derived apart from any key, so it says which secret without revealing it.
      const idBits = await crypto.subtle.deriveBits(hkdf('key-id'), base, 48);
      const material = await crypto.subtle.deriveKey(hkdf(`purpose:${purpose}`), base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      return { id: b64url(new Uint8Array(idBits)), material };
    })();
    derived.set(cacheKey, key);
  }
  return key;
}

type KeyVars = { DATA_ENCRYPTION_KEY_PREVIOUS?: string };

/** The secrets that may open a value: the current one, and the previous one during a rotation. */
function secrets(env: Env): string[] {
  const previous = (env as unknown as KeyVars).DATA_ENCRYPTION_KEY_PREVIOUS;
  return [requireSecret(env, 'DATA_ENCRYPTION_KEY'), ...(previous && previous.length >= 32 ? [previous] : [])];
}

const associatedData = (purpose: EncryptionPurpose, context: string | undefined) => utf8(`hybrid-coach/${VERSION}/${purpose}/${context ?? ''}`);

/** Seals `plaintext` for `purpose` (and `context`, if given) under the current DATA_ENCRYPTION_KEY. */
export async function encryptText(env: Env, purpose: EncryptionPurpose, plaintext: string, context?: string): Promise<string> {
  const [current = ''] = secrets(env);
  const key = await deriveKey(current, purpose);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: associatedData(purpose, context) }, key.material, utf8(plaintext));
  return [VERSION, key.id, b64url(iv), b64url(new Uint8Array(sealed))].join('.');
}

/** Opens a value sealed by `encryptText` with the same purpose and context; throws DecryptionError otherwise. */
export async function decryptText(env: Env, purpose: EncryptionPurpose, sealed: string, context?: string): Promise<string> {
  const [version, keyId, iv, data, ...extra] = sealed.split('.');
  if (version !== VERSION || !keyId || !iv || !data || extra.length > 0) throw new DecryptionError('Not a sealed value');
  const keys = await Promise.all(secrets(env).map((s) => deriveKey(s, purpose)));
  const key = keys.find((k) => k.id === keyId);
  if (!key) {
    throw new DecryptionError(
      `Sealed with key ${keyId}, which is neither DATA_ENCRYPTION_KEY nor DATA_ENCRYPTION_KEY_PREVIOUS (see docs/operations.md, rotation)`,
    );
  }
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromB64url(iv), additionalData: associatedData(purpose, context) },
      key.material,
      fromB64url(data),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new DecryptionError('The sealed value does not open: altered, or sealed for another purpose or context');
  }
}

/** The id of the key `encryptText` seals with now (to find values sealed with an older one). */
export async function currentKeyId(env: Env, purpose: EncryptionPurpose): Promise<string> {
  const [current = ''] = secrets(env);
  return (await deriveKey(current, purpose)).id;
}

/** What a keyed hash is for (its own derived key). */
export type HashPurpose = 'erased-email';

const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string, purpose: HashPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = hmacKeys.get(cacheKey);
  if (!key) {
    key = crypto.subtle
      .importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey'])
      .then((base) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: utf8(`hmac:${purpose}`) },
          base,
          { name: 'HMAC', hash: 'SHA-256', length: 256 },
          false,
          ['sign'],
        ),
      );
    hmacKeys.set(cacheKey, key);
  }
  return key;
}

/**
 * Keyed hashes (HMAC-SHA-256, base64url) of `text` for `purpose`: under DATA_ENCRYPTION_KEY first, then
 * under DATA_ENCRYPTION_KEY_PREVIOUS during a rotation. Lets a table recognise a value it must not hold.
 */
export async function keyedHashes(env: Env, purpose: HashPurpose, text: string): Promise<string[]> {
  return Promise.all(secrets(env).map(async (s) => b64url(new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(s, purpose), utf8(text))))));
}
