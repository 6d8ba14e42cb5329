import type { TokensConfig } from '../config/tokens.js'
import type { Db } from '../database/database.js'
import type { Repositories } from '../repositories.js'
import type { UserRecord } from '../accounts/users.js'
import type { UserRevocationState } from './verdict.js'
import type { RestoreScope, RevocationStore, SessionRef } from './store.js'

export interface RevocationDeps {
  db: Db
  repos: Repositories
  store: RevocationStore
  config: Pick<TokensConfig, 'accessTokenLifetime' | 'refreshTokenLifetime'>
}

/**
 * The one owner of "revoked". Every revocation is written twice, in this order:
 * 1. durably in PostgreSQL, committed before anything else happens: the record, and what the
 *    store is rebuilt from;
 * 2. in the revocation store, the fast path every request reads.
 * The order is what makes a rebuild safe: a store emptied at any moment is refilled from a
 * database that already holds every revocation whose store write could have been lost. A store
 * write that fails answers 503 while the database keeps the revocation, and the store restores
 * itself from the database before it answers another lookup.
 *
 * TTLs cover the longest-lived token an entry must stop, so entries vanish on their own afterwards.
 */
export class RevocationService {
  constructor(private readonly d: RevocationDeps) {}

  /** Longest any token issued now can live. */
  get maxTokenLifetime(): number {
    return Math.max(this.d.config.refreshTokenLifetime, this.d.config.accessTokenLifetime)
  }

  /** Denies one token until its exp: a token revoked without its session. */
  async denyToken(jti: string, exp: number): Promise<void> {
    await this.d.repos.deniedTokens.deny(jti, untilExp(exp))
    await this.d.store.denyToken(jti, secondsLeft(exp))
  }

  /**
   * Spends a token that is good once (a refresh token SimpleJWT issued), and writes what replaces
   * it (`then`) in the same transaction: undefined when it was spent or blacklisted before. The
   * database decides, so two concurrent refreshes cannot both pass, and a crash cannot leave the
   * token spent with nothing in its place; the store then refuses it to verify and blacklist too.
   */
  async spendToken<T>(jti: string, exp: number, then: (tx: Db) => Promise<T>): Promise<T | undefined> {
    const spent = await this.d.db.transaction(async (tx) => {
      if (!(await this.d.repos.deniedTokens.denyFirst(jti, untilExp(exp), tx))) return undefined
      return { value: await then(tx) }
    })
    if (!spent) return undefined
    await this.d.store.denyToken(jti, secondsLeft(exp))
    return spent.value
  }

  /** Marks sessions revoked in the store; their durable state was already written by the caller. */
  denySessions(sessions: SessionRef[]): Promise<void> {
    // A rotation slides a session's expiry, so the newest token of a session lives at most one
    // refresh lifetime from now.
    return this.d.store.denySessions(sessions, this.maxTokenLifetime + 1)
  }

  /**
   * Revokes one session; true if it was active until now. Denied in the store even when it was
   * revoked already: the caller's goal holds either way, and the store may have lost the entry.
   */
  async revokeSession(session: SessionRef, reason: string): Promise<boolean> {
    const wasActive = await this.d.repos.sessions.revoke(session.id, reason)
    await this.denySessions([session])
    return wasActive
  }

  /**
   * Stops every token of a user issued until now and revokes their sessions; with `exceptSid`,
   * every session but that one (whose tokens keep working). `alongside` writes more in the same
   * transaction (a new password, a deactivation), so that all of it holds or none of it does.
   * The user passed is as it will be after the change: an inactive one hears user_inactive.
   */
  async revokeUser(
    user: UserRecord,
    reason: string,
    options: { exceptSid?: number; alongside?: (tx: Db) => Promise<void> } = {},
  ): Promise<number[]> {
    const { exceptSid, alongside } = options
    const everything = exceptSid === undefined
    const now = new Date()
    const ids = await this.d.db.transaction(async (tx) => {
      await alongside?.(tx)
      // The user's row first, then the sessions: the order a login takes its locks in
      // (SessionRepository.openExclusive), so the two never wait for each other in a cycle.
      if (everything) await this.d.repos.users.setTokensValidAfter(user.id, now, tx)
      return this.d.repos.sessions.revokeForUser(user.id, reason, exceptSid, tx)
    })
    if (everything) await this.writeUserState({ ...user, tokensValidAfter: now })
    await this.denySessions(ids.map((id) => ({ id, userId: user.id })))
    return ids
  }

  /** Writes the user's durable marks into the store (after deactivation, expiry changes, logouts). */
  async writeUserState(user: UserRecord, restoreStamp?: string): Promise<void> {
    const state: UserRevocationState = {
      validAfterMs: user.tokensValidAfter?.getTime() ?? 0,
      status: user.isActive ? '' : 'inactive',
      expiresAtMs: user.expiryDate?.getTime() ?? 0,
    }
    if (state.validAfterMs === 0 && state.status === '' && state.expiresAtMs === 0) {
      // Nothing to remember, but an older entry must be overwritten: keep it short-lived.
      await this.d.store.setUserState(user.id, state, 1, restoreStamp)
      return
    }
    const now = Date.now()
    const untilMs = Math.max(state.validAfterMs, state.expiresAtMs, now) + this.maxTokenLifetime * 1000
    await this.d.store.setUserState(user.id, state, (untilMs - now) / 1000, restoreStamp)
  }

  /** Every token issued until now stops; logins after it work. Returns the sessions revoked. */
  async invalidateAll(reason = 'invalidate_all'): Promise<number> {
    const nowMs = Date.now()
    const ids = await this.d.db.transaction(async (tx) => {
      await this.d.repos.globalMark.setGlobalValidAfter(nowMs, tx)
      return this.d.repos.sessions.revokeAll(reason, tx)
    })
    await this.d.store.setGlobalValidAfter(nowMs, this.maxTokenLifetime + 1)
    return ids.length
  }

  /**
   * Rewrites the store from the database: at every start of the in-process store, which begins
   * empty, and whenever Redis may have lost entries (RevocationStore.keepRestored); `scope` keeps
   * to the entries a store lost (one Redis Cluster shard's). The global mark is written always.
   * Only a store runs it (keepRestored): its scope stamps the user states, so that what this read
   * from the database never overwrites a change committed after the read.
   */
  async rebuild(scope: RestoreScope): Promise<{ sessions: number; users: number; tokens: number }> {
    const { repos, store } = this.d
    const now = new Date()
    const since = new Date(now.getTime() - this.maxTokenLifetime * 1000)
    const global = await repos.globalMark.globalValidAfter()
    if (global !== undefined && global > since.getTime()) {
      await store.setGlobalValidAfter(global, (global - since.getTime()) / 1000 + 1)
    }
    const revoked = (await repos.sessions.revokedUnexpired(now)).filter((s) => scope.user(s.userId))
    for (const part of chunks(revoked)) await this.denySessions(part)
    const users = (await repos.users.revocationMarks(since)).filter((u) => scope.user(u.id))
    for (const part of chunks(users)) {
      await Promise.all(part.map((user) => this.writeUserState(user, scope.stamp?.(user.id))))
    }
    const tokens = (await repos.deniedTokens.unexpired(now)).filter((t) => scope.token(t.jti))
    for (const part of chunks(tokens)) {
      await Promise.all(
        part.map((t) => store.denyToken(t.jti, (t.expiresAt.getTime() - now.getTime()) / 1000 + 1)),
      )
    }
    return { sessions: revoked.length, users: users.length, tokens: tokens.length }
  }
}

/** Writes go out 500 at a time: one pipelined burst each, without holding everything in flight. */
function* chunks<T>(items: T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}

// A token's exp comes from whoever holds the key (SimpleJWT's, too): bounded to a date that
// PostgreSQL, JavaScript and Redis all hold, so a far-future exp cannot fail the write.
const LAST_EXP = 253_402_300_799 // 9999-12-31T23:59:59Z

function untilExp(exp: number): Date {
  return new Date(Math.min(exp, LAST_EXP) * 1000)
}

function secondsLeft(exp: number): number {
  return Math.min(exp, LAST_EXP) - Date.now() / 1000 + 1
}
