import { messages } from '../http/errors.js'
import { type CheckResult, type Claims, checkClaims, type UntypedClaims } from './claims.js'

/** Signs and verifies with the configured algorithm only; never with what a token's header asks. */
export interface TokenCodec {
  sign(claims: Claims): string
  /** The payload of a token whose signature, exp and nbf hold; throws otherwise. */
  verify(token: string): Record<string, unknown>
  /** As verify, without the cache: for tokens presented once (refresh tokens). */
  verifyUncached(token: string): Record<string, unknown>
  /**
   * Until when (ms) a token SimpleJWT issued with the shared key is accepted: it names no
   * session (no `sid`). Undefined: never, so a Django user id cannot pass for one of ours.
   */
  legacyUntilMs?: number
}

/**
 * The token, if its signature is written the one way base64url allows. A decoder ignores the
 * unused low bits of the last character (and takes '+' or '/' for '-' or '_'), so one signature
 * has several spellings; each would be another valid token (and another cache key).
 */
export function canonical(token: string): string {
  const signature = token.slice(token.lastIndexOf('.') + 1)
  if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) {
    throw new Error('signature is not canonical base64url')
  }
  return token
}

/** A token's claims if its signature and SimpleJWT's checks hold; `once`: a token not cached. */
export function decodeToken(codec: TokenCodec, token: string, once = false): CheckResult<UntypedClaims> {
  let payload: Record<string, unknown>
  try {
    payload = once ? codec.verifyUncached(token) : codec.verify(token)
  } catch {
    return { ok: false, message: messages.invalid }
  }
  return checkClaims(payload, Math.floor(Date.now() / 1000))
}

/**
 * True for a token SimpleJWT issued (it names no session of ours) once LEGACY_TOKENS_UNTIL has
 * passed, or when it was never set: such a token is then refused as invalid. Asked after
 * SimpleJWT's own checks, so a malformed token still gets SimpleJWT's sentence for what is wrong.
 */
export function legacyRefused(codec: TokenCodec, claims: UntypedClaims): boolean {
  return claims.sid === undefined && !(Date.now() < (codec.legacyUntilMs ?? 0))
}
