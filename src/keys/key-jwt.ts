import { fastifyJwt, type JWT } from '@fastify/jwt'
import Fastify from 'fastify'

/** iss / aud rules: written into every token we sign, and required of every token presented. */
export interface ClaimRules {
  issuer?: string
  audience?: string
}

export interface KeyJwtOptions extends ClaimRules {
  /** The key's one algorithm: the only one it signs with, the only one it accepts. */
  alg: string
  /** The HMAC secret, or the public key as SPKI PEM. */
  verifyKey: string
  /** The HMAC secret, or the private key as PKCS#8 PEM; none for a key that only verifies. */
  signKey?: string
  /** The `kid` its tokens carry; none for SimpleJWT's HMAC key (its header names none). */
  kid?: string
}

/**
 * One key of a ring as its own @fastify/jwt instance: `sign` and `verify` are the plugin's, with
 * the key static, so the plugin builds its signer and verifier once. A ring of keys cannot be one
 * registration: the plugin's `sign(payload, { key, kid })` and `verify(token, { key })` build a new
 * signer or verifier on every call (a PEM key is parsed again each time: ~0.3-1 ms), and a secret
 * function is honoured only by `request.jwtVerify()` / `reply.jwtSign()`. The host is a bare
 * Fastify instance, never started: the plugin only decorates it.
 */
export function keyJwt(options: KeyJwtOptions): JWT {
  const { alg, verifyKey, signKey, kid, issuer, audience } = options
  const host = Fastify()
  let failed: Error | undefined
  fastifyJwt(
    host,
    {
      secret: signKey ? { private: signKey, public: verifyKey } : { public: verifyKey },
      sign: {
        algorithm: alg as 'HS256',
        ...(kid !== undefined && { kid }),
        ...(issuer && { iss: issuer }),
        ...(audience && { aud: audience }),
      },
      verify: verifyOptions([alg], options),
    },
    (err) => {
      failed = err
    },
  )
  if (failed) throw failed
  return host.jwt
}

/**
 * What a token must satisfy besides its signature: the key's algorithm (the kit's secret function
 * pins each key's own), and iss / aud when the rules name them. fast-jwt checks iss and aud only
 * when a token has them: requiredClaims makes them mandatory. No cache: ours, in front
 * (src/keys/verifiers.ts), is cheaper to consult.
 */
export function verifyOptions(algorithms: readonly string[], { issuer, audience }: ClaimRules) {
  return {
    algorithms: [...algorithms] as 'HS256'[],
    requiredClaims: [...(issuer ? ['iss'] : []), ...(audience ? ['aud'] : [])],
    ...(issuer && { allowedIss: issuer }),
    ...(audience && { allowedAud: audience }),
    cache: false,
  }
}
