import { errors, messages } from '../http/errors.js'
import { type Principal, revocationUserId, type UntypedClaims } from '../tokens/claims.js'
import { decodeToken, legacyRefused } from '../tokens/codec.js'
import { bearerToken, refuseRevoked, revocationOf } from './authenticate.js'
import type { AuthDeps } from './deps.js'
import { completeMfaLogin } from '../mfa/completion.js'
import { type LoginInput, login, type RequestMeta } from './login.js'
import { refresh } from './refresh.js'
import { refreshHold } from '../sessions/refresh-hold.js'
import { readRefreshToken } from './refresh-token.js'

/**
 * SimpleJWT's token views and our logouts, over one set of dependencies: login and refresh live
 * in their own modules; verify, blacklist and logout are short enough to read here.
 */
export class TokenFlows {
  constructor(private readonly d: AuthDeps) {}

  login(input: LoginInput, meta: RequestMeta) {
    return login(this.d, input, meta)
  }

  /** The second step of a login with two-factor on (src/mfa/completion.ts). */
  completeMfa(mfaToken: string, code: string, meta: RequestMeta) {
    return completeMfaLogin(this.d, mfaToken, code, meta)
  }

  refresh(token: string, requestStartedMs: number, meta: RequestMeta) {
    return refresh(this.d, token, requestStartedMs, meta)
  }

  async verify(token: string): Promise<Record<string, never>> {
    const checked = decodeToken(this.d.codec, token)
    if (!checked.ok) throw errors.tokenNotValid(checked.message)
    if (legacyRefused(this.d.codec, checked.claims)) throw errors.tokenNotValid(messages.invalid)
    await refuseRevoked(this.d.store, checked.claims)
    if (
      checked.claims.token_type === 'refresh' &&
      (await refreshHold(this.d.repos, checked.claims)) === 'spent'
    ) {
      throw errors.tokenRevoked()
    }
    return {}
  }

  async blacklist(token: string, meta: RequestMeta): Promise<Record<string, never>> {
    const claims = readRefreshToken(this.d.codec, token)
    const verdict = await revocationOf(this.d.store, claims)
    if (verdict === 'token_revoked' || (await refreshHold(this.d.repos, claims)) === 'spent') {
      throw errors.tokenNotValid(messages.blacklisted)
    }
    await this.revokeRefresh(claims, 'blacklist')
    this.d.audit.record({ type: 'token.blacklisted', userId: claims.user_id, sessionId: claims.sid }, meta)
    return {}
  }

  /** Revokes the refresh token's session and, when a valid Bearer comes along, that access token. */
  async logout(refreshToken: string, authorization: string | undefined, meta: RequestMeta) {
    const claims = readRefreshToken(this.d.codec, refreshToken, 400)
    const bearer = bearerToken(authorization)
    // Uncached: a token being logged out is not presented again.
    const access = bearer ? decodeToken(this.d.codec, bearer, true) : undefined
    // An access token of the same session is stopped by the session's deny entry already.
    const otherAccess = access?.ok && (claims.sid === undefined || access.claims.sid !== claims.sid)
    // Independent writes go out together (one pipelined Redis write), not one round trip each.
    await Promise.all([
      this.revokeRefresh(claims, 'logout'),
      otherAccess ? this.d.revocations.denyToken(access.claims.jti, access.claims.exp) : undefined,
    ])
    this.d.audit.record({ type: 'session.logout', userId: claims.user_id, sessionId: claims.sid }, meta)
    return { message: 'Logout successful', detail: 'Session revoked and tokens blacklisted' }
  }

  async logoutAll(principal: Principal, meta: RequestMeta) {
    const user = await this.d.repos.users.findById(principal.user_id)
    if (!user) throw errors.userNotFound()
    const ids = await this.d.revocations.revokeUser(user, 'logout_all')
    const details = { reason: 'logout_all', sessions: ids.length }
    this.d.audit.record({ type: 'sessions.revoked_all', userId: user.id, details }, meta)
    return { message: `Logged out from ${ids.length} device(s)`, revoked_sessions: ids.length }
  }

  /**
   * Revokes the token's session; the session's deny entry stops every token naming it, so the
   * token's own jti is denied only when it names no session.
   */
  private async revokeRefresh(claims: UntypedClaims, reason: string): Promise<void> {
    if (claims.sid === undefined) return this.d.revocations.denyToken(claims.jti, claims.exp)
    await this.d.revocations.revokeSession({ id: claims.sid, userId: revocationUserId(claims) }, reason)
  }
}
