import type { RevocationLookup, UserRevocationState } from '../revocation.js'

/**
 * The deny-list. Every write carries a TTL that covers the longest-lived token it must stop, so
 * nothing is ever scanned or cleaned by hand. `lookup` answers everything the authenticate hook
 * needs in one round trip.
 */
export interface RevocationStore {
  readonly kind: 'redis' | 'memory'
  lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup>
  denyToken(jti: string, ttlSeconds: number): Promise<void>
  denySessions(sids: number[], ttlSeconds: number): Promise<void>
  setUserState(userId: number, state: UserRevocationState, ttlSeconds: number): Promise<void>
  setGlobalValidAfter(ms: number, ttlSeconds: number): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
  /**
   * Stores that can lose entries while the service runs (a Redis that restarted, or missed writes
   * while unreachable) call `restore` after each reconnection and fail closed until it resolves.
   */
  onReconnect?(restore: () => Promise<unknown>): void
}

/** Raised when the store cannot answer; requests that need it fail closed with 503. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('The revocation store is unavailable', { cause })
    this.name = 'StoreUnavailableError'
  }
}

export const keys = {
  jti: (p: string, jti: string) => `${p}j:${jti}`,
  session: (p: string, sid: number) => `${p}s:${sid}`,
  user: (p: string, uid: number) => `${p}u:${uid}`,
  global: (p: string) => `${p}all`,
}

/** A TTL is never below one second: a zero or negative TTL would make Redis drop the write. */
export function ttl(seconds: number): number {
  return Math.max(1, Math.ceil(seconds))
}
