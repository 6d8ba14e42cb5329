import { randomFillSync } from 'node:crypto'

export type TokenType = 'access' | 'refresh'

/** Claims in SimpleJWT's order (token_type, exp, iat, jti, user_id), then ours. */
export interface TokenClaims {
  token_type: TokenType
  exp: number
  iat: number
  jti: string
  user_id: number
  sid?: number
  client_id?: number
}

/**
 * A jti is 32 lowercase hex characters, like SimpleJWT's uuid4().hex, but laid out as a UUIDv7:
 * the first 12 hex digits are the issue time in milliseconds. Revocation marks ("valid after")
 * are compared with that time, because iat has only whole seconds and a login right after a
 * "log out everywhere" in the same second must keep working.
 */
// Random bytes are drawn 4 KiB at a time, as node's randomUUID does: one call to the generator per
// ~400 jtis instead of one per jti (three per refresh), which showed in the refresh profile.
const randomPool = Buffer.alloc(4096)
let randomOffset = randomPool.length

function randomHex10(): string {
  if (randomOffset + 10 > randomPool.length) {
    randomFillSync(randomPool)
    randomOffset = 0
  }
  const hex = randomPool.toString('hex', randomOffset, randomOffset + 10)
  randomOffset += 10
  return hex
}

export function newJti(nowMs = Date.now()): string {
  const rand = randomHex10()
  const time = nowMs.toString(16).padStart(12, '0').slice(-12)
  const variant = ((Number.parseInt(rand[3]!, 16) & 0x3) | 0x8).toString(16)
  return `${time}7${rand.slice(0, 3)}${variant}${rand.slice(4, 19)}`
}

/** The issue time (ms) a jti of ours carries, or undefined for a jti of another shape. */
export function jtiIssuedAtMs(jti: string): number | undefined {
  if (jti.length !== 32 || jti[12] !== '7') return undefined
  const ms = Number.parseInt(jti.slice(0, 12), 16)
  return Number.isFinite(ms) ? ms : undefined
}

/** Best known issue time of a token in ms: the jti's clock when it is ours, else iat. */
export function issuedAtMs(claims: { jti: string; iat?: number }): number {
  return jtiIssuedAtMs(claims.jti) ?? (typeof claims.iat === 'number' ? claims.iat * 1000 : 0)
}

export function buildClaims(
  type: TokenType,
  lifetimeSeconds: number,
  base: { user_id: number; sid?: number; client_id?: number | null; iat?: number; jti?: string },
  nowMs = Date.now(),
): TokenClaims {
  const now = Math.floor(nowMs / 1000)
  const claims: TokenClaims = {
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
