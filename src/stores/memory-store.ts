import type { RevocationLookup, UserRevocationState } from '../revocation.js'
import { encodeUserState } from '../revocation.js'
import { keys, type RevocationStore, ttl } from './revocation-store.js'

/** In-process deny-list with TTLs: the embedded default, correct for a single process only. */
export class MemoryRevocationStore implements RevocationStore {
  readonly kind = 'memory' as const
  private readonly entries = new Map<string, { value: string; expiresAt: number }>()
  private readonly sweeper: NodeJS.Timeout

  constructor(
    private readonly prefix = '',
    sweepEveryMs = 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs)
    this.sweeper.unref()
  }

  private get(key: string, now: number): string | null {
    const e = this.entries.get(key)
    if (!e) return null
    if (e.expiresAt <= now) {
      this.entries.delete(key)
      return null
    }
    return e.value
  }

  private set(key: string, value: string, seconds: number): void {
    this.entries.set(key, { value, expiresAt: Date.now() + ttl(seconds) * 1000 })
  }

  async lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    const now = Date.now()
    const p = this.prefix
    return {
      jtiDenied: this.get(keys.jti(p, jti), now) !== null,
      sessionDenied: sid !== undefined && this.get(keys.session(p, sid), now) !== null,
      user: this.get(keys.user(p, userId), now),
      globalValidAfter: this.get(keys.global(p), now),
    }
  }

  async denyToken(jti: string, seconds: number): Promise<void> {
    this.set(keys.jti(this.prefix, jti), '1', seconds)
  }

  async denySessions(sids: number[], seconds: number): Promise<void> {
    for (const sid of sids) this.set(keys.session(this.prefix, sid), '1', seconds)
  }

  async setUserState(userId: number, state: UserRevocationState, seconds: number): Promise<void> {
    this.set(keys.user(this.prefix, userId), encodeUserState(state), seconds)
  }

  async setGlobalValidAfter(ms: number, seconds: number): Promise<void> {
    this.set(keys.global(this.prefix), String(ms), seconds)
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper)
    this.entries.clear()
  }

  /** Number of live entries; expired ones are dropped by the sweep. */
  size(): number {
    this.sweep()
    return this.entries.size
  }

  private sweep(): void {
    const now = Date.now()
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k)
  }
}
