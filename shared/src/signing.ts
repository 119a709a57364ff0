/**
 * Signed requests between the Worker and the agent-host (both directions): HMAC-SHA256 over
 * `<timestamp>.<idempotency key>.<body>` with a shared secret, a 5-minute replay window, and an idempotency key that
 * the receiver uses to make a retried delivery a no-op. Plain WebCrypto: runs in workerd and in Node.
 */

export const SIGNATURE_HEADER = 'X-HC-Signature';
export const TIMESTAMP_HEADER = 'X-HC-Timestamp';
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAY_WINDOW_MS = 5 * 60 * 1000;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Headers for a signed request carrying `body`. */
export async function signedHeaders(secret: string, body: string, idempotencyKey: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(now);
  return {
    'Content-Type': 'application/json',
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `v1=${await hmacHex(secret, `${timestamp}.${idempotencyKey}.${body}`)}`,
    [IDEMPOTENCY_HEADER]: idempotencyKey,
  };
}

export type VerifyFailure = 'missing' | 'stale' | 'bad-signature';

/** Checks a signed request; answers why it fails, or null when it is good. */
export async function verifySigned(
  secret: string,
  body: string,
  headers: { get(name: string): string | null },
  now = Date.now(),
): Promise<VerifyFailure | null> {
  const timestamp = headers.get(TIMESTAMP_HEADER);
  const signature = headers.get(SIGNATURE_HEADER);
  const key = headers.get(IDEMPOTENCY_HEADER);
  if (!timestamp || !signature || !key || !/^\d{10,16}$/.test(timestamp)) return 'missing';
  if (Math.abs(now - Number(timestamp)) > REPLAY_WINDOW_MS) return 'stale';
  const expected = `v1=${await hmacHex(secret, `${timestamp}.${key}.${body}`)}`;
  return timingSafeEqual(expected, signature) ? null : 'bad-signature';
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
