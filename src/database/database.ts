import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from '../../schema/db.js'
import { restrictToOwner } from '../lib/owner-only.js'
import { lockFolder } from './embedded-lock.js'
import { isConnectionLost } from './errors.js'
import { withCancelAfter, withLocalTimeouts } from './pooler.js'
import { followPrimary } from './primary.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** The connection pool, for metrics: its size and, on PostgreSQL, the work holding or waiting for a connection. */
export interface PoolUsage {
  size: number
  /** Statements and transactions in flight (beyond `size`, they wait); undefined: not measured (PGlite). */
  busy?: number
}

export interface Database {
  readonly kind: 'postgres' | 'pglite'
  readonly db: Db
  /** What the pool holds now (metrics). */
  pool?(): PoolUsage
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
  /** PostgreSQL only: longest wait for a statement (or a whole transaction) before it fails. */
  queryTimeoutMs?: number
  /** PostgreSQL only: longest wait for a new connection. */
  connectTimeoutMs?: number
  /** PostgreSQL only: 'transaction' when a transaction-mode pooler sits in front (src/database/pooler.ts). */
  pooler?: 'none' | 'transaction'
}

/** A statement (or transaction) that PostgreSQL did not answer in time: the database is unavailable. */
export class DatabaseTimeoutError extends Error {
  readonly code = 'QUERY_TIMEOUT'
  constructor(ms: number) {
    super(`The database did not answer within ${ms} ms`)
    this.name = 'DatabaseTimeoutError'
  }
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
  return options.url ? openPostgres(options.url, options) : openPglite(options.embeddedDir)
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const queryTimeoutMs = options.queryTimeoutMs ?? 5000
  const pooled = options.pooler === 'transaction'
  const open = () =>
    postgres(url, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connect_timeout: (options.connectTimeoutMs ?? 5000) / 1000,
      // The driver's first statement on each new connection reads the array types; when that
      // connection is cut meanwhile, its rejection reaches nobody and ends the process (postgres.js
      // issues 1192, 1205, 1223). No query here binds an array parameter, so nothing needs them.
      fetch_types: false,
      // A pooler runs the next statement on any server connection: a statement prepared on
      // another is missing there ("prepared statement ... does not exist").
      prepare: !pooled,
      // The server gives up too, so a statement abandoned below does not hold locks for long.
      // A pooler refuses (or drops) startup parameters: there, each transaction sets them.
      connection: pooled
        ? {}
        : { statement_timeout: queryTimeoutMs, idle_in_transaction_session_timeout: queryTimeoutMs * 2 },
    })
  const client = followPrimary(open)
  const usage = { size: options.poolSize ?? 10, busy: 0 }
  const bounded = withDeadline(
    pooled ? withCancelAfter(client, queryTimeoutMs) : client,
    queryTimeoutMs,
    usage,
  )
  const db = drizzle(pooled ? withLocalTimeouts(bounded, queryTimeoutMs) : bounded, {
    schema,
  }) as unknown as Db
  return {
    kind: 'postgres',
    db,
    pool: () => ({ ...usage }),
    async migrate() {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      // The lock is held by a transaction of its own, open while the migration runs on another
      // connection: a transaction keeps its server connection behind a pooler too, where a session
      // lock (pg_advisory_lock) would stay on whichever server connection took it.
      const one = postgres(url, { max: 2, onnotice: () => {}, prepare: !pooled })
      try {
        await one.begin(async (lock) => {
          await lock`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
          await migrate(drizzle(one), { migrationsFolder: migrationsFolder() })
        })
      } finally {
        await one.end({ timeout: 5 })
      }
    },
    async ping() {
      // Under the deadline too: readiness must answer while the server is paused.
      await bounded.unsafe('select 1')
    },
    async close() {
      await client.end({ timeout: 5 })
    },
  }
}

async function openPglite(dir: string | undefined): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  let release = () => {}
  if (dir) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    release = lockFolder(dir)
  }
  const client = dir ? new PGlite(dir) : new PGlite()
  try {
    await client.waitReady
    // PGlite writes its files 0666 and its folders with the umask's bits, whatever PostgreSQL
    // asks; its WAL holds password hashes and its config files are read at the next start.
    if (dir) restrictToOwner(dir)
  } catch (err) {
    if (!client.closed) await client.close().catch(() => {})
    release()
    throw err
  }
  const db = drizzle(client, { schema }) as unknown as Db
  return {
    kind: 'pglite',
    db,
    pool: () => ({ size: 1 }),
    async migrate() {
      const { migrate } = await import('drizzle-orm/pglite/migrator')
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder() })
    },
    async ping() {
      await client.query('select 1')
    },
    async close() {
      if (!client.closed) await client.close()
      release()
    },
  }
}

type Sql = import('postgres').Sql

/**
 * The client with a deadline on every statement and transaction. A paused or unreachable server
 * answers nothing (no error, no reset), so without this a request would wait for as long as the
 * server stays paused. After the deadline the caller gets DatabaseTimeoutError (503); the
 * statement itself is left to the server's statement_timeout.
 *
 * Within the deadline, work that met a connection cut under it (a failover, pg_terminate_backend,
 * a restart: the pool still holds connections the server has closed) runs again on another
 * connection when that is safe, so a database that is back costs no failed request:
 * - a statement that provably never took effect (the driver's `authjwtSent` mark, from
 *   scripts/patch-postgres.mjs: never written to a live connection, or PostgreSQL terminated
 *   the session before completing it), reads and writes alike: nothing ran;
 * - a read that may have reached it: it changed nothing. Not only once: after a mass cut the
 *   pool holds several dead connections, and a read may meet one after another;
 * - a transaction whose body never started: at most its BEGIN ran, which changes nothing.
 * A write that may have reached the server is never repeated: it may have been applied.
 */
function withDeadline(client: Sql, ms: number, usage: { size: number; busy: number }): Sql {
  // Each try that finds a dead connection leaves it closed, so the pool's size bounds the tries.
  const tries = usage.size + 1
  // `usage.busy` counts the work until the driver settles it, past a deadline too: it holds its connection.
  const deadline = <T>(work: (expired: () => boolean) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      usage.busy++
      let expired = false
      const timer = setTimeout(() => {
        expired = true
        reject(new DatabaseTimeoutError(ms))
      }, ms)
      work(() => expired).then(
        (value) => {
          usage.busy--
          clearTimeout(timer)
          resolve(value)
        },
        (err: unknown) => {
          usage.busy--
          clearTimeout(timer)
          reject(err)
        },
      )
    })
  // Drizzle awaits `unsafe(...)` or `unsafe(...).values()`, and runs transactions with `begin`.
  const unsafe = (...args: Parameters<Sql['unsafe']>) => {
    const read = /^\s*select\b/i.test(args[0])
    const run = async (values: boolean, expired: () => boolean): Promise<unknown> => {
      for (let tried = 1; ; tried++) {
        const query = client.unsafe(...args)
        try {
          return await (values ? query.values() : query)
        } catch (err) {
          if (!isConnectionLost(err) || tried >= tries || expired()) throw err
          if ((query as { authjwtSent?: boolean }).authjwtSent === false) continue
          if (!read) throw err
        }
      }
    }
    return {
      values: () => deadline((expired) => run(true, expired)),
      // biome-ignore lint/suspicious/noThenProperty: a thenable stand-in for the driver's query
      then: <A, B>(onValue?: (v: unknown) => A, onError?: (e: unknown) => B) =>
        deadline((expired) => run(false, expired)).then(onValue, onError),
    }
  }
  const begin = (...args: unknown[]) =>
    deadline(async (expired) => {
      for (let tried = 1; ; tried++) {
        let started = false
        try {
          return await (client.begin as (...a: unknown[]) => Promise<unknown>)(
            ...withBodyGuarded(args, () => {
              started = true
            }),
          )
        } catch (err) {
          if (started || !isConnectionLost(err) || tried >= tries || expired()) throw err
        }
      }
    })
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe
      if (property === 'begin') return begin
      return Reflect.get(target, property, receiver)
    },
  })
}

type TransactionBody = (sql: Sql) => unknown

/**
 * postgres.js answers a transaction body (or savepoint body) that failed with ROLLBACK on the same
 * connection. When the body failed because that connection died under it, the ROLLBACK is written
 * to a socket the driver has already dropped, and the driver throws from a timer: the process ends
 * (porsager/postgres#1208, unfixed in 3.4.9). So a body that fails with its connection lost never
 * settles: the driver writes nothing more on that connection, and `begin` still rejects, because it
 * races the body against the connection closing. What is kept is one pending promise per
 * transaction cut mid-way, which is rare.
 */
function withBodyGuarded(args: unknown[], onStart?: () => void): unknown[] {
  const last = args.length - 1
  if (typeof args[last] !== 'function') return args
  const body = args[last] as TransactionBody
  const guarded: TransactionBody = (sql) => {
    onStart?.()
    return Promise.resolve()
      .then(() => body(withSavepointsGuarded(sql)))
      .catch((err: unknown) => (isConnectionLost(err) ? new Promise(() => {}) : Promise.reject(err)))
  }
  return [...args.slice(0, last), guarded]
}

function withSavepointsGuarded(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property !== 'savepoint' || typeof value !== 'function') return value
      return (...args: unknown[]) => value.apply(target, withBodyGuarded(args))
    },
  })
}
