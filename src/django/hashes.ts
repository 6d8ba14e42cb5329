import { createHash, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { verify as argon2Verify } from '@node-rs/argon2'
import { verify as bcryptVerify } from '@node-rs/bcrypt'

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: string,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

/**
 * The password hash formats Django has shipped (django/contrib/auth/hashers.py), as they sit in
 * `auth_user.password`. `argon2id` is ours (a PHC string); every other one was written by Django.
 */
export type HashFormat =
  | 'argon2id'
  | 'django_argon2'
  | 'pbkdf2_sha256'
  | 'pbkdf2_sha1'
  | 'bcrypt_sha256'
  | 'bcrypt'
  | 'scrypt'
  | 'md5'
  | 'sha1'
  | 'unsalted_md5'
  | 'unsalted_sha1'
  | 'unusable'
  | 'unknown'

/** Formats Django itself calls insecure: fast digests an attacker with the table reverses cheaply. */
export const LEGACY_FORMATS: ReadonlySet<HashFormat> = new Set([
  'md5',
  'sha1',
  'unsalted_md5',
  'unsalted_sha1',
])

/** Which format a stored value is in, from its prefix, without checking it is well formed. */
export function hashFormat(stored: string): HashFormat {
  if (stored.startsWith('$argon2id$')) return 'argon2id'
  // Django's make_password(None) writes "!" and 40 random characters.
  if (stored === '' || stored.startsWith('!')) return 'unusable'
  if (/^[0-9a-f]{32}$/i.test(stored)) return 'unsalted_md5'
  const algorithm = stored.slice(0, stored.indexOf('$'))
  switch (algorithm) {
    case 'argon2':
      return 'django_argon2'
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
    case 'bcrypt_sha256':
    case 'bcrypt':
    case 'scrypt':
      return algorithm
    case 'md5':
      return stored.startsWith('md5$$') ? 'unsalted_md5' : 'md5'
    case 'sha1':
      return stored.startsWith('sha1$$') ? 'unsalted_sha1' : 'sha1'
    default:
      return 'unknown'
  }
}

/** Equal strings, in time that depends on their length only. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const hexDigest = (algorithm: 'md5' | 'sha1' | 'sha256', text: string) =>
  createHash(algorithm).update(text).digest('hex')

const MAX_PBKDF2_ITERATIONS = 10_000_000

/**
 * Whether `password` matches a hash Django wrote. False for a malformed value, an unusable
 * password and a format we do not know. The costly formats run on libuv's thread pool (node's
 * crypto, @node-rs/argon2, @node-rs/bcrypt), never on the event loop; the legacy digests cost
 * microseconds.
 */
export async function verifyDjangoHash(stored: string, password: string): Promise<boolean> {
  const parts = stored.split('$')
  switch (hashFormat(stored)) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      const [algorithm, iterations, salt, encoded] = parts
      const rounds = Number(iterations)
      if (parts.length !== 4 || !Number.isInteger(rounds) || rounds < 1 || rounds > MAX_PBKDF2_ITERATIONS) {
        return false
      }
      const digest = algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1'
      const expected = Buffer.from(encoded!, 'base64')
      const derived = await pbkdf2Async(password, salt!, rounds, expected.length || 1, digest)
      return expected.length > 0 && timingSafeEqual(derived, expected)
    }
    case 'django_argon2':
      // "argon2" + a PHC string without its leading "$": argon2id (Django >= 3.2) or argon2i.
      try {
        return await argon2Verify(stored.slice('argon2'.length), password)
      } catch {
        return false
      }
    case 'bcrypt_sha256':
    case 'bcrypt': {
      // Django keeps bcrypt's own string after "<algorithm>$"; bcrypt_sha256 first turns the
      // password into its SHA-256 in hex, which lifts bcrypt's 72-byte limit.
      const bcryptHash = stored.slice(stored.indexOf('$') + 1)
      const input = parts[0] === 'bcrypt_sha256' ? hexDigest('sha256', password) : password
      try {
        return await bcryptVerify(input, bcryptHash)
      } catch {
        return false
      }
    }
    case 'scrypt': {
      const [, n, salt, r, p, encoded] = parts
      const [N, R, P] = [Number(n), Number(r), Number(p)]
      if (parts.length !== 6 || ![N, R, P].every((v) => Number.isInteger(v) && v > 0)) return false
      // Django's defaults need 16 MiB; more than 256 MiB is refused rather than allocated.
      const maxmem = 256 * 1024 * 1024
      if (128 * N * R * P > maxmem) return false
      const expected = Buffer.from(encoded!, 'base64')
      if (expected.length === 0) return false
      try {
        const derived = await scryptAsync(password, salt!, expected.length, { N, r: R, p: P, maxmem })
        return timingSafeEqual(derived, expected)
      } catch {
        return false
      }
    }
    case 'md5':
    case 'sha1': {
      const [algorithm, salt, hex] = parts
      if (parts.length !== 3) return false
      return sameText(hexDigest(algorithm as 'md5' | 'sha1', salt! + password), hex!.toLowerCase())
    }
    case 'unsalted_md5': {
      const hex = stored.startsWith('md5$$') ? stored.slice(5) : stored
      return sameText(hexDigest('md5', password), hex.toLowerCase())
    }
    case 'unsalted_sha1':
      return sameText(hexDigest('sha1', password), stored.slice(6).toLowerCase())
    default:
      return false
  }
}
