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
