import { StoreUnavailableError } from '../revocation/store.js'

// What the postgres driver and PostgreSQL say when the server is unreachable, restarting, paused
// past our deadline, or out of connections: the request may succeed later, so it is a 503.
const DATABASE_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
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
])

/** The driver's code of an error, looking through the query wrapper Drizzle puts around it. */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && DATABASE_DOWN.has(code)) return code
    if (typeof code === 'string' && code.startsWith('08')) return code // connection_exception class
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

export function isDatabaseUnavailable(err: unknown): boolean {
  return codeOf(err) !== undefined
}

/** A backing server (PostgreSQL or the revocation store) cannot answer now: 503, never 500. */
export function isBackendUnavailable(err: unknown): boolean {
  return err instanceof StoreUnavailableError || isDatabaseUnavailable(err)
}
