import type { Sql } from 'postgres'
import { isReadOnlyServer } from './errors.js'

/**
 * The pool, opened again when a server it holds connections to turned read-only (25006): a primary
 * demoted or fenced in a failover keeps its connections open and answers reads, so the driver never
 * reconnects by itself. The new pool connects through the URL's hosts again, and with
 * `target_session_attrs=read-write` skips the read-only ones and reaches the new primary. A single
 * statement refused that way changed nothing, so it runs once more on the new pool; a transaction
 * is not repeated (its caller answers 503, the next request reaches the primary).
 */
export function followPrimary(open: () => Sql): Sql {
  let current = open()
  const replace = (seen: Sql) => {
    if (seen !== current) return // another statement already replaced it
    const next = open()
    // Drizzle set its own type parsers on the first pool's options; the new pool needs them too.
    Object.assign(next.options.parsers, seen.options.parsers)
    Object.assign(next.options.serializers, seen.options.serializers)
    current = next
    // The statements still running there finish (or fail) on their own.
    seen.end({ timeout: 5 }).catch(() => {})
  }
  const unsafe = (...args: Parameters<Sql['unsafe']>) => {
    let query: ReturnType<Sql['unsafe']> | undefined
    const run = (values: boolean): Promise<unknown> => {
      const attempt = (sql: Sql) => {
        query = sql.unsafe(...args)
        return values ? query.values() : query
      }
      const used = current
      return Promise.resolve(attempt(used)).catch((err: unknown) => {
        if (!isReadOnlyServer(err)) throw err
        replace(used)
        return attempt(current)
      })
    }
    // Like the driver's query: runs once, when first awaited.
    let rows: Promise<unknown> | undefined
    const once = () => {
      rows ??= run(false)
      return rows
    }
    return {
      values: () => run(true),
      // biome-ignore lint/suspicious/noThenProperty: a thenable stand-in for the driver's query
      then: <A, B>(onValue?: (v: unknown) => A, onError?: (e: unknown) => B) => once().then(onValue, onError),
      catch: <B>(onError: (e: unknown) => B) => once().catch(onError),
      cancel: () => query?.cancel(),
      // The driver's mark that the statement never left (scripts/patch-postgres.mjs): withDeadline
      // runs such a statement again, so it must see the mark of the query that actually ran.
      get authjwtSent() {
        return (query as { authjwtSent?: boolean } | undefined)?.authjwtSent
      },
    }
  }
  const begin = (...args: unknown[]) => {
    const used = current
    return (used.begin as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: unknown) => {
      if (isReadOnlyServer(err)) replace(used)
      throw err
    })
  }
  // `end`, tagged-template calls and everything else go to the pool in use now.
  return new Proxy(current, {
    apply: (_target, thisArg, args) => Reflect.apply(current, thisArg, args),
    get(_target, property) {
      if (property === 'unsafe') return unsafe
      if (property === 'begin') return begin
      return Reflect.get(current, property, current)
    },
  }) as Sql
}
