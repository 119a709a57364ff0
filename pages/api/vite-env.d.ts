/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The Worker's origin, e.g. https://api.example.com (default http://localhost:8787). */
  readonly HC_PUBLIC_API_URL?: string;
  /** The public site's origin, for links back to login and pricing (default http://localhost:5170). */
  readonly HC_PUBLIC_PUBLIC_URL?: string;
  /** The client portal's origin, where the coach portal sends clients (default http://localhost:5172). */
  readonly HC_PUBLIC_CLIENT_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
