import { randomFillSync } from 'node:crypto'

/**
 * A jti is 32 lowercase hex characters, like SimpleJWT's uuid4().hex, but laid out as a UUIDv7:
 * the first 12 hex digits are the issue time in milliseconds. Revocation marks ("valid after")
 * are compared with that time, because iat has only whole seconds and a login right after a
 * "log out everywhere" in the same second must keep working.
 */
// Random bytes are drawn 4 KiB at a time, as node's randomUUID does: one call to the generator per
// ~400 jtis instead of one per jti (three per refresh).
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
