import type { RevocationLookup, UserRevocationState } from './verdict.js'
import { encodeUserState } from './verdict.js'
import {
  type CounterState,
  EVERYTHING,
  keys,
  type RestoreScope,
  type RevocationStore,
  type SessionRef,
  ttl,
} from './store.js'

/** In-process deny-list with TTLs: the embedded default, correct for a single process only. */
export class MemoryRevocationStore implements RevocationStore {
  readonly shared = false
  private readonly entries = new Map<string, { value: string; expiresAt: number; stamp?: number }>()
  private readonly sweeper: NodeJS.Timeout
  /** The store's clock for user states: one tick per write, and one for each restore's start. */
  private clock = 0

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

  async denySessions(sessions: SessionRef[], seconds: number): Promise<void> {
    for (const { id } of sessions) this.set(keys.session(this.prefix, id), '1', seconds)
  }

  async setUserState(userId: number, state: UserRevocationState, seconds: number, restoreStamp?: string) {
    const key = keys.user(this.prefix, userId)
    let stamp = ++this.clock
    if (restoreStamp !== undefined) {
      stamp = Number(restoreStamp)
      const held = this.entries.get(key)
      if (held && held.expiresAt > Date.now() && (held.stamp ?? 0) >= stamp) return
    }
    this.entries.set(key, {
      value: encodeUserState(state),
      expiresAt: Date.now() + ttl(seconds) * 1000,
      stamp,
    })
  }

  async setGlobalValidAfter(ms: number, seconds: number): Promise<void> {
    const key = keys.global(this.prefix)
    const held = this.get(key, Date.now())
    if (held !== null && Number(held) >= ms) return
    this.set(key, String(ms), seconds)
  }

  async hit(counters: string[], windowMs: number): Promise<CounterState[]> {
    const now = Date.now()
    return counters.map((name) => {
      const key = keys.counter(this.prefix, name)
      const entry = this.entries.get(key)
      if (!entry || entry.expiresAt <= now) {
        this.entries.set(key, { value: '1', expiresAt: now + windowMs })
        return { count: 1, resetInMs: windowMs }
      }
      entry.value = String(Number(entry.value) + 1)
      return { count: Number(entry.value), resetInMs: entry.expiresAt - now }
    })
  }

  /** The map starts empty with the process and loses nothing while it runs: one rebuild, at start. */
  async keepRestored(rebuild: (scope: RestoreScope) => Promise<unknown>): Promise<void> {
    const stamp = String(++this.clock)
    await rebuild({ ...EVERYTHING, stamp: () => stamp })
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
