/**
 * What a sender whose schema drifted would put on the wire: a body of any shape, sealed with the right
 * key (sealPacket refuses such a body). For tests of the receiving side: shared/test and e2e.
 */
export async function sealAnyBody(key: ArrayBuffer, topic: string, body: unknown): Promise<Uint8Array> {
  const hmacKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(`${topic}\n${JSON.stringify(body)}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return new TextEncoder().encode(JSON.stringify({ v: 1, body, mac: hex }));
}
