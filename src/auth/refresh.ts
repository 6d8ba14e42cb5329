import type { SessionRow } from '../../schema/db.js'
import { errors, messages } from '../http/errors.js'
import { isExpired } from '../accounts/expiry.js'
import { StoreUnavailableError } from '../revocation/store.js'
import { buildClaims, type Claims } from '../tokens/claims.js'
import { jtiIssuedAtMs } from '../tokens/jti.js'
import type { RequestMeta } from '../audit/events.js'
import type { AuthDeps, Renewed } from './deps.js'
import { refreshLegacy } from './legacy-refresh.js'
import { sessionOf } from '../sessions/refresh-hold.js'
import { readRefreshToken } from './refresh-token.js'

export type { Renewed } from './deps.js'

/**
 * Renews on the authority of the session row, not the revocation store. Every revocation is
 * written to the database first, and the conditional UPDATE that rotates the session matches
 * only while the session is active, still holds this token, and its user is active and not
 * expired. So one database round trip both decides and records the refresh; the store is not
 * read (refresh keeps working while Redis is down), and a spent token needs no deny entry:
 * verify and blacklist ask the session row about refresh tokens (refreshHold).
 */
export async function refresh(
  d: AuthDeps,
  token: string,
  requestStartedMs: number,
  meta: RequestMeta,
): Promise<Renewed> {
  const { config, repos } = d
  const claims = readRefreshToken(d.codec, token)
  // Ours always name their session; one without was issued by SimpleJWT before the move.
  if (claims.sid === undefined) return refreshLegacy(d, claims, meta)
  const refreshed = (details: Record<string, unknown>) =>
    d.audit.record({ type: 'token.refreshed', userId: claims.user_id, sessionId: claims.sid, details }, meta)

  const nowMs = Date.now()
  const base = { user_id: claims.user_id, sid: claims.sid, client_id: claims.client_id }
  // As SimpleJWT: the new access token copies the presented refresh token's iat.
  const access = buildClaims('access', config.accessTokenLifetime, { ...base, iat: claims.iat }, nowMs)
  if (!config.rotateRefreshTokens) {
    const at = new Date(nowMs)
    const row = await repos.sessions.recordAccess(claims.sid, claims.user_id, claims.jti, access.jti, at)
    if (!row) return refused(d, claims, requestStartedMs, meta)
    refreshed({ rotated: false })
    return { access: d.codec.sign(access) }
  }
  const renewed = buildClaims('refresh', config.refreshTokenLifetime, base, nowMs)
  const rotated = await repos.sessions.rotate({
    sid: claims.sid,
    userId: claims.user_id,
    presentedJti: claims.jti,
    refreshJti: renewed.jti,
    accessJti: access.jti,
    at: new Date(nowMs),
    expiresAt: new Date(nowMs + config.refreshTokenLifetime * 1000),
  })
  if (!rotated) return refused(d, claims, requestStartedMs, meta)
  refreshed({ rotated: true })
  return { access: d.codec.sign(access), refresh: d.codec.sign(renewed) }
}

/**
 * The session did not hold the presented token. A refresh with the token the session held
 * just before its last rotation, arriving within the grace, is a concurrent client (two tabs,
 * a retry): it gets the very pair the rotation issued, so both converge on one token. With no
 * grace, one that began before the rotation lost a race: refused, the session lives. Anything
 * else is reuse of a spent token, the mark of a stolen one: the whole session is revoked.
 */
async function refused(d: AuthDeps, claims: Claims, startedMs: number, meta: RequestMeta): Promise<Renewed> {
  const { repos, revocations, config } = d
  const user = await repos.users.findById(claims.user_id)
  if (!user) throw errors.userNotFound()
  if (!user.isActive) throw errors.userInactive()
  if (isExpired(user)) throw errors.accountExpired()
  const session = await sessionOf(repos, claims)
  if (!session) throw errors.tokenNotValid(messages.invalid)
  if (!session.isActive) {
    // Repairs a store that lost the entry; the answer does not depend on it, so a store that is
    // down does not turn this refusal into a 503.
    await revocations.denySessions([session]).catch((err: unknown) => {
      if (!(err instanceof StoreUnavailableError)) throw err
    })
    throw errors.tokenNotValid(messages.blacklisted)
  }
  const rotatedAt = session.rotatedAt?.getTime()
  const graceMs = config.refreshReuseGraceSeconds * 1000
  if (config.rotateRefreshTokens && session.previousRefreshJti === claims.jti && rotatedAt !== undefined) {
    if (graceMs > 0 && startedMs <= rotatedAt + graceMs) {
      const details = { rotated: true, concurrent: true }
      d.audit.record({ type: 'token.refreshed', userId: user.id, sessionId: session.id, details }, meta)
      return successorPair(d, session, claims)
    }
    if (startedMs <= rotatedAt) throw errors.tokenNotValid(messages.blacklisted)
  }
  await revocations.revokeSession(session, 'refresh_reuse')
  d.audit.record({ type: 'token.reuse_detected', userId: user.id, sessionId: session.id }, meta)
  throw errors.tokenNotValid(messages.blacklisted)
}

/**
 * The pair the session's last rotation issued, signed again from what the row holds: both jtis
 * carry the rotation's time, and every other claim comes from the presented token as it did
 * then, so the claims, and with a deterministic signature (HMAC) the tokens, are the same.
 */
function successorPair(d: AuthDeps, session: SessionRow, claims: Claims): Renewed {
  const { config, codec } = d
  const issuedMs = jtiIssuedAtMs(session.refreshJti)
  if (issuedMs === undefined || !session.accessJti) throw errors.tokenNotValid(messages.blacklisted)
  const base = { user_id: claims.user_id, sid: claims.sid, client_id: claims.client_id }
  const access = { ...base, iat: claims.iat, jti: session.accessJti }
  return {
    access: codec.sign(buildClaims('access', config.accessTokenLifetime, access, issuedMs)),
    refresh: codec.sign(
      buildClaims('refresh', config.refreshTokenLifetime, { ...base, jti: session.refreshJti }, issuedMs),
    ),
  }
}
