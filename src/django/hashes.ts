import { createHash, pbkdf2, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { verify as argon2Verify } from '@node-rs/argon2'
import { verify as bcryptVerify } from '@node-rs/bcrypt'
import { hashFormat } from './hash-format.js'
import { hashProblem } from './hash-limits.js'

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: string,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>

export { type HashFormat, hashFormat, LEGACY_FORMATS } from './hash-format.js'

/** Equal strings, in time that depends on their length only. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const hexDigest = (algorithm: 'md5' | 'sha1' | 'sha256', text: string) =>
  createHash(algorithm).update(text).digest('hex')

/**
 * Whether `password` matches a hash Django wrote. False for a malformed value, one beyond the
 * bounds of src/django/hash-limits.ts (never hashed), an unusable password and a format we do not know. The costly formats run on libuv's thread pool (node's
 * crypto, @node-rs/argon2, @node-rs/bcrypt), never on the event loop; the legacy digests cost
 * microseconds.
 */
export async function verifyDjangoHash(stored: string, password: string): Promise<boolean> {
  if (hashProblem(stored) !== undefined) return false
  const parts = stored.split('$')
  switch (hashFormat(stored)) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1': {
      const [algorithm, iterations, salt, encoded] = parts
      const digest = algorithm === 'pbkdf2_sha256' ? 'sha256' : 'sha1'
      const expected = Buffer.from(encoded!, 'base64')
      const derived = await pbkdf2Async(password, salt!, Number(iterations), expected.length, digest)
      return timingSafeEqual(derived, expected)
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
      // Django's defaults need 16 MiB; the bounds keep 128·N·r within 128 MiB.
      const maxmem = 256 * 1024 * 1024
      const expected = Buffer.from(encoded!, 'base64')
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
