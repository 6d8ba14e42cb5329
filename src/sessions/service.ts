import type { SessionRow } from '../../schema/db.js'
import { errors } from '../http/errors.js'
import type { Repositories } from '../repositories.js'
import { reachOf, requireManageable } from '../accounts/scope.js'
import type { Principal } from '../tokens/claims.js'
import type { CurrentUser } from '../accounts/current-user.js'
import type { RevocationService } from '../revocation/service.js'
import type { AuditTrail, RequestMeta } from '../audit/events.js'

export interface SessionServiceDeps {
  repos: Repositories
  revocations: RevocationService
  currentUser: CurrentUser
  audit: AuditTrail
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
  async revokeOwn(principal: Principal, id: number, meta: RequestMeta) {
    await this.d.revocations.revokeSession(await this.own(principal, id), 'user_revoked')
    const details = { reason: 'user_revoked' }
    this.d.audit.record({ type: 'session.revoked', userId: principal.user_id, sessionId: id, details }, meta)
    return { message: 'Session revoked successfully', session_id: id }
  }

  async revokeAll(principal: Principal, keepCurrent: boolean, meta: RequestMeta) {
    const user = await this.d.currentUser.of(principal)
    // Without keep_current every token of the user stops, sessionless ones included. With it,
    // sid 0 (a token without a session) keeps nothing but the caller's own access token.
    const except = keepCurrent ? (principal.sid ?? 0) : undefined
    const ids = await this.d.revocations.revokeUser(user, 'user_revoke_all', { exceptSid: except })
    const details = { reason: 'user_revoke_all', sessions: ids.length, kept_current: keepCurrent }
    this.d.audit.record({ type: 'sessions.revoked_all', userId: user.id, details }, meta)
    return { message: `${ids.length} session(s) revoked successfully`, revoked_count: ids.length }
  }

  async adminList(principal: Principal, filter: AdminSessionFilter) {
    const actor = await this.d.currentUser.operator(principal)
    return this.d.repos.sessions.listAdmin({ ...filter, reach: reachOf(actor) })
  }

  async adminRevoke(principal: Principal, id: number, meta: RequestMeta) {
    const actor = await this.d.currentUser.operator(principal)
    const session = await this.d.repos.sessions.findWithUser(id)
    requireManageable(actor, session)
    await this.d.revocations.revokeSession(session, 'admin_revoked')
    const details = { reason: 'admin_revoked' }
    this.d.audit.record({ type: 'session.revoked', userId: session.userId, sessionId: id, details }, meta)
    return { message: 'Session revoked successfully', session_id: id }
  }

  /** Every token issued until now stops on the next request, on every instance; new logins work. */
  async invalidateAll(principal: Principal, meta: RequestMeta) {
    await this.d.currentUser.superuser(principal)
    const revoked = await this.d.revocations.invalidateAll()
    this.d.audit.record({ type: 'tokens.invalidated_all', details: { revoked_sessions: revoked } }, meta)
    return { message: 'All user sessions invalidated successfully', revoked_sessions: revoked }
  }
}
