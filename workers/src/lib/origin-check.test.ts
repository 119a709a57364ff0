import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { API, bearer, body, createUser, get, post, signIn } from '../../test/helpers';
import { portalOrigins } from './config';

const send = (method: string, path: string, headers: Record<string, string>) => SELF.fetch(`${API}${path}`, { method, headers });
const signedIn = async (role: 'CLIENT' | 'COACH' = 'CLIENT') => signIn((await createUser({ role, tier: 'PREMIUM' })).email);
const stillSignedIn = async (token: string) => (await get('/api/users/me', bearer(token))).status === 200;

describe('the Origin check on changes and WebSocket upgrades', () => {
  it('lets each portal’s origin change things, and refuses any other origin (a sibling subdomain or port, null) with 403', async () => {
    for (const origin of portalOrigins(env)) {
      const token = await signedIn();
      expect((await send('POST', '/api/auth/logout', { ...bearer(token), Origin: origin })).status, origin).toBe(200);
    }
    const token = await signedIn();
    for (const origin of ['https://evil.example.com', 'http://localhost:5999', 'http://127.0.0.1:5172', 'null']) {
      const res = await send('POST', '/api/auth/logout', { ...bearer(token), Origin: origin });
      expect(res.status, origin).toBe(403);
      expect(await body(res)).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    }
    // Nothing happened: still signed in.
    expect(await stillSignedIn(token)).toBe(true);
  });

  it('covers every changing method, with or without a body, and leaves reads to CORS', async () => {
    const coach = await signedIn('COACH');
    const evil = { ...bearer(coach), Origin: 'https://evil.example.com' };
    expect((await send('DELETE', '/api/availability/some-window', evil)).status).toBe(403);
    expect(
      (await SELF.fetch(`${API}/api/availability/some-window`, { method: 'PUT', headers: { ...evil, 'Content-Type': 'application/json' }, body: '{}' })).status,
    ).toBe(403);
    expect((await SELF.fetch(`${API}/api/users/me`, { method: 'PATCH', headers: { ...evil, 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(
      403,
    );
    expect((await post('/api/availability', { dayOfWeek: 1, startTime: '09:00', endTime: '10:00' }, evil)).status).toBe(403);
    expect((await get('/api/availability', bearer(coach))).status).toBe(200);
    expect((await body<unknown[]>(await get('/api/availability', bearer(coach)))).data).toEqual([]);
    expect((await get('/api/users/me', evil)).status).toBe(200);
  });

  it('keeps bearer calls without an Origin working, and refuses a change riding on the cookie alone', async () => {
    const token = await signedIn();
    const cookie = { Cookie: `hc_session=${token}` };
    expect((await send('POST', '/api/auth/logout', cookie)).status).toBe(403);
    expect(await stillSignedIn(token)).toBe(true);
    expect((await send('POST', '/api/auth/logout', { ...cookie, Origin: portalOrigins(env)[2]! })).status).toBe(200);
    expect(await stillSignedIn(token)).toBe(false);

    const other = await signedIn();
    expect((await send('POST', '/api/auth/logout', bearer(other))).status).toBe(200);
    // Signing in (no cookie yet) from a script goes on too.
    expect(await signedIn()).toBeTypeOf('string');
  });

  it('leaves signed webhooks to their signatures', async () => {
    const res = await SELF.fetch(`${API}/api/webhooks/livekit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/webhook+json', Origin: 'https://evil.example.com' },
      body: '{}',
    });
    expect(res.status).toBe(401);
  });

  it('refuses a WebSocket upgrade from another origin without using up its ticket', async () => {
    const token = await signedIn();
    const started = await post('/api/rooms', {}, bearer(token));
    const { sessionId } = (await body<{ sessionId: string }>(started)).data;
    const { ticket } = (await body<{ ticket: string }>(await post(`/api/rooms/${sessionId}/ws-ticket`, {}, bearer(token)))).data;
    const upgrade = (headers: Record<string, string>) => get(`/api/rooms/${sessionId}/ws?ticket=${ticket}`, { Upgrade: 'websocket', ...headers });
    expect((await upgrade({ Origin: 'https://evil.example.com' })).status).toBe(403);
    const ok = await upgrade({ Origin: portalOrigins(env)[2]! });
    expect(ok.status).toBe(101);
    ok.webSocket!.accept();
    ok.webSocket!.close();
    await post(`/api/rooms/${sessionId}/end`, {}, bearer(token));
  });
});
