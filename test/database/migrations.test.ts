import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { type Database, migrationsFolder, openDatabase } from '../../src/database/database.js'
import { backendNames, freshPostgres } from '../helpers/backends.js'

const TABLES = ['clients', 'users', 'profiles', 'sessions', 'service_state']
const INDEXES = [
  'users_email_lower_unique',
  'users_client_id_idx',
  'sessions_user_active_idx',
  'sessions_active_client_type_idx',
]
// Dropped by 0001: with either, a session rotation could not be a HOT update.
const DROPPED_INDEXES = ['sessions_expires_at_idx', 'sessions_refresh_jti_unique']
const journal = JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as {
  entries: unknown[]
}

/** Rows of a raw query, whichever driver answered (postgres.js returns an array, PGlite `{ rows }`). */
async function rows<T>(database: Database, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await database.db.execute(query)) as unknown as T[] | { rows: T[] }
  return Array.isArray(result) ? result : result.rows
}

async function checkSchema(t: Test, database: Database) {
  const tables = (
    await rows<{ table_name: string }>(
      database,
      sql`select table_name from information_schema.tables where table_schema = 'public'`,
    )
  ).map((r) => r.table_name)
  for (const name of TABLES) t.ok(tables.includes(name), `table ${name} exists`)

  const indexes = (
    await rows<{ indexname: string }>(
      database,
      sql`select indexname from pg_indexes where schemaname = 'public'`,
    )
  ).map((r) => r.indexname)
  for (const name of INDEXES) t.ok(indexes.includes(name), `index ${name} exists`)
  for (const name of DROPPED_INDEXES) t.notOk(indexes.includes(name), `index ${name} is gone`)
  const options = await rows<{ reloptions: string[] | string | null }>(
    database,
    sql`select reloptions from pg_class where relname = 'sessions' and relkind = 'r'`,
  )
  t.match(String(options[0]?.reloptions), /fillfactor=80/, 'sessions pages leave room for rotated rows')

  const applied = await rows<{ n: number | string }>(
    database,
    sql`select count(*) as n from drizzle.__drizzle_migrations`,
  )
  t.equal(Number(applied[0]!.n), journal.entries.length, 'each migration recorded exactly once')
}

t.test('PGlite: migrations apply, and again without effect', async (t) => {
  const database = await openDatabase({})
  t.teardown(() => database.close())
  await database.migrate()
  await database.migrate()
  await checkSchema(t, database)
  await checkConstraints(t, database)
})

t.test('PostgreSQL: concurrent migrations of one database serialise', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const { url, database } = await freshPostgres(t)
  // Several instances starting at once each migrate over their own connection.
  const others = await Promise.all([1, 2, 3].map(() => openDatabase({ url, poolSize: 1 })))
  t.teardown(() => Promise.all(others.map((d) => d.close())))
  await t.resolves(Promise.all([database.migrate(), ...others.map((d) => d.migrate())]))
  await checkSchema(t, database)

  await database.migrate()
  await checkSchema(t, database)
  await checkConstraints(t, database)
})

/** What the repositories rely on the schema to enforce. */
async function checkConstraints(t: Test, database: Database) {
  await database.db.execute(
    sql`insert into users (username, email, password_hash) values ('a', 'A@x.io', 'h')`,
  )
  await t.rejects(
    database.db.execute(sql`insert into users (username, email, password_hash) values ('b', 'a@X.IO', 'h')`),
    'e-mail is unique case-insensitively',
  )
  await t.resolves(
    database.db.execute(
      sql`insert into users (username, email, password_hash) values ('c', '', 'h'), ('d', '', 'h')`,
    ),
    'an empty e-mail may repeat',
  )
  await t.rejects(
    database.db.execute(sql`insert into users (username, email, password_hash) values ('a', 'z@x.io', 'h')`),
    'username is unique',
  )
}
