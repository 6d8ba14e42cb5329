import { errors } from '../http/errors.js'
import { requireStaffMfa } from '../mfa/staff-rule.js'
import { isExpired } from './expiry.js'
import type { Principal } from '../tokens/claims.js'
import type { Repositories } from '../repositories.js'
import { requireOperator, requireSuperuser } from './scope.js'
import type { UserRecord } from './users.js'

/** The caller's user row, and usernames for the answers that show nothing else. */
export class CurrentUser {
  // Usernames never change once created, so this cache is never stale; it is bounded only for memory.
  private readonly usernames = new Map<number, string>()

  /** `staffNeedMfa`: MFA_REQUIRED_FOR_STAFF, staff act as staff only with two-factor on. */
  constructor(private readonly d: { repos: Pick<Repositories, 'users'>; staffNeedMfa?: boolean }) {}

  /** The caller, who must be staff or a superuser: the one check every operator action makes. */
  async operator(principal: Principal): Promise<UserRecord> {
    const actor = await this.of(principal)
    requireOperator(actor)
    requireStaffMfa(actor, this.d.staffNeedMfa)
    return actor
  }

  async superuser(principal: Principal): Promise<UserRecord> {
    const actor = await this.of(principal)
    requireSuperuser(actor)
    requireStaffMfa(actor, this.d.staffNeedMfa)
    return actor
  }

  /**
   * The caller's row, with the checks SimpleJWT's authentication makes on it. Showing the caller
   * to themselves (`forDisplay`) may use a row read a moment ago; deciding what they may do may not.
   */
  async of(principal: Principal, forDisplay = false): Promise<UserRecord> {
    const { users } = this.d.repos
    const user = await (forDisplay ? users.findRecent(principal.user_id) : users.findById(principal.user_id))
    if (!user) throw errors.userNotFound()
    if (!user.isActive) throw errors.userInactive()
    if (isExpired(user)) throw errors.accountExpired()
    return user
  }

  /** The username of a user id, from memory after the first time. */
  async username(userId: number): Promise<string> {
    const cached = this.usernames.get(userId)
    if (cached !== undefined) return cached
    const user = await this.d.repos.users.findById(userId)
    if (!user) throw errors.userNotFound()
    if (this.usernames.size >= 100_000) this.usernames.clear()
    this.usernames.set(userId, user.username)
    return user.username
  }
}
