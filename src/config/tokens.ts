import { readFileSync } from 'node:fs'
import type { Reader } from './read.js'
import type { NodeEnv } from './server.js'

/** The signing algorithms JWT_ALGORITHM may name; src/keys/ implements each. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export const KEY_PAIR_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const
export const JWT_ALGORITHMS = [...HMAC_ALGORITHMS, ...KEY_PAIR_ALGORITHMS] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]
export type KeyPairAlgorithm = (typeof KEY_PAIR_ALGORITHMS)[number]

export function isKeyPairAlgorithm(alg: string): alg is KeyPairAlgorithm {
  return (KEY_PAIR_ALGORITHMS as readonly string[]).includes(alg)
}

/** What tokens say and how long they live, the keys that sign them, and who may introspect them. */
export interface TokensConfig {
  /**
   * The HMAC secret. With an HMAC algorithm it signs; with a key pair it only verifies tokens that
   * name no key (SimpleJWT's, while moving off it), and only when SIGNING_KEY is set: else ''.
   * '' with an HMAC algorithm too until src/keys/development.ts generates one (outside production).
   */
  signingKey: string
  jwtAlgorithm: JwtAlgorithm
  /**
   * The PEM private key for RS256, ES256 or EdDSA; undefined with an HMAC algorithm, and until
   * src/keys/development.ts generates one (outside production).
   */
  privateKey: string | undefined
  /**
   * Encrypts the private keys and secrets that `rotate-key` keeps in the database; undefined until
   * set (production) or generated into DATA_DIR (elsewhere, src/keys/development.ts) when first needed.
   */
  keyEncryptionKey: string | undefined
  /** How often each instance reads the key set, so a rotation reaches it without a restart. */
  keysPollSeconds: number
  /** `iss` written into every token and required of every token presented; undefined: neither. */
  jwtIssuer: string | undefined
  /** `aud`, likewise. */
  jwtAudience: string | undefined
  /** Services that may introspect and revoke tokens with HTTP Basic: id -> secret. */
  introspectionClients: Record<string, string>
  accessTokenLifetime: number
  refreshTokenLifetime: number
  /**
   * Until when (ms since the epoch) a token SimpleJWT issued (it names no session) is accepted;
   * undefined: never. Set while moving off SimpleJWT, with SIGNING_KEY set to Django's key.
   */
  legacyTokensUntil: number | undefined
}

/** `given`: keys the caller supplies itself (tests, benches), so none is required of the environment. */
export function readTokens(read: Reader, env: NodeEnv, given: { privateKey?: string } = {}): TokensConfig {
  const tokens: TokensConfig = {
    signingKey: '',
    jwtAlgorithm: read.choice('JWT_ALGORITHM', 'HS256', JWT_ALGORITHMS),
    privateKey: undefined,
    keyEncryptionKey: read.text('KEY_ENCRYPTION_KEY'),
    keysPollSeconds: read.int('KEYS_POLL_SECONDS', 10, 1, 3600),
    jwtIssuer: read.env.JWT_ISSUER?.trim() || undefined,
    jwtAudience: read.env.JWT_AUDIENCE?.trim() || undefined,
    introspectionClients: readClients(read, 'INTROSPECTION_CLIENTS'),
    accessTokenLifetime: read.int('ACCESS_TOKEN_LIFETIME', 900, 1, 31 * 86400),
    refreshTokenLifetime: read.int('REFRESH_TOKEN_LIFETIME', 7 * 86400, 1, 365 * 86400),
    legacyTokensUntil: readTime(read, 'LEGACY_TOKENS_UNTIL'),
  }
  const production = env === 'production'
  // Two-factor secrets and rotated keys are sealed with it: without it production would start,
  // then answer 503 mfa_unavailable to every user who tries two-factor.
  if (production && tokens.keyEncryptionKey === undefined) {
    read.problem(
      'KEY_ENCRYPTION_KEY: required when NODE_ENV=production (it seals the two-factor secrets and rotated signing keys; the same on every instance), at least 32 bytes, e.g. `openssl rand -hex 32`.',
    )
  }
  if (tokens.refreshTokenLifetime < tokens.accessTokenLifetime) {
    read.problem('REFRESH_TOKEN_LIFETIME: must not be shorter than ACCESS_TOKEN_LIFETIME.')
  }

  const keyPair = isKeyPairAlgorithm(tokens.jwtAlgorithm)
  const key = read.env.SIGNING_KEY
  if (key !== undefined && key !== '') {
    if (Buffer.byteLength(key) < 32) read.problem('SIGNING_KEY: must be at least 32 bytes long.')
    tokens.signingKey = key
  } else if (production && !keyPair) {
    read.problem(
      'SIGNING_KEY: required when NODE_ENV=production (at least 32 bytes, e.g. `openssl rand -hex 32`).',
    )
  }
  if (tokens.keyEncryptionKey !== undefined && Buffer.byteLength(tokens.keyEncryptionKey) < 32) {
    read.problem('KEY_ENCRYPTION_KEY: must be at least 32 bytes long.')
  }
  if (keyPair) tokens.privateKey = readPrivateKey(read)
  if (keyPair && !tokens.privateKey && production && !given.privateKey) {
    read.problem(
      `JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE: required for ${tokens.jwtAlgorithm} when NODE_ENV=production (a PEM private key).`,
    )
  }
  return tokens
}

/** JWT_PRIVATE_KEY (the PEM itself) or JWT_PRIVATE_KEY_FILE (its path); the key is checked by the keyring. */
function readPrivateKey(read: Reader): string | undefined {
  const { JWT_PRIVATE_KEY: pem, JWT_PRIVATE_KEY_FILE: file } = read.env
  if (pem && file) {
    read.problem('JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE: set one of them, not both.')
    return undefined
  }
  if (pem) return pem.replaceAll('\\n', '\n').trim()
  if (!file) return undefined
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    read.problem(`JWT_PRIVATE_KEY_FILE: cannot read it (${(err as NodeJS.ErrnoException).code}).`)
    return undefined
  }
}

/** A moment written as ISO 8601 with its offset (2027-01-31T18:00:00Z), in ms since the epoch. */
function readTime(read: Reader, name: string): number | undefined {
  const raw = read.env[name]?.trim()
  if (!raw) return undefined
  const ms = Date.parse(raw)
  // Date.parse rolls 2027-02-30 over into March instead of refusing it.
  const [year, month, day] = raw.slice(0, 10).split('-').map(Number) as [number, number, number]
  const realDay = day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (
    !realDay ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ||
    Number.isNaN(ms)
  ) {
    read.problem(`${name}: expected a time such as 2027-01-31T18:00:00Z (with its offset), got "${raw}".`)
    return undefined
  }
  return ms
}

/** `id:secret` pairs, comma-separated; each secret at least 32 characters. Never echoed. */
function readClients(read: Reader, name: string): Record<string, string> {
  const raw = read.env[name]?.trim()
  const clients: Record<string, string> = {}
  if (!raw) return clients
  for (const [i, entry] of raw.split(',').entries()) {
    const colon = entry.indexOf(':')
    const id = entry.slice(0, colon).trim()
    const secret = entry.slice(colon + 1).trim()
    if (colon < 1 || !/^[A-Za-z0-9._~-]+$/.test(id) || secret.length < 32) {
      read.problem(
        `${name}: entry ${i + 1} must be id:secret (id of letters, digits, . _ ~ -; secret of at least 32 characters).`,
      )
      continue
    }
    clients[id] = secret
  }
  return clients
}
