import { existsSync } from 'node:fs'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from '../schema/db.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

export interface Database {
  readonly kind: 'postgres' | 'pglite'
  readonly db: Db
  migrate(): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** postgres:// URL; without one the embedded PGlite is used. */
  url?: string
  /** Folder for PGlite's files; without one PGlite lives in memory (tests). */
  embeddedDir?: string
  poolSize?: number
}

/** The committed drizzle-kit migrations, found from here whether running from src/ or dist/src/. */
export function migrationsFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'drizzle')
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate
    dir = dirname(dir)
  }
  throw new Error('drizzle/ migrations folder not found')
}

// Arbitrary constant: serialises migrations when several instances start at once.
const MIGRATION_LOCK = 7_240_511

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.embeddedDir)
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const client = postgres(url, { max: poolSize, onnotice: () => {}, connect_timeout: 10 })
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    kind: 'postgres',
    db,
    async migrate() {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      // A dedicated single connection, so the advisory lock and the migration share a session.
      const one = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await one`select pg_advisory_lock(${MIGRATION_LOCK})`
        await migrate(drizzle(one), { migrationsFolder: migrationsFolder() })
        await one`select pg_advisory_unlock(${MIGRATION_LOCK})`
      } finally {
        await one.end({ timeout: 5 })
      }
    },
    async ping() {
      await client`select 1`
    },
    async close() {
      await client.end({ timeout: 5 })
    },
  }
}

async function openPglite(dir: string | undefined): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  if (dir) mkdirSync(dir, { recursive: true })
  const client = dir ? new PGlite(dir) : new PGlite()
  await client.waitReady
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    kind: 'pglite',
    db,
    async migrate() {
      const { migrate } = await import('drizzle-orm/pglite/migrator')
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder() })
    },
    async ping() {
      await client.query('select 1')
    },
    async close() {
      if (!client.closed) await client.close()
    },
  }
}
