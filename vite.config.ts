import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * One codebase under pages/, one static build per portal (each deploys to its own Pages project):
 * `PORTAL=public vite build` → dist/public, `PORTAL=coach vite build` → dist/coach, `PORTAL=client
 * vite build` → dist/client. Dev servers: public 5170, coach 5171, client 5172. Only `HC_PUBLIC_*`
 * variables reach the browser (e.g. HC_PUBLIC_API_URL, HC_PUBLIC_PUBLIC_URL, HC_PUBLIC_CLIENT_URL).
 */
const ROOT = import.meta.dirname;
const PORTS = { public: 5170, coach: 5171, client: 5172 } as const;
type Portal = keyof typeof PORTS;

const portal = (process.env.PORTAL ?? 'public') as Portal;
if (!(portal in PORTS)) throw new Error(`PORTAL must be one of ${Object.keys(PORTS).join(', ')}`);

export default defineConfig({
  root: resolve(ROOT, 'pages', portal),
  // .env files (if any) sit at the repository root, not in each portal's folder.
  envDir: ROOT,
  envPrefix: 'HC_PUBLIC_',
  plugins: [react()],
  server: {
    host: 'localhost',
    port: PORTS[portal],
    strictPort: true,
    // Each portal imports the shared pages/ui and the Worker's pure domain modules.
    fs: { allow: [ROOT] },
  },
  preview: { host: 'localhost', port: PORTS[portal], strictPort: true },
  build: { outDir: resolve(ROOT, 'dist', portal), emptyOutDir: true },
});
