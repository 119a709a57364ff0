import { defineConfig } from 'drizzle-kit';

/** Migrations are generated from workers/src/db/schema.ts into d1/migrations (applied by wrangler). */
export default defineConfig({
  dialect: 'sqlite',
  schema: './workers/src/db/schema.ts',
  out: './d1/migrations',
});
