import type { Reader } from './read.js'

/** PostgreSQL (DATABASE_URL) or, without it, the embedded PGlite in DATA_DIR. */
export interface DatabaseConfig {
  databaseUrl: string | undefined
  dbPoolSize: number
  /** DB_POOLER=transaction: a transaction-mode pooler (PgBouncer, pgcat, RDS Proxy) in front of PostgreSQL. */
  dbPooler: 'none' | 'transaction'
  /** Longest wait for a PostgreSQL statement or transaction, and for a new connection. */
  dbQueryTimeoutMs: number
  dbConnectTimeoutMs: number
  /** How long a user read for a request may be reused by the next ones. */
  userCacheMs: number
}

export function readDatabase(read: Reader): DatabaseConfig {
  return {
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:'], { hostList: true }),
    // Refresh and logout wait on commits, and PostgreSQL groups concurrent commits into one WAL
    // flush: with few connections, queries queue in the client while the server idles.
    dbPoolSize: read.int('DB_POOL_SIZE', 32, 1, 200),
    dbPooler: read.choice('DB_POOLER', 'none', ['none', 'transaction'] as const),
    dbQueryTimeoutMs: read.int('DB_QUERY_TIMEOUT_MS', 5000, 100, 600_000),
    dbConnectTimeoutMs: read.int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    userCacheMs: read.int('USER_CACHE_MS', 1000, 0, 60_000),
  }
}
