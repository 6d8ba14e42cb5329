import { sql } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Db } from './database.js'

export interface PurgeOptions {
  /** Rows looked at per statement. */
  batch?: number
  /** Rest between statements, so requests get the database in between. */
  pauseMs?: number
}

/**
 * Deletes the rows of `table` whose `expires` is at or before `now`, walking the primary key `key`
 * in slices of `batch` rows, each slice one short statement of its own. So a purge of millions
 * holds no long transaction and no lock for long, never runs into the statement deadline, keeps no
 * list of ids in memory, and leaves the database to logins between slices. No index on the expiry
 * is needed (sessions have none: a rotation moves it). Answers how many rows were deleted.
 */
export async function purgeExpired(
  db: Db,
  table: PgTable,
  key: PgColumn,
  expires: PgColumn,
  now: Date,
  options: PurgeOptions = {},
): Promise<number> {
  const batch = options.batch ?? 5000
  const pauseMs = options.pauseMs ?? 5
  const cutoff = now.toISOString()
  let after: string | number | undefined
  let total = 0
  for (;;) {
    const from = after === undefined ? sql`true` : sql`${key} > ${after}`
    const result = await db.execute(sql`with slice as (
        select ${key} as k from ${table} where ${from} order by ${key} limit ${batch}
      ), gone as (
        delete from ${table} where ${key} in (select k from slice) and ${expires} <= ${cutoff}::timestamptz
        returning 1
      )
      select (select max(k) from slice) as last, (select count(*) from gone)::int as deleted`)
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
      last: string | number | null
      deleted: number
    }[]
    const row = rows[0]
    if (!row || row.last === null) return total
    total += Number(row.deleted)
    after = row.last
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
}
