import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * One codebase under pages/, one static build per portal (each deploys to its own Pages project):
 * `PORTAL=public vite build` → dist/public. Portals: public (5170); coach (5171) and client (5172)
 * arrive with their issues.
 */
const PORTS = { public: 5170, coach: 5171, client: 5172 } as const;
type Portal = keyof typeof PORTS;

const portal = (process.env.PORTAL ?? 'public') as Portal;
if (!(portal in PORTS)) throw new Error(`PORTAL must be one of ${Object.keys(PORTS).join(', ')}`);

export default defineConfig({
  root: resolve(__dirname, 'pages', portal),
  envPrefix: 'HC_PUBLIC_',
  server: { host: 'localhost', port: PORTS[portal], strictPort: true },
  preview: { host: 'localhost', port: PORTS[portal], strictPort: true },
  build: { outDir: resolve(__dirname, 'dist', portal), emptyOutDir: true },
});
