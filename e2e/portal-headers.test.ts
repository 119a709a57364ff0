/**
 * The portals' Cloudflare Pages headers (vite.config.ts writes `_headers` into each build): each
 * portal's Content-Security-Policy allows exactly its API, LiveKit and media, with the usual hardening.
 * Then the public site and the client portal, served with those headers, in real Chromium: signing
 * in, the dashboard and a call room connected to livekit-server raise no policy violation, while a
 * request the policy does not allow is refused (so the policy is really in force).
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, apiOk, buildPortal, createClient, eventually, launchChromium, servePortal } from './helpers';

const EMAIL = 'csp-premium@example.com';
const apiOrigin = inject('apiOrigin');
const livekitUrl = inject('livekitUrl');
const portals = inject('portalUrls');

type Portal = 'public' | 'client' | 'coach';

/** `_headers` of a build: the headers of its `/*` rule, and the directives of its policy. */
function headersOf(dir: string): { all: Map<string, string>; csp: Map<string, string[]>; text: string } {
  const text = readFileSync(join(dir, '_headers'), 'utf8');
  const block = text.split(/\n(?=\S)/).find((b) => b.startsWith('/*\n')) ?? '';
  const all = new Map(
    block
      .split('\n')
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]),
  );
  const csp = new Map(
    (all.get('content-security-policy') ?? '').split(';').map((d) => {
      const [name = '', ...sources] = d.trim().split(/\s+/);
      return [name, sources] as [string, string[]];
    }),
  );
  return { all, csp, text };
}

describe("the portals' security headers", () => {
  let workDir = '';
  const dirs = {} as Record<Portal, string>;
  let browser: Browser | undefined;
  let page: Page;
  const stops: (() => Promise<void>)[] = [];
  const violations: { directive: string; blocked: string; page: string }[] = [];
  let sessionId = '';
  let token = '';

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'hc-portal-headers-'));
    for (const p of ['public', 'client', 'coach'] as const) dirs[p] = join(workDir, p);
    await Promise.all([
      buildPortal('public', dirs.public),
      buildPortal('client', dirs.client),
      buildPortal('coach', dirs.coach),
      createClient(EMAIL, 'Cora Policy', 'PREMIUM'),
    ]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    for (const stop of stops) await stop();
    if (sessionId) await api('POST', `/api/rooms/${sessionId}/end`, { token }).catch(() => undefined);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('allows each portal its API, and the call portals LiveKit, the microphone and their media', () => {
    const api = new URL(apiOrigin);
    const livekit = new URL(livekitUrl);
    const apiWs = `ws://${api.host}`;
    const livekitWs = `ws://${livekit.host}`;
    const livekitHttp = `http://${livekit.host}`;

    for (const p of ['public', 'client', 'coach'] as const) {
      const { all, csp, text } = headersOf(dirs[p]);
      expect(csp.get('default-src'), p).toEqual(["'none'"]);
      expect(csp.get('script-src'), p).toEqual(["'self'"]);
      expect(csp.get('style-src'), p).toEqual(["'self'"]);
      expect(csp.get('frame-ancestors'), p).toEqual(["'none'"]);
      expect(csp.get('worker-src'), p).toEqual(["'none'"]);
      expect(csp.get('base-uri'), p).toEqual(["'none'"]);
      expect(text, p).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(all.get('x-content-type-options'), p).toBe('nosniff');
      expect(all.get('referrer-policy'), p).toBe('no-referrer');
      expect(all.get('x-frame-options'), p).toBe('DENY');
      expect(all.get('permissions-policy'), p).toContain(p === 'public' ? 'microphone=()' : 'microphone=(self)');
      expect(all.get('permissions-policy'), p).toContain('camera=()');
      // Hashed assets are cached for good; nothing else is.
      expect(text).toMatch(/^\/assets\/\*\n {2}Cache-Control: public, max-age=31536000, immutable$/m);
      // Pages' single-page-application mode (index.html for every route) holds only without a 404.html.
      expect(existsSync(join(dirs[p], '404.html')), p).toBe(false);
      expect(existsSync(join(dirs[p], 'index.html')), p).toBe(true);
    }

    expect(headersOf(dirs.public).csp.get('connect-src')).toEqual([api.origin]);
    expect(headersOf(dirs.public).csp.has('media-src')).toBe(false);
    for (const p of ['client', 'coach'] as const) {
      expect(headersOf(dirs[p]).csp.get('connect-src'), p).toEqual([api.origin, apiWs, livekitWs, livekitHttp]);
    }
    // The client plays the bundled calm track and a favourite track from anywhere on https.
    expect(headersOf(dirs.client).csp.get('media-src')).toEqual(["'self'", 'https:', 'mediastream:']);
    expect(headersOf(dirs.coach).csp.get('media-src')).toEqual(['mediastream:']);
  });

  it('signs in and opens a call room connected to LiveKit with no policy violation; a stray request is refused', { timeout: 120_000 }, async () => {
    stops.push(await servePortal('public', dirs.public));
    stops.push(await servePortal('client', dirs.client));
    for (const p of ['public', 'client'] as const) {
      const res = await fetch(`${portals[p]}/some/route`);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-security-policy'), p).toBe(headersOf(dirs[p]).all.get('content-security-policy'));
    }

    browser = await launchChromium(join(workDir, 'chromium'), { media: true, autoplay: false });
    page = await browser.newPage();
    // Every violation on every page this tab opens (a binding outlives navigations).
    await page.exposeFunction('hcPolicyViolation', (v: { directive: string; blocked: string; page: string }) => violations.push(v));
    await page.evaluateOnNewDocument(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const report = (window as unknown as { hcPolicyViolation: (v: unknown) => void }).hcPolicyViolation;
        report({ directive: e.effectiveDirective, blocked: e.blockedURI, page: location.href });
      });
    });

    // The public site signs in (fetch to the API) and sends the browser to the client portal.
    await page.goto(`${portals.public}/login`, { waitUntil: 'networkidle0' });
    await page.type('input[name=email]', EMAIL);
    await page.type('input[name=password]', inject('demoPassword'));
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=tier-banner]', { timeout: 15_000 });
    token = (await page.evaluate(() => sessionStorage.getItem('hc_token'))) ?? '';
    expect(token).not.toBe('');

    // Onboarded, a session of theirs; the call route joins it: the room's WebSocket and LiveKit.
    const onboarded = await fetch(`${apiOrigin}/api/users/me/profile`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ coachingGoals: 'Calmer evenings', initialMood: 3 }),
    });
    expect(onboarded.status).toBe(200);
    const ticket = await apiOk<{ sessionId: string; roomName: string }>('POST', '/api/rooms', { token }, 201);
    sessionId = ticket.sessionId;
    await page.goto(`${portals.client}/call/${sessionId}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-testid=waiting-room]', { timeout: 20_000 });

    const me = await apiOk<{ id: string }>('GET', '/api/users/me', { token });
    const rooms = new RoomServiceClient(inject('livekitHttpUrl'), inject('livekitApiKey'), inject('livekitApiSecret'));
    await eventually('the client portal to join the LiveKit room', async () =>
      (await rooms.listParticipants(ticket.roomName)).some((p) => p.identity === me.id),
    );
    // The microphone is allowed on the portal's own pages: the level meter gets a stream.
    await eventually(
      'the microphone meter to get a level',
      async () => Number(await page.$eval('[data-testid=mic-meter]', (m) => m.getAttribute('aria-valuenow'))) > 0,
    );
    // The room's live events (GET /api/rooms/:id/ws, on the API's ws: origin) are open, and LiveKit is connected.
    await page.waitForSelector('[data-testid=call-room][data-events=open]', { timeout: 20_000 });
    await page.waitForSelector('[data-testid=call-room][data-connection=connected]', { timeout: 20_000 });
    expect(violations).toEqual([]);

    // Anything else is refused by the browser, before any request leaves.
    await page.evaluate(() => fetch('https://stray.example.invalid/collect').catch(() => undefined));
    await eventually('the stray request to be reported', () => violations.length > 0);
    expect(violations).toEqual([{ directive: 'connect-src', blocked: 'https://stray.example.invalid/collect', page: `${portals.client}/call/${sessionId}` }]);
  });
});
