import { ApiError, messages } from '../http/errors.js'
import { type Claims, typedClaims } from '../tokens/claims.js'
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
