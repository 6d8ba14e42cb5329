import { errors, messages } from '../http/errors.js'
import { isExpired } from '../accounts/expiry.js'
import { buildClaims, type Claims } from '../tokens/claims.js'
import { newJti } from '../tokens/jti.js'
import type { RequestMeta } from '../audit/events.js'
import type { AuthDeps, Renewed } from './deps.js'

/**
 * A refresh token SimpleJWT issued before the move (it names no session; readRefreshToken lets
 * it through only before LEGACY_TOKENS_UNTIL). It is spent here, once: the database records its jti
 * first, so a replay, a concurrent twin, and a token SimpleJWT had blacklisted (imported into the
 * same table) all get SimpleJWT's "Token is blacklisted". The holder moves into a session of ours,
 * listed and revocable like any login, and gets a pair of our tokens whatever the rotation setting:
 * the old token cannot be used again.
 */
export async function refreshLegacy(d: AuthDeps, claims: Claims, meta: RequestMeta): Promise<Renewed> {
  const { repos, config } = d
  const user = await repos.users.findById(claims.user_id)
  if (!user) throw errors.userNotFound()
  if (!user.isActive) throw errors.userInactive()
  if (isExpired(user)) throw errors.accountExpired()
  const nowMs = Date.now()
  const refreshJti = newJti(nowMs)
  const accessJti = newJti(nowMs)
  // The token is spent and its session created in one transaction: both hold, or neither.
  const session = await d.revocations.spendToken(claims.jti, claims.exp, (tx) =>
    repos.sessions.create(
      {
        userId: user.id,
        refreshJti,
        accessJti,
        clientType: 'unknown',
        deviceName: 'SimpleJWT session',
        createdAt: new Date(nowMs),
        expiresAt: new Date(nowMs + config.refreshTokenLifetime * 1000),
      },
      tx,
    ),
  )
  if (!session) throw errors.tokenNotValid(messages.blacklisted)
  const details = { rotated: true, legacy: true }
  d.audit.record({ type: 'token.refreshed', userId: user.id, sessionId: session.id, details }, meta)
  const base = { user_id: user.id, sid: session.id, client_id: user.clientId }
  const access = buildClaims('access', config.accessTokenLifetime, { ...base, jti: accessJti }, nowMs)
  const refresh = buildClaims('refresh', config.refreshTokenLifetime, { ...base, jti: refreshJti }, nowMs)
  return { access: d.codec.sign(access), refresh: d.codec.sign(refresh) }
}
