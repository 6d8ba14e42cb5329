import type { Repositories } from '../database/repositories.js'
import type { SessionRow } from '../../schema/db.js'
import { ApiError, messages } from '../http/errors.js'
import { type Claims, isUserId, typedClaims, type UntypedClaims } from '../tokens/claims.js'
import { decodeToken, legacyRefused, type TokenCodec } from '../tokens/codec.js'

/**
 * A refresh token presented to refresh, blacklist or logout: its claims, or the error SimpleJWT
 * answers (401; logout answers 400). Refresh tokens are presented once, so never cached.
 */
export function readRefreshToken(codec: TokenCodec, token: string, status = 401): Claims {
  const checked = decodeToken(codec, token, true)
  if (!checked.ok) throw new ApiError(status, checked.message, 'token_not_valid')
  const typed = typedClaims(checked.claims, 'refresh')
  if (!typed.ok) throw new ApiError(status, typed.message, 'token_not_valid')
  if (legacyRefused(codec, typed.claims)) throw new ApiError(status, messages.invalid, 'token_not_valid')
  return typed.claims
}

/** The session a token names, if it exists and belongs to the token's user. */
export async function sessionOf(
  repos: Pick<Repositories, 'sessions'>,
  claims: UntypedClaims,
): Promise<SessionRow | undefined> {
  if (claims.sid === undefined || !isUserId(claims.user_id)) return undefined
  const session = await repos.sessions.findById(claims.sid)
  return session?.userId === claims.user_id ? session : undefined
}

/**
 * Whether the session a refresh token names still holds it: 'spent' once rotated away or
 * revoked, 'unknown' when the token names no session of its user (nothing to ask). Refresh
 * tokens are decided by the session row, not by deny entries.
 */
export async function refreshHold(
  repos: Pick<Repositories, 'sessions'>,
  claims: UntypedClaims,
): Promise<'held' | 'spent' | 'unknown'> {
  const session = await sessionOf(repos, claims)
  if (!session) return 'unknown'
  return session.isActive && session.refreshJti === claims.jti ? 'held' : 'spent'
}
