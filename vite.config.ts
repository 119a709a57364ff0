import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv, type Plugin } from 'vite';

/**
 * One codebase under pages/, one static build per portal (each deploys to its own Pages project):
 * `PORTAL=public vite build` → dist/public, `PORTAL=coach vite build` → dist/coach, `PORTAL=client
 * vite build` → dist/client. Dev servers: public 5170, coach 5171, client 5172. Only `HC_PUBLIC_*`
 * variables reach the browser (e.g. HC_PUBLIC_API_URL, HC_PUBLIC_PUBLIC_URL, HC_PUBLIC_CLIENT_URL).
 * A build also writes the Cloudflare Pages `_headers` file (pagesHeaders below), whose security policy
 * names the API (HC_PUBLIC_API_URL) and, for the call portals, the LiveKit server (HC_PUBLIC_LIVEKIT_URL).
 */
const ROOT = import.meta.dirname;
const PORTS = { public: 5170, coach: 5171, client: 5172 } as const;
type Portal = keyof typeof PORTS;

const portal = (process.env.PORTAL ?? 'public') as Portal;
if (!(portal in PORTS)) throw new Error(`PORTAL must be one of ${Object.keys(PORTS).join(', ')}`);

/** The local defaults: pages/api/config.ts's for the API; wrangler.toml's LIVEKIT_URL for LiveKit. */
const DEFAULT_API_URL = 'http://localhost:8787';
const DEFAULT_LIVEKIT_URL = 'ws://127.0.0.1:7880';

/** An origin in both schemes a browser uses for it: http(s) for fetch, ws(s) for WebSockets. */
function bothSchemes(name: string, url: string): [string, string] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${name} must be an absolute URL (got "${url}")`);
  }
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  if (!secure && u.protocol !== 'http:' && u.protocol !== 'ws:') throw new Error(`${name} must be http(s) or ws(s) (got "${url}")`);
  return [`${secure ? 'https' : 'http'}://${u.host}`, `${secure ? 'wss' : 'ws'}://${u.host}`];
}

/**
 * The Content-Security-Policy of a portal: exactly what it loads and talks to.
 * - Scripts, styles and images are the portal's own files ('self'; the Vite build inlines none).
 *   React's `style` props set CSSOM properties, which style-src does not govern.
 * - connect-src: the API over https, and over wss for GET /api/rooms/:id/ws (call portals);
 *   LiveKit's signalling WebSocket and its https endpoints (/rtc/validate) for the call portals.
 *   WebRTC media and ICE (TURN) are not governed by CSP.
 * - media-src: LiveKit's remote audio plays from a MediaStream (srcObject: `mediastream:` for the
 *   browsers that check it); the client portal also plays the bundled calm track ('self') and the
 *   client's own favourite track, any https URL (settings accept http(s); on an https page Chrome
 *   upgrades http audio, and a track that fails falls back to the calm one). livekit-client makes
 *   no blob: URLs, so none are allowed.
 * - worker-src 'none': livekit-client starts workers only for end-to-end encryption, which we do
 *   not use.
 */
export function contentSecurityPolicy(p: Portal, apiUrl: string, livekitUrl: string): string {
  const [apiHttp, apiWs] = bothSchemes('HC_PUBLIC_API_URL', apiUrl);
  const [livekitHttp, livekitWs] = bothSchemes('HC_PUBLIC_LIVEKIT_URL', livekitUrl);
  const call = p !== 'public';
  const directives: [string, string[]][] = [
    ['default-src', ["'none'"]],
    ['script-src', ["'self'"]],
    ['style-src', ["'self'"]],
    ['img-src', ["'self'"]],
    ['connect-src', call ? [apiHttp, apiWs, livekitWs, livekitHttp] : [apiHttp]],
    ...(call ? [['media-src', p === 'client' ? ["'self'", 'https:', 'mediastream:'] : ['mediastream:']] as [string, string[]]] : []),
    ['worker-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'self'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

/**
 * Cloudflare Pages' `_headers` for a portal: the policy above and the usual hardening on every path;
 * hashed assets cached for a year. `Permissions-Policy` lets only the call portals' own pages use
 * the microphone (the coach speaks in the call too); nothing gets the camera (calls are audio only).
 */
export function pagesHeaders(p: Portal, apiUrl: string, livekitUrl: string): string {
  const microphone = p === 'public' ? 'microphone=()' : 'microphone=(self)';
  const lines = [
    '/*',
    `  Content-Security-Policy: ${contentSecurityPolicy(p, apiUrl, livekitUrl)}`,
    `  Permissions-Policy: ${microphone}, camera=(), geolocation=(), payment=(), usb=(), display-capture=()`,
    '  X-Content-Type-Options: nosniff',
    // The auth callback carries a sign-in grant in its query: never send a URL of ours anywhere.
    '  Referrer-Policy: no-referrer',
    '  X-Frame-Options: DENY',
    '  Cross-Origin-Opener-Policy: same-origin',
    '/assets/*',
    '  Cache-Control: public, max-age=31536000, immutable',
  ];
  return `${lines.join('\n')}\n`;
}

/** The rules of a `_headers` file: a path pattern (`*` matches anything), then its indented headers. */
export function parseHeadersFile(text: string): { pattern: RegExp; headers: [string, string][] }[] {
  const rules: { pattern: RegExp; headers: [string, string][] }[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      const source = line
        .trim()
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*');
      rules.push({ pattern: new RegExp(`^${source}$`), headers: [] });
      continue;
    }
    const colon = line.indexOf(':');
    const rule = rules.at(-1);
    if (rule && colon > 0) rule.headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return rules;
}

/**
 * Writes `_headers` into the build. With HC_PREVIEW_HEADERS=1, `vite preview` of a build answers with
 * them as Pages would (e2e/helpers.ts serves the portals so: they run under the real policy). No
 * `_redirects`: Pages serves index.html for any path that is not a file when the build has no
 * 404.html (its single-page-application mode), as vite preview does, and it now ignores the classic
 * `/* /index.html 200` rule as an infinite loop (it strips /index.html back to /).
 */
function cloudflarePages(p: Portal, apiUrl: string, livekitUrl: string): Plugin {
  return {
    name: 'hybrid-coach:cloudflare-pages',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: pagesHeaders(p, apiUrl, livekitUrl) });
    },
    configurePreviewServer(server) {
      if (process.env.HC_PREVIEW_HEADERS !== '1') return;
      const file = resolve(server.config.root, server.config.build.outDir, '_headers');
      if (!existsSync(file)) return;
      const rules = parseHeadersFile(readFileSync(file, 'utf8'));
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://preview').pathname;
        for (const rule of rules) if (rule.pattern.test(path)) for (const [name, value] of rule.headers) res.setHeader(name, value);
        next();
      });
    },
  };
}

/** What the public site says of itself to search engines and link previews. */
const PUBLIC_DESCRIPTION = 'Hybrid Coach: voice coaching for vagus-nerve health and stress, with an AI coach and human coaches.';

/**
 * The head every portal's page shares: each pages/<portal>/index.html holds only its title, #root and
 * its entry script, and this adds the rest at build and in dev.
 */
function sharedHead(p: Portal): Plugin {
  return {
    name: 'hybrid-coach:shared-head',
    transformIndexHtml: {
      order: 'pre',
      handler: () => [
        { tag: 'meta', attrs: { charset: 'UTF-8' }, injectTo: 'head-prepend' },
        { tag: 'meta', attrs: { name: 'viewport', content: 'width=device-width, initial-scale=1.0' }, injectTo: 'head-prepend' },
        ...(p === 'public' ? [{ tag: 'meta', attrs: { name: 'description', content: PUBLIC_DESCRIPTION }, injectTo: 'head' as const }] : []),
      ],
    },
  };
}

export default defineConfig(({ mode }) => {
  // The same HC_PUBLIC_* values the bundle gets (process env, then .env files at the root).
  const env = loadEnv(mode, ROOT, 'HC_PUBLIC_');
  const apiUrl = env.HC_PUBLIC_API_URL || DEFAULT_API_URL;
  const livekitUrl = env.HC_PUBLIC_LIVEKIT_URL || DEFAULT_LIVEKIT_URL;
  return {
    root: resolve(ROOT, 'pages', portal),
    // .env files (if any) sit at the repository root, not in each portal's folder.
    envDir: ROOT,
    envPrefix: 'HC_PUBLIC_',
    plugins: [react(), sharedHead(portal), cloudflarePages(portal, apiUrl, livekitUrl)],
    server: {
      host: 'localhost',
      port: PORTS[portal],
      strictPort: true,
      // Each portal imports the shared pages/ui and the Worker's pure domain modules.
      fs: { allow: [ROOT] },
    },
    preview: { host: 'localhost', port: PORTS[portal], strictPort: true },
    build: { outDir: resolve(ROOT, 'dist', portal), emptyOutDir: true },
  };
});
