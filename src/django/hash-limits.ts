import type { Argon2Params } from '../config/accounts.js'
import { hashFormat } from './hash-format.js'

/**
 * The most a stored password hash may ask of a login. A hash carries its own cost (iterations,
 * memory, key length), so one hostile value could otherwise hold a hashing slot for days or take a
 * gigabyte per attempt. The bounds are what Django itself writes, with room for projects that
 * raised its defaults; each allowed maximum costs about a second of one core or less:
 * - pbkdf2: Django 6.0 writes 1,200,000 iterations; the key is the digest's length (32 or 20 bytes).
 * - bcrypt: Django writes cost 12; 14 (about 1 s) is the most.
 * - scrypt: Django writes N=2^14, r=8, p=1, a 64-byte key; N·r·p up to 2^20 (N=2^17 at r=8).
 * - argon2: Django writes m=102400 KiB, t=2, p=8; m up to 256 MiB, m·t up to 1 GiB of passes.
 * - salts of Django's making are 12 or 22 characters; 64 is the most.
 * The same bounds refuse a row at import (a reason) and refuse a login without hashing.
 */
export const HASH_LIMITS = {
  storedLength: 256,
  saltLength: 64,
  pbkdf2Iterations: 3_000_000,
  bcryptCost: 14,
  scryptWork: 2 ** 20,
  scryptKeyBytes: 64,
  argon2MemoryKiB: 262_144,
  argon2TimeCost: 16,
  argon2Parallelism: 16,
  argon2MemoryPasses: 1_048_576,
  argon2HashBytes: 64,
} as const

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const BASE64_BARE = /^[A-Za-z0-9+/]+$/
const DIGITS = /^[1-9][0-9]{0,9}$/

/** Bytes of a base64 field, or undefined when it is not base64. */
function base64Bytes(field: string | undefined, padded: boolean): number | undefined {
  if (!field || !(padded ? BASE64 : BASE64_BARE).test(field)) return undefined
  return Buffer.from(field, 'base64').length
}

const whole = (field: string | undefined) => (field && DIGITS.test(field) ? Number(field) : undefined)

function saltProblem(salt: string | undefined): string | undefined {
  if (!salt) return 'has no salt'
  if (salt.length > HASH_LIMITS.saltLength)
    return `has a salt longer than ${HASH_LIMITS.saltLength} characters`
  return undefined
}

/**
 * Why `stored` is not a password hash we verify, or undefined when it is one (or is unusable, or a
 * format nobody can log in with: those cost nothing). `own`: the argon2id parameters we hash with
 * now: our own hashes (argon2id) made with them are allowed even above the bounds, so an
 * operator's raised cost never locks users out.
 */
export function hashProblem(stored: string, own?: Argon2Params): string | undefined {
  if (stored.length > HASH_LIMITS.storedLength) {
    return `is longer than ${HASH_LIMITS.storedLength} characters`
  }
  const format = hashFormat(stored)
  const parts = stored.split('$')
  switch (format) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      if (parts.length !== 4) return `is not a ${format} hash (algorithm$iterations$salt$key)`
      const iterations = whole(parts[1])
      if (iterations === undefined || iterations > HASH_LIMITS.pbkdf2Iterations) {
        return `has ${parts[1]} iterations; from 1 to ${HASH_LIMITS.pbkdf2Iterations.toLocaleString('en')} are allowed`
      }
      const keyBytes = format === 'pbkdf2_sha256' ? 32 : 20
      if (base64Bytes(parts[3], true) !== keyBytes) return `has a key that is not ${keyBytes} bytes of base64`
      return saltProblem(parts[2])
    }
    case 'bcrypt':
    case 'bcrypt_sha256': {
      // "<algorithm>$" then bcrypt's own "$2b$12$" + 22 characters of salt + 31 of hash.
      const match = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(stored.slice(format.length + 1))
      if (!match) return `is not a ${format} hash ($2b$<cost>$ and 53 characters)`
      const cost = Number(match[1])
      if (cost < 4 || cost > HASH_LIMITS.bcryptCost) {
        return `has cost ${cost}; from 4 to ${HASH_LIMITS.bcryptCost} is allowed`
      }
      return undefined
    }
    case 'scrypt': {
      if (parts.length !== 6) return 'is not a scrypt hash (scrypt$N$salt$r$p$key)'
      const [n, r, p] = [whole(parts[1]), whole(parts[3]), whole(parts[4])]
      if (n === undefined || r === undefined || p === undefined || n < 2 || (n & (n - 1)) !== 0) {
        return 'has N, r or p that are not whole numbers (N a power of two)'
      }
      if (n * r * p > HASH_LIMITS.scryptWork) {
        return `has N·r·p = ${n * r * p}; at most ${HASH_LIMITS.scryptWork} (N=2^17, r=8, p=1) is allowed`
      }
      const keyBytes = base64Bytes(parts[5], true)
      if (keyBytes === undefined || keyBytes < 16 || keyBytes > HASH_LIMITS.scryptKeyBytes) {
        return `has a key that is not 16 to ${HASH_LIMITS.scryptKeyBytes} bytes of base64`
      }
      return saltProblem(parts[2])
    }
    case 'django_argon2':
      return argon2Problem(stored.slice('argon2'.length), undefined)
    case 'argon2id':
      return argon2Problem(stored, own)
    case 'md5':
    case 'sha1': {
      const hexLength = format === 'md5' ? 32 : 40
      if (parts.length !== 3 || !new RegExp(`^[0-9a-f]{${hexLength}}$`, 'i').test(parts[2]!)) {
        return `is not a ${format} hash (${format}$salt$hex)`
      }
      return saltProblem(parts[1])
    }
    case 'unsalted_md5':
      return /^(md5\$\$)?[0-9a-f]{32}$/i.test(stored) ? undefined : 'is not an unsalted md5 hash (md5$$hex)'
    case 'unsalted_sha1':
      return /^sha1\$\$[0-9a-f]{40}$/i.test(stored) ? undefined : 'is not an unsalted sha1 hash (sha1$$hex)'
    default:
      // Unusable passwords and formats we do not know never verify: they cost nothing.
      return undefined
  }
}

/** A PHC string "$argon2id$v=19$m=..,t=..,p=..$salt$hash" (argon2i and no "v=" in old Django ones). */
function argon2Problem(phc: string, own: Argon2Params | undefined): string | undefined {
  const match =
    /^\$argon2(id|i|d)\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([^$]+)\$([^$]+)$/.exec(phc)
  if (!match) return 'is not an argon2 hash ($argon2id$v=19$m=..,t=..,p=..$salt$hash)'
  const [m, t, p] = [Number(match[3]), Number(match[4]), Number(match[5])]
  const most = {
    m: Math.max(HASH_LIMITS.argon2MemoryKiB, own?.memoryKiB ?? 0),
    t: Math.max(HASH_LIMITS.argon2TimeCost, own?.timeCost ?? 0),
    p: Math.max(HASH_LIMITS.argon2Parallelism, own?.parallelism ?? 0),
    passes: Math.max(HASH_LIMITS.argon2MemoryPasses, own ? own.memoryKiB * own.timeCost : 0),
  }
  if (t < 1 || p < 1 || m < 8 * p) return `has m=${m}, t=${t}, p=${p}, which argon2 does not allow`
  if (m > most.m || t > most.t || p > most.p || m * t > most.passes) {
    return (
      `has m=${m}, t=${t}, p=${p}; at most m=${most.m} KiB, t=${most.t}, p=${most.p} ` +
      `and m·t=${most.passes} are allowed`
    )
  }
  const saltBytes = base64Bytes(match[6], false)
  if (saltBytes === undefined || saltBytes < 8 || match[6]!.length > HASH_LIMITS.saltLength) {
    return `has a salt that is not 8 bytes to ${HASH_LIMITS.saltLength} characters of base64`
  }
  const hashBytes = base64Bytes(match[7], false)
  if (hashBytes === undefined || hashBytes < 4 || hashBytes > HASH_LIMITS.argon2HashBytes) {
    return `has a hash that is not 4 to ${HASH_LIMITS.argon2HashBytes} bytes of base64`
  }
  return undefined
}
