import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto'
import type { JwtAlgorithm, KeyPairAlgorithm } from '../config/tokens.js'

/** A public key as JWKS publishes it (RFC 7517), with the fields a verifier needs to pin it. */
export interface PublicJwk {
  kty: string
  kid: string
  alg: string
  use: 'sig'
  [field: string]: unknown
}

/** The key type (and curve) each algorithm must be given: the key decides, never a token. */
const KEY_TYPES: Record<KeyPairAlgorithm, { type: string; curve?: string }> = {
  RS256: { type: 'rsa' },
  ES256: { type: 'ec', curve: 'prime256v1' },
  EdDSA: { type: 'ed25519' },
}

/** A new private key for the algorithm, as PKCS#8 PEM. */
export function generatePrivateKey(alg: KeyPairAlgorithm): string {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519')
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/**
 * The private key if it is one the algorithm uses (RSA of 2048 bits or more, P-256, Ed25519);
 * throws a sentence naming what is wrong, never the key.
 */
export function checkedPrivateKey(alg: KeyPairAlgorithm, pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch {
    throw new Error(`the ${alg} private key is not a readable PEM private key`)
  }
  const want = KEY_TYPES[alg]
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType !== want.type || (want.curve && details.namedCurve !== want.curve)) {
    throw new Error(`the private key is ${key.asymmetricKeyType ?? 'unknown'}, not a key for ${alg}`)
  }
  if (alg === 'RS256' && (details.modulusLength ?? 0) < 2048) {
    throw new Error('the RS256 private key must have at least 2048 bits')
  }
  return key
}

/** The public half as SPKI PEM (what fast-jwt verifies with) and as a JWK named by its RFC 7638 thumbprint. */
export function publicParts(alg: KeyPairAlgorithm, privateKey: KeyObject, kid?: string) {
  const publicKey = createPublicKey(privateKey)
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { ...jwk, kid: kid ?? thumbprint(jwk), alg, use: 'sig' } as PublicJwk,
  }
}

/** RFC 7638: the SHA-256 of the key's required members in lexicographic order. */
export function thumbprint(jwk: Record<string, string>): string {
  const required: Record<string, string[]> = {
    RSA: ['e', 'kty', 'n'],
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
  }
  const members = required[jwk.kty] ?? []
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])))
  return createHash('sha256').update(canonical).digest('base64url')
}

/** The SPKI PEM of a published JWK, refusing HMAC (`oct`) keys and keys whose type does not fit `alg`. */
export function pemOfJwk(jwk: Record<string, unknown>): { alg: KeyPairAlgorithm; pem: string } {
  const alg = jwk.alg
  if (alg !== 'RS256' && alg !== 'ES256' && alg !== 'EdDSA') throw new Error(`unsupported alg ${String(alg)}`)
  const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  const want = KEY_TYPES[alg]
  if (
    key.asymmetricKeyType !== want.type ||
    (want.curve && key.asymmetricKeyDetails?.namedCurve !== want.curve)
  ) {
    throw new Error(`a ${key.asymmetricKeyType} key cannot be used for ${alg}`)
  }
  return { alg, pem: key.export({ type: 'spki', format: 'pem' }).toString() }
}

export function isHmac(alg: JwtAlgorithm): alg is 'HS256' | 'HS384' | 'HS512' {
  return alg.startsWith('HS')
}
