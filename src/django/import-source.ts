import { readFile } from 'node:fs/promises'
import postgres from 'postgres'
import { printable } from '../lib/printable.js'
import type { DjangoUser } from './import-row.js'

/** What a Django database brings: its users and the refresh tokens SimpleJWT blacklisted. */
export interface DjangoSource {
  users: DjangoUser[]
  /** Blacklisted refresh tokens still unexpired; undefined when the source has no blacklist. */
  blacklisted?: { jti: string; exp: number }[]
  /** What the source held besides users that the import leaves alone. */
  notes: string[]
}

const COLUMNS =
  'id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined'

/** A table name as written in SQL: `name` or `schema.name`, letters, digits and underscores. */
export function tableName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new Error(`--table: "${name}" is not a table name (letters, digits, _; optionally schema.table)`)
  }
  return name
    .split('.')
    .map((part) => `"${part}"`)
    .join('.')
}

/**
 * Reads a Django database (read only: one transaction that writes nothing). `table` is the user
 * table, auth_user unless the project has a custom user model with Django's column names.
 */
export async function readDjangoDatabase(url: string, table = 'auth_user'): Promise<DjangoSource> {
  const quoted = tableName(table)
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false, connect_timeout: 10 })
  try {
    return await sql.begin('read only', async (tx) => {
      const users = (await tx.unsafe(`select ${COLUMNS} from ${quoted} order by id`)) as DjangoUser[]
      const exists = await tx.unsafe(
        `select to_regclass('token_blacklist_blacklistedtoken') is not null as b`,
      )
      if (!exists[0]?.b) return { users, notes: ['no SimpleJWT blacklist tables (token_blacklist_*)'] }
      const rows = await tx.unsafe(`
        select o.jti, extract(epoch from o.expires_at)::bigint as exp
        from token_blacklist_blacklistedtoken b
        join token_blacklist_outstandingtoken o on o.id = b.token_id
        where o.expires_at > now() and o.jti is not null`)
      const blacklisted = rows.map((r) => ({ jti: String(r.jti), exp: Number(r.exp) }))
      return { users, blacklisted, notes: [] }
    })
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/**
 * Reads `manage.py dumpdata auth.user` (or a custom user model's dump): a JSON array of
 * `{model, pk, fields}`. Entries of other models are counted and left alone.
 */
export async function readDumpdata(file: string): Promise<DjangoSource> {
  let data: unknown
  try {
    data = JSON.parse(await readFile(file, 'utf8'))
  } catch (err) {
    // JSON.parse quotes the file's text near the error: escaped, as every text from the source.
    throw new Error(`--from-json: cannot read ${file}: ${printable((err as Error).message)}`)
  }
  if (!Array.isArray(data)) throw new Error('--from-json: expected the JSON array dumpdata writes')
  const users: DjangoUser[] = []
  let others = 0
  for (const entry of data as { model?: unknown; pk?: unknown; fields?: Record<string, unknown> }[]) {
    const fields = entry?.fields
    if (!fields || typeof fields !== 'object' || !('username' in fields) || !('password' in fields)) {
      others++
      continue
    }
    users.push({ ...(fields as Omit<DjangoUser, 'id'>), id: entry.pk })
  }
  const notes = others > 0 ? [`${others} entries that are not users were left alone`] : []
  notes.push('a JSON dump carries no SimpleJWT blacklist; import from the database to bring it')
  return { users, notes }
}
