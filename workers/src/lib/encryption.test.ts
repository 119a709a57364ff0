import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { currentKeyId, DecryptionError, decryptText, encryptText } from './encryption';

const withKeys = (current: string, previous?: string) =>
  ({ ...env, DATA_ENCRYPTION_KEY: current, ...(previous ? { DATA_ENCRYPTION_KEY_PREVIOUS: previous } : {}) }) as unknown as Env;

describe('encryption at rest', () => {
  it('seals text so that it does not show, differently each time, and opens it again', async () => {
    const secret = 'https://hybrid.coach/claim?token=abc123';
    const a = await encryptText(env, 'email-outbox', secret, 'row-1');
    const b = await encryptText(env, 'email-outbox', secret, 'row-1');
    expect(a).not.toContain('abc123');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(await decryptText(env, 'email-outbox', a, 'row-1')).toBe(secret);
    expect(await decryptText(env, 'email-outbox', b, 'row-1')).toBe(secret);
    const long = 'é'.repeat(200_000);
    expect(await decryptText(env, 'client-data', await encryptText(env, 'client-data', long), undefined)).toBe(long);
  });

  it('refuses a value opened for another purpose, another context, or altered', async () => {
    const sealed = await encryptText(env, 'email-outbox', 'hello', 'row-1');
    await expect(decryptText(env, 'mfa-secret', sealed, 'row-1')).rejects.toThrow(DecryptionError);
    await expect(decryptText(env, 'email-outbox', sealed, 'row-2')).rejects.toThrow(DecryptionError);
    await expect(decryptText(env, 'email-outbox', sealed)).rejects.toThrow(DecryptionError);
    const [v, id, iv, data = ''] = sealed.split('.');
    const flipped = `${data.slice(0, 5)}${data[5] === 'A' ? 'B' : 'A'}${data.slice(6)}`;
    await expect(decryptText(env, 'email-outbox', [v, id, iv, flipped].join('.'), 'row-1')).rejects.toThrow(DecryptionError);
    await expect(decryptText(env, 'email-outbox', 'plain text', 'row-1')).rejects.toThrow(DecryptionError);
  });

  it('names the key it sealed with, and opens old values during a rotation with the previous key', async () => {
    const oldKey = 'old-data-encryption-key-0123456789abcdefghij';
    const newKey = 'new-data-encryption-key-0123456789abcdefghij';
    const sealedBefore = await encryptText(withKeys(oldKey), 'mfa-secret', 'JBSWY3DPEHPK3PXP');
    expect(sealedBefore.split('.')[1]).toBe(await currentKeyId(withKeys(oldKey), 'mfa-secret'));
    // After the switch: old values open while the old key is kept as the previous one...
    const rotating = withKeys(newKey, oldKey);
    expect(await decryptText(rotating, 'mfa-secret', sealedBefore)).toBe('JBSWY3DPEHPK3PXP');
    const sealedAfter = await encryptText(rotating, 'mfa-secret', 'x');
    expect(sealedAfter.split('.')[1]).toBe(await currentKeyId(withKeys(newKey), 'mfa-secret'));
    expect(sealedAfter.split('.')[1]).not.toBe(sealedBefore.split('.')[1]);
    // ...and, once it is gone, say which key is missing.
    await expect(decryptText(withKeys(newKey), 'mfa-secret', sealedBefore)).rejects.toThrow(/DATA_ENCRYPTION_KEY_PREVIOUS/);
  });

  it('fails fast, naming the secret, when DATA_ENCRYPTION_KEY is missing or short', async () => {
    await expect(encryptText(withKeys(''), 'email-outbox', 'x')).rejects.toThrow(/DATA_ENCRYPTION_KEY is required/);
    await expect(encryptText(withKeys('too-short'), 'email-outbox', 'x')).rejects.toThrow(/DATA_ENCRYPTION_KEY is required/);
  });
});
