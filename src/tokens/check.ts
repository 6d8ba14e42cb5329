import { messages } from '../http/errors.js'

/** Claims of a token whose signature verified, after the checks SimpleJWT makes on top. */
export interface VerifiedClaims {
  token_type?: unknown
  exp: number
  iat?: number
  jti: string
  user_id?: unknown
  sid?: number
  client_id?: number
}

export type CheckResult = { ok: true; claims: VerifiedClaims } | { ok: false; message: string }

/**
 * The checks SimpleJWT's Token.verify() makes after the signature, in its order, with its sentences:
 * exp present, iat not in the future (PyJWT), jti present.
 */
export function checkClaims(payload: Record<string, unknown>, nowSeconds: number): CheckResult {
  if (typeof payload.exp !== 'number') return { ok: false, message: messages.noExp }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds)
    return { ok: false, message: messages.invalid }
  if (typeof payload.jti !== 'string' || payload.jti === '') return { ok: false, message: messages.noId }
  if (payload.sid !== undefined && !isRowId(payload.sid)) return { ok: false, message: messages.invalid }
  return { ok: true, claims: payload as unknown as VerifiedClaims }
}

/** Row ids are PostgreSQL integers: a claim beyond their range names no row, and must not reach a query. */
export const MAX_ROW_ID = 2_147_483_647

export function isRowId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_ROW_ID
}

export const isUserId = isRowId
