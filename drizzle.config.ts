import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  dbCredentials: {
    // drizzle-kit runs outside the app, so it reads the same variable the app's config does.
    url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/flashline',
  },
});
