import type { Config } from '../config.js'
import type { Repositories } from '../repositories/index.js'
import type { UserRecord } from '../repositories/users.js'
import type { UserRevocationState } from '../revocation.js'
import type { RevocationStore } from '../stores/revocation-store.js'

/**
 * Every revocation is written twice: durably in the database (the record, and what the store is
 * rebuilt from) and in the revocation store (the fast path every request reads). TTLs cover the
 * longest-lived token the entry must stop, so entries vanish on their own afterwards.
 */
export class RevocationService {
  constructor(
    private readonly repos: Repositories,
    private readonly store: RevocationStore,
    private readonly config: Config,
  ) {}

  /** Longest any token issued now can live. */
  get maxTokenLifetime(): number {
    return Math.max(this.config.refreshTokenLifetime, this.config.accessTokenLifetime)
  }

  denyToken(jti: string, exp: number): Promise<void> {
    return this.store.denyToken(jti, exp - Date.now() / 1000 + 1)
  }

  /** Marks sessions revoked in the store; their durable state was already written by the caller. */
  denySessions(ids: number[]): Promise<void> {
    // A rotation slides a session's expiry, so the newest token of a session lives at most one
    // refresh lifetime from now.
    return this.store.denySessions(ids, this.maxTokenLifetime + 1)
  }

  async revokeSession(id: number, reason: string): Promise<boolean> {
    // Both writes at once: one round trip of latency instead of two. Should the database write
    // fail, the caller hears 503 while the store already refuses the session's tokens, which errs
    // toward what was asked. Deny even when it was revoked already: the store may have lost it.
    const [wasActive] = await Promise.all([this.repos.sessions.revoke(id, reason), this.denySessions([id])])
    return wasActive
  }

  /**
   * Stops every token of a user issued until now, and revokes their sessions.
   * `status` tells later requests why (inactive users hear user_inactive).
   */
  async revokeUser(user: UserRecord, reason: string, exceptSid?: number): Promise<number[]> {
    const now = new Date()
    const ids = await this.repos.sessions.revokeForUser(user.id, reason, exceptSid)
    if (exceptSid === undefined) {
      await this.repos.users.setTokensValidAfter(user.id, now)
      await this.writeUserState({ ...user, tokensValidAfter: now })
    }
    await this.denySessions(ids)
    return ids
  }

  /** Writes the user's durable marks into the store (after deactivation, expiry changes, logouts). */
  async writeUserState(user: UserRecord): Promise<void> {
    const state: UserRevocationState = {
      validAfterMs: user.tokensValidAfter?.getTime() ?? 0,
      status: user.isActive ? '' : 'inactive',
      expiresAtMs: user.expiryDate?.getTime() ?? 0,
    }
    if (state.validAfterMs === 0 && state.status === '' && state.expiresAtMs === 0) {
      // Nothing to remember, but an older entry must be overwritten: keep it short-lived.
      await this.store.setUserState(user.id, state, 1)
      return
    }
    const now = Date.now()
    const untilMs = Math.max(state.validAfterMs, state.expiresAtMs, now) + this.maxTokenLifetime * 1000
    await this.store.setUserState(user.id, state, (untilMs - now) / 1000)
  }

  /** Every token issued until now stops; logins after it work. Returns the sessions revoked. */
  async invalidateAll(reason = 'invalidate_all'): Promise<number> {
    const nowMs = Date.now()
    await this.repos.state.setGlobalValidAfter(nowMs)
    await this.store.setGlobalValidAfter(nowMs, this.maxTokenLifetime + 1)
    const ids = await this.repos.sessions.revokeAll(reason)
    return ids.length
  }

  /**
   * Rewrites the store from the database: after a Redis flush, or at every start of the
   * in-process store, which begins empty.
   */
  async rebuild(): Promise<{ sessions: number; users: number }> {
    const now = new Date()
    const since = new Date(now.getTime() - this.maxTokenLifetime * 1000)
    const global = await this.repos.state.globalValidAfter()
    if (global !== undefined && global > since.getTime()) {
      await this.store.setGlobalValidAfter(global, (global - since.getTime()) / 1000 + 1)
    }
    const revoked = await this.repos.sessions.revokedUnexpired(now)
    for (let i = 0; i < revoked.length; i += 500) {
      await this.denySessions(revoked.slice(i, i + 500).map((s) => s.id))
    }
    const users = await this.repos.users.revocationMarks(since)
    for (const user of users) await this.writeUserState(user)
    return { sessions: revoked.length, users: users.length }
  }
}
