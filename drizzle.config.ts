import { defineConfig } from 'drizzle-kit'

// One set of migrations serves PostgreSQL and PGlite alike (both speak the same SQL).
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./schema/db.ts', './schema/db-events.ts', './schema/db-columns.ts'],
  out: './drizzle',
})
