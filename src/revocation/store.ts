import type { Cluster, Redis } from 'ioredis'
import type { RevocationLookup, UserRevocationState } from './verdict.js'

/**
 * The deny-list. Every write carries a TTL that covers the longest-lived token it must stop, so
 * nothing is ever scanned or cleaned by hand. `lookup` answers everything the authenticate hook
 * needs in one round trip.
 */
export interface RevocationStore {
  /** Whether every instance of the service sees the same entries (false: this process only). */
  readonly shared: boolean
  /** The Redis client behind the store, which the login rate-limit counters share; none in memory. */
  readonly client?: Redis | Cluster
  lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup>
  denyToken(jti: string, ttlSeconds: number): Promise<void>
  /** The user of each session places its entry beside the user's (a Redis Cluster's hash tag). */
  denySessions(sessions: SessionRef[], ttlSeconds: number): Promise<void>
  /**
   * A write without `restoreStamp` always lands. A restore passes its scope's stamp for the user:
   * then the write lands only where the entry held was written before the restore began, so a
   * restore that read the database before a deactivation or a logout-all cannot undo it.
   */
  setUserState(
    userId: number,
    state: UserRevocationState,
    ttlSeconds: number,
    restoreStamp?: string,
  ): Promise<void>
  /**
   * Only ever moves forward: a mark lower than the one held is ignored, so a restore that read
   * the database before an invalidate-all cannot undo it.
   */
  setGlobalValidAfter(ms: number, ttlSeconds: number): Promise<void>
  /**
   * Adds one to each counter, which starts at 1 and lives `windowMs` from its first hit; answers
   * each count and the milliseconds left of its window. Counts attempts at credentials.
   */
  hit(counters: string[], windowMs: number): Promise<CounterState[]>
  /**
   * Fills the store from the durable record with `rebuild` now, and again whenever the store may
   * have lost entries; lookups fail closed until each such rebuild has finished. The scope says
   * which entries the rebuild must write: everything, or the part a Redis Cluster shard lost.
   */
  keepRestored(rebuild: (scope: RestoreScope) => Promise<unknown>): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

export interface SessionRef {
  id: number
  userId: number
}

/** Which entries a rebuild writes: those of the users and tokens a predicate accepts. */
export interface RestoreScope {
  user(userId: number): boolean
  token(jti: string): boolean
  /**
   * When this restore began, on the clock of what holds the user's entry (the store's own, never
   * this process's): passed with each user state the restore writes (setUserState).
   */
  stamp?(userId: number): string
}

export const EVERYTHING: RestoreScope = { user: () => true, token: () => true }

export interface CounterState {
  count: number
  resetInMs: number
}

/** Raised when the store cannot answer; requests that need it fail closed with 503. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('The revocation store is unavailable', { cause })
    this.name = 'StoreUnavailableError'
  }
}

/** Runs a store command; any failure of it is the store being unavailable (503, fail closed). */
export async function orUnavailable<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    throw new StoreUnavailableError(err)
  }
}

/**
 * The database REDIS_URL names (its path, /99) is not one this Redis has. ioredis would report
 * the failed SELECT only as an event and go on in database 0, beside whatever lives there.
 */
export class RedisDatabaseError extends Error {
  constructor(
    readonly db: number,
    /** How many databases the server has, when it says (CONFIG GET databases). */
    readonly available: number | undefined,
  ) {
    super(`Redis has no database ${db}`)
    this.name = 'RedisDatabaseError'
  }
}

export const keys = {
  jti: (p: string, jti: string) => `${p}j:${jti}`,
  session: (p: string, sid: number) => `${p}s:${sid}`,
  user: (p: string, uid: number) => `${p}u:${uid}`,
  global: (p: string) => `${p}all`,
  counter: (p: string, name: string) => `${p}rl:${name}`,
  /** Present while the store holds every revocation of the database; a flush removes it. */
  complete: (p: string) => `${p}complete`,
  /** One per restore in progress; a flush removes it, which tells the restore to start again. */
  restoring: (p: string, id: string) => `${p}restoring:${id}`,
}

/** A TTL is never below one second: a zero or negative TTL would make Redis drop the write. */
export function ttl(seconds: number): number {
  return Math.max(1, Math.ceil(seconds))
}
