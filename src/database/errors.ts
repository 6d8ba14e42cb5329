// What the postgres driver and PostgreSQL say when the server is unreachable, restarting, paused
// past our deadline, or out of connections: the request may succeed later, so it is a 503.
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNABORTED',
  'ENOTCONN',
  'EADDRNOTAVAIL',
  // Node's own, when the driver writes to a socket closing under it.
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
  'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'QUERY_TIMEOUT', // DatabaseTimeoutError, our own deadline
  '57014', // query_canceled: the server's statement_timeout
  '57P01', // admin_shutdown, also pg_terminate_backend
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
  '25006', // read_only_sql_transaction: a primary demoted or fenced (src/database/primary.ts)
])

// Of those, the ones where the statement died with its connection, before the server answered.
const CONNECTION_LOST = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ENOTCONN',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_SOCKET_CLOSED',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  '57P01',
  '57P02',
])

/** The codes of an error and its causes, through the query wrapper Drizzle puts around the driver's. */
function codesOf(err: unknown): string[] {
  const codes: string[] = []
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
    e = (e as { cause?: unknown }).cause
  }
  return codes
}

// Class 08: connection exceptions.
const inClass08 = (code: string) => code.startsWith('08')

export function isDatabaseUnavailable(err: unknown): boolean {
  return codesOf(err).some((code) => UNAVAILABLE.has(code) || inClass08(code))
}

/** The statement's connection was cut under it (a failover, pg_terminate_backend). */
export function isConnectionLost(err: unknown): boolean {
  return codesOf(err).some((code) => CONNECTION_LOST.has(code) || inClass08(code))
}

/** The server refused a write because it is read-only now: a demoted or fenced primary. */
export function isReadOnlyServer(err: unknown): boolean {
  return codesOf(err).includes('25006')
}

/**
 * The SQLSTATE when the database refused the values, not the request: class 22 (data exception:
 * bad text, a value too long or out of range) or 23 (integrity constraint violation). The same
 * rows fail the same way when tried again, where an unavailable database (above) may answer later.
 */
export function refusedDataCode(err: unknown): string | undefined {
  return codesOf(err).find((code) => /^2[23][0-9A-Z]{3}$/.test(code))
}
