import type { SessionRow } from '../../schema/db.js'
import { errors } from '../http/errors.js'
import type { Repositories } from '../database/repositories.js'
import { inScope, tenantOf } from './scope.js'
import type { Principal } from '../tokens/claims.js'
import type { CurrentUser } from './current-user.js'
import type { RevocationService } from '../revocation/service.js'

export interface SessionServiceDeps {
  repos: Repositories
  revocations: RevocationService
  currentUser: CurrentUser
}

export interface AdminSessionFilter {
  clientType?: string
  isActive?: boolean
  userId?: number
  search?: string
  limit: number
  offset: number
}

/** A user's own devices, and what operators do with everybody's (within their tenant). */
export class SessionService {
  constructor(private readonly d: SessionServiceDeps) {}

  list(principal: Principal, includeInactive: boolean): Promise<SessionRow[]> {
    return this.d.repos.sessions.listForUser(principal.user_id, includeInactive)
  }

  /** One of the caller's sessions, active or not; anybody else's is 404, as if it did not exist. */
  async own(principal: Principal, id: number): Promise<SessionRow> {
    const session = await this.d.repos.sessions.findById(id)
    if (!session || session.userId !== principal.user_id) throw errors.notFound()
    return session
  }

  /** Revoking a session that is already revoked succeeds again: the caller's goal holds. */
  async revokeOwn(principal: Principal, id: number) {
    await this.own(principal, id)
    await this.d.revocations.revokeSession(id, 'user_revoked')
    return { message: 'Session revoked successfully', session_id: id }
  }

  async revokeAll(principal: Principal, keepCurrent: boolean) {
    const user = await this.d.currentUser.of(principal)
    // Without keep_current every token of the user stops, sessionless ones included. With it,
    // sid 0 (a token without a session) keeps nothing but the caller's own access token.
    const except = keepCurrent ? (principal.sid ?? 0) : undefined
    const ids = await this.d.revocations.revokeUser(user, 'user_revoke_all', { exceptSid: except })
    return { message: `${ids.length} session(s) revoked successfully`, revoked_count: ids.length }
  }

  async adminList(principal: Principal, filter: AdminSessionFilter) {
    const actor = await this.d.currentUser.operator(principal)
    return this.d.repos.sessions.listAdmin({ ...filter, tenantId: tenantOf(actor) })
  }

  async adminRevoke(principal: Principal, id: number) {
    const actor = await this.d.currentUser.operator(principal)
    const session = await this.d.repos.sessions.findWithUser(id)
    if (!session || !inScope(actor, session.clientId)) throw errors.notFound()
    await this.d.revocations.revokeSession(id, 'admin_revoked')
    return { message: 'Session revoked successfully', session_id: id }
  }

  /** Every token issued until now stops on the next request, on every instance; new logins work. */
  async invalidateAll(principal: Principal) {
    await this.d.currentUser.superuser(principal)
    const revoked = await this.d.revocations.invalidateAll()
    return { message: 'All user sessions invalidated successfully', revoked_sessions: revoked }
  }
}
