import t from 'tap'
import { isConnectionLost, isDatabaseUnavailable } from '../../src/database/errors.js'

/** An error as the postgres driver raises it, wrapped as Drizzle wraps a failed query. */
const driverError = (code: string) => Object.assign(new Error(`write ${code} 127.0.0.1:5432`), { code })
const wrapped = (cause: Error) => Object.assign(new Error('Failed query: select 1'), { cause })

t.test('a lost or unreachable PostgreSQL is a 503, through Drizzle’s wrapper too', async (t) => {
  for (const code of [
    'CONNECTION_CLOSED',
    'CONNECTION_DESTROYED',
    'CONNECT_TIMEOUT',
    'ECONNREFUSED',
    'ECONNRESET',
    'ERR_STREAM_DESTROYED',
    'ERR_SOCKET_CLOSED',
    '57P01',
    '57P03',
    '53300',
    '08006',
  ]) {
    t.ok(isDatabaseUnavailable(driverError(code)), `${code}: unavailable`)
    t.ok(isDatabaseUnavailable(wrapped(driverError(code))), `${code} inside a query error: unavailable`)
  }
  for (const code of ['23505', '22P02', '42P01', undefined]) {
    const err = code ? driverError(code) : new TypeError('x is undefined')
    t.notOk(isDatabaseUnavailable(wrapped(err)), `${code ?? 'a TypeError'}: a defect, not an outage`)
  }
})

t.test('only a statement cut off with its connection counts as lost (a read may run again)', async (t) => {
  for (const code of ['CONNECTION_CLOSED', 'ECONNRESET', 'ERR_STREAM_DESTROYED', '57P01', '08006']) {
    t.ok(isConnectionLost(wrapped(driverError(code))), `${code}: lost`)
  }
  for (const code of ['CONNECT_TIMEOUT', 'QUERY_TIMEOUT', '57014', '53300']) {
    t.notOk(
      isConnectionLost(wrapped(driverError(code))),
      `${code}: not lost (it may still be running, or never ran)`,
    )
  }
})
