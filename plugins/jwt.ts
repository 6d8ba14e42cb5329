import jwt from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import fp from 'fastify-plugin'
import { canonical, type TokenCodec } from '../src/tokens/codec.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Signs and verifies our tokens with the configured key and algorithm only. */
    tokenCodec: TokenCodec
  }
}

/**
 * @fastify/jwt (fast-jwt underneath) with the algorithm pinned from configuration: a token's own
 * header never chooses it, so `alg: none`, other HMAC sizes and foreign keys all fail.
 */
export default fp(
  async (app) => {
    const { signingKey, jwtAlgorithm, jwtIssuer, jwtAudience } = app.config
    // JWT_ISSUER / JWT_AUDIENCE: written into every token, and then required of every token.
    const issued = { ...(jwtIssuer && { iss: jwtIssuer }), ...(jwtAudience && { aud: jwtAudience }) }
    // fast-jwt checks iss and aud only when a token has them: requiredClaims makes them mandatory.
    const required = {
      requiredClaims: [...(jwtIssuer ? ['iss'] : []), ...(jwtAudience ? ['aud'] : [])],
      ...(jwtIssuer && { allowedIss: jwtIssuer }),
      ...(jwtAudience && { allowedAud: jwtAudience }),
    }
    await app.register(jwt, {
      secret: signingKey,
      sign: { algorithm: jwtAlgorithm, ...issued },
      // Verified tokens are cached by fast-jwt (keyed on the whole token; exp still enforced).
      verify: { algorithms: [jwtAlgorithm], cache: 10_000, ...required },
    })
    // Refresh tokens are presented once (rotation), so caching them costs two hashes of the token
    // and an LRU eviction per request and never hits. Same key and pinned algorithm, no cache.
    const verifyOnce = createVerifier({
      key: signingKey,
      algorithms: [jwtAlgorithm],
      cache: false,
      ...required,
    })
    const codec: TokenCodec = {
      sign: (claims) => app.jwt.sign(claims as unknown as Record<string, unknown>),
      verify: (token) => app.jwt.verify<Record<string, unknown>>(canonical(token)),
      verifyUncached: (token) => verifyOnce(canonical(token)) as Record<string, unknown>,
      legacyUntilMs: app.config.legacyTokensUntil,
    }
    app.decorate('tokenCodec', codec)
  },
  { name: 'jwt', dependencies: ['config'] },
)
