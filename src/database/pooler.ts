import type { Sql } from 'postgres'

/**
 * Behind a transaction-mode pooler (PgBouncer, pgcat, Supavisor, RDS Proxy) each transaction may
 * run on another server connection, so nothing set for a session holds: startup parameters are
 * refused (PgBouncer) or lost, and prepared statements are missing on the next connection. The
 * timeouts are set with SET LOCAL at the start of each transaction instead, where the pooler keeps
 * them until COMMIT. A statement outside a transaction is cancelled once past the deadline
 * (withCancelAfter below).
 */
export function withLocalTimeouts(client: Sql, queryTimeoutMs: number): Sql {
  // Integers only, so the text is safe to send as is; one round trip for both.
  const setLocal =
    `set local statement_timeout = ${Math.trunc(queryTimeoutMs)}; ` +
    `set local idle_in_transaction_session_timeout = ${Math.trunc(queryTimeoutMs * 2)}`
  const begin = (...args: unknown[]) => {
    const last = args.length - 1
    if (typeof args[last] !== 'function') return (client.begin as (...a: unknown[]) => unknown)(...args)
    const body = args[last] as (sql: Sql) => unknown
    const withTimeouts = async (sql: Sql) => {
      await sql.unsafe(setLocal)
      return body(sql)
    }
    return (client.begin as (...a: unknown[]) => unknown)(...args.slice(0, last), withTimeouts)
  }
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'begin') return begin
      return Reflect.get(target, property, receiver)
    },
  })
}

type Pending = ReturnType<Sql['unsafe']>

/**
 * A statement outside a transaction still running after `ms` is cancelled (a CancelRequest, which
 * poolers pass on to the server connection running it): behind a pooler there is no
 * statement_timeout, and a statement waiting on a lock would otherwise hold a server connection
 * of the pooler's until the lock goes, long after our deadline answered 503.
 */
export function withCancelAfter(client: Sql, ms: number): Sql {
  const unsafe = (...args: Parameters<Sql['unsafe']>) => {
    const query = client.unsafe(...args) as Pending & { cancel(): unknown }
    const bounded = (work: PromiseLike<unknown>) => {
      const timer = setTimeout(() => {
        Promise.resolve(query.cancel()).catch(() => {})
      }, ms)
      return Promise.resolve(work).finally(() => clearTimeout(timer))
    }
    let rows: Promise<unknown> | undefined
    const once = () => {
      rows ??= bounded(query)
      return rows
    }
    return {
      values: () => bounded(query.values()),
      // biome-ignore lint/suspicious/noThenProperty: a thenable stand-in for the driver's query
      then: <A, B>(onValue?: (v: unknown) => A, onError?: (e: unknown) => B) => once().then(onValue, onError),
      catch: <B>(onError: (e: unknown) => B) => once().catch(onError),
      // The driver's never-sent mark, for withDeadline's retry (scripts/patch-postgres.mjs).
      get authjwtSent() {
        return (query as { authjwtSent?: boolean }).authjwtSent
      },
    }
  }
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe
      return Reflect.get(target, property, receiver)
    },
  })
}
