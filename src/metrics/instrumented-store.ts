import type { RestoreScope, RevocationStore, SessionRef } from '../revocation/store.js'
import type { HistogramCell } from './histogram.js'

export const STORE_OPERATIONS = [
  'lookup',
  'deny_token',
  'deny_sessions',
  'set_user_state',
  'set_global_valid_after',
  'hit',
  'ping',
] as const
export type StoreOperation = (typeof STORE_OPERATIONS)[number]

/** What the instrumented store reports to. */
export interface StoreInstruments {
  /** Latency of each operation, in seconds. */
  latency: Record<StoreOperation, HistogramCell>
  /** Counts an operation that failed (the store unavailable, a Redis error). */
  failed(operation: StoreOperation): void
  /** A rebuild of the store from the database: how long it took and whether it finished. */
  rebuilt(seconds: number, ok: boolean): void
}

/**
 * The revocation store, timed: one performance.now() pair and one promise per call. Everything
 * else (which store, its Redis client) is the wrapped store's.
 */
export class InstrumentedStore implements RevocationStore {
  constructor(
    private readonly inner: RevocationStore,
    private readonly m: StoreInstruments,
  ) {}

  get shared() {
    return this.inner.shared
  }

  get client() {
    return this.inner.client
  }

  private timed<T>(operation: StoreOperation, work: Promise<T>, started: number): Promise<T> {
    return work.then(
      (value) => {
        this.m.latency[operation].observe((performance.now() - started) / 1000)
        return value
      },
      (err: unknown) => {
        this.m.latency[operation].observe((performance.now() - started) / 1000)
        this.m.failed(operation)
        throw err
      },
    )
  }

  /** A store method that throws instead of rejecting still counts as failed. */
  private run<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    const started = performance.now()
    let work: Promise<T>
    try {
      work = call()
    } catch (err) {
      work = Promise.reject(err)
    }
    return this.timed(operation, work, started)
  }

  lookup(jti: string, sid: number | undefined, userId: number) {
    return this.run('lookup', () => this.inner.lookup(jti, sid, userId))
  }

  denyToken(jti: string, ttlSeconds: number) {
    return this.run('deny_token', () => this.inner.denyToken(jti, ttlSeconds))
  }

  denySessions(sessions: SessionRef[], ttlSeconds: number) {
    return this.run('deny_sessions', () => this.inner.denySessions(sessions, ttlSeconds))
  }

  setUserState(...args: Parameters<RevocationStore['setUserState']>) {
    return this.run('set_user_state', () => this.inner.setUserState(...args))
  }

  setGlobalValidAfter(ms: number, ttlSeconds: number) {
    return this.run('set_global_valid_after', () => this.inner.setGlobalValidAfter(ms, ttlSeconds))
  }

  hit(counters: string[], windowMs: number) {
    return this.run('hit', () => this.inner.hit(counters, windowMs))
  }

  ping() {
    return this.run('ping', () => this.inner.ping())
  }

  keepRestored(rebuild: (scope: RestoreScope) => Promise<unknown>): Promise<void> {
    return this.inner.keepRestored(async (scope) => {
      const started = performance.now()
      try {
        const result = await rebuild(scope)
        this.m.rebuilt((performance.now() - started) / 1000, true)
        return result
      } catch (err) {
        this.m.rebuilt((performance.now() - started) / 1000, false)
        throw err
      }
    })
  }

  close() {
    return this.inner.close()
  }
}
