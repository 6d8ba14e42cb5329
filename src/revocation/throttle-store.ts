import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { RevocationStore } from './store.js'

/**
 * @fastify/rate-limit's store interface over the revocation store's counters, so the request
 * throttles count where the login budget and the deny-list live, on every backend the same way:
 * the in-process map, one Redis or Sentinel's primary, or a Redis Cluster. The plugin's own Redis
 * store would hold a second connection, would not take our key prefix or the cluster client's
 * fail-closed handling, and has no in-process counterpart shared with the login budget; here one
 * counter is one INCR+PEXPIRE script on the key's own slot (src/revocation/redis-scripts.ts).
 * A store that cannot count rejects, and the request is answered 503 (never let through
 * unthrottled), as the login budget is.
 */
export function throttleStore(store: RevocationStore): FastifyRateLimitStoreCtor {
  class RevocationCounters implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      store.hit([key], timeWindow).then(
        ([state]) => callback(null, { current: state!.count, ttl: state!.resetInMs }),
        (err: Error) => callback(err),
      )
    }

    /** Keys carry their scope, so every route shares this one store. */
    child(): FastifyRateLimitStore {
      return this
    }
  }
  return RevocationCounters
}
