import { messages } from '../http/errors.js'
import { newJti } from './jti.js'

export type TokenType = 'access' | 'refresh'

/**
 * The claims of a token of ours, in SimpleJWT's order (token_type, exp, iat, jti, user_id), then
 * ours: `sid`, the session both tokens of one login name, and `client_id`, the user's tenant.
 * A token another SimpleJWT backend signed with the shared key carries no `sid`.
 */
export interface Claims {
  token_type: TokenType
  exp: number
  /** Always set on ours; optional in what PyJWT accepts. */
  iat?: number
  jti: string
  user_id: number
  sid?: number
  client_id?: number
}

/** Who is calling: the claims of a verified access token that nothing revoked. */
export type Principal = Claims

/**
 * A token whose signature verified and that passed SimpleJWT's own checks (checkClaims), before
 * anyone asked what type it is or whose: SimpleJWT's verify endpoint accepts it as it is.
 */
export type UntypedClaims = Omit<Claims, 'token_type' | 'user_id'> & {
  token_type?: unknown
  user_id?: unknown
}

export type CheckResult<T> = { ok: true; claims: T } | { ok: false; message: string }

/** Row ids are PostgreSQL integers: a claim beyond their range names no row, and must not reach a query. */
export const MAX_ROW_ID = 2_147_483_647

export function isRowId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_ROW_ID
}

export const isUserId = isRowId

/**
 * The user a token's revocation entries are filed under (a Redis Cluster places them by it): its
 * user_id, or 0 for one that names none. Lookups and denials use this one rule, so they agree.
 */
export function revocationUserId(claims: { user_id?: unknown }): number {
  return isUserId(claims.user_id) ? claims.user_id : 0
}

/**
 * The checks SimpleJWT's Token.verify() makes after the signature, in its order, with its sentences:
 * exp present, iat not in the future (PyJWT), jti present. And ours: a sid names a row.
 */
export function checkClaims(
  payload: Record<string, unknown>,
  nowSeconds: number,
): CheckResult<UntypedClaims> {
  if (typeof payload.exp !== 'number') return { ok: false, message: messages.noExp }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds)
    return { ok: false, message: messages.invalid }
  if (typeof payload.jti !== 'string' || payload.jti === '') return { ok: false, message: messages.noId }
  if (payload.sid !== undefined && !isRowId(payload.sid)) return { ok: false, message: messages.invalid }
  return { ok: true, claims: payload as UntypedClaims }
}

/**
 * The claims as a token of the expected type, with SimpleJWT's sentences when it is not one: a
 * token without the claim has no type, any other value is the wrong one; then a user it names.
 */
export function typedClaims(claims: UntypedClaims, type: TokenType): CheckResult<Claims> {
  const { token_type, user_id } = claims
  if (token_type !== type) {
    return { ok: false, message: token_type === undefined ? messages.noType : messages.wrongType }
  }
  if (!isUserId(user_id)) return { ok: false, message: messages.noUser }
  return { ok: true, claims: { ...claims, token_type: type, user_id } }
}

/**
 * The claims of a new token, issued at `nowMs`: `iat` may be given (a refreshed access token keeps
 * the refresh token's, as SimpleJWT does), and so may `jti` (to sign a token again, identically).
 */
export function buildClaims(
  type: TokenType,
  lifetimeSeconds: number,
  base: { user_id: number; sid?: number; client_id?: number | null; iat?: number; jti?: string },
  nowMs = Date.now(),
): Claims & { iat: number } {
  const now = Math.floor(nowMs / 1000)
  const claims: Claims & { iat: number } = {
    token_type: type,
    exp: now + lifetimeSeconds,
    iat: base.iat ?? now,
    jti: base.jti ?? newJti(nowMs),
    user_id: base.user_id,
  }
  if (base.sid !== undefined) claims.sid = base.sid
  if (base.client_id !== undefined && base.client_id !== null) claims.client_id = base.client_id
  return claims
}
