import { createHmac } from 'node:crypto'

const HMAC_HASHES: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

/**
 * A JWT signed by hand with node:crypto, as an attacker or a foreign backend would make one: the
 * header's `alg` picks the HMAC (`none` leaves the signature empty), whatever the service expects.
 */
export function craftToken(
  payload: Record<string, unknown>,
  key: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const signingInput = `${part(header)}.${part(payload)}`
  const hash = HMAC_HASHES[String(header.alg)]
  const signature = hash ? createHmac(hash, key).update(signingInput).digest('base64url') : ''
  return `${signingInput}.${signature}`
}

/** A JWT's header and payload as sent, without verifying anything. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
} {
  const [header, payload] = token.split('.')
  const parse = (s: string | undefined) => JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8'))
  return { header: parse(header), payload: parse(payload) }
}

/**
 * Claims of an access token for `userId` as a foreign signer would write them (SimpleJWT's, no
 * session), valid for ten minutes, with `extra` on top; `without` leaves one out.
 */
export function accessClaims(
  userId: number,
  extra: Record<string, unknown> = {},
  without?: string,
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    token_type: 'access',
    exp: now + 600,
    iat: now,
    jti: 'a'.repeat(32),
    user_id: userId,
    ...extra,
  }
  if (without) delete claims[without]
  return claims
}
