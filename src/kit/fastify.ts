import { fastifyJwt, type TokenOrHeader } from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Authenticator, bearerToken } from '../auth/authenticate.js'
import { ApiError, errors, messages } from '../http/errors.js'
import { KEY_PAIR_ALGORITHMS } from '../config/tokens.js'
import { verifyOptions } from '../keys/key-jwt.js'
import { ClusterRevocationReader } from '../revocation/cluster-reader.js'
import { RedisRevocationStore } from '../revocation/redis-store.js'
import { clusterConnection } from '../revocation/redis-target.js'
import { type RevocationStore, StoreUnavailableError } from '../revocation/store.js'
import type { Principal } from '../tokens/claims.js'
import { canonical } from '../tokens/codec.js'
import { JwksKeys } from './jwks-keys.js'
import { guardRoutes } from './routes.js'

export interface AuthjwtOptions {
  /** Our JWKS, e.g. `https://auth.example.com/.well-known/jwks.json`. */
  jwksUrl: string
  /**
   * The Redis our service writes revocations to (its REDIS_URL), for instant logout here too; and
   * its REDIS_PREFIX when not the default. `false`: no revocation check (tokens live until exp).
   */
  redisUrl: string | false
  redisPrefix?: string
  /**
   * Its REDIS_CLUSTER_NODES when it runs on a Redis Cluster: the nodes to reach it through;
   * `redisUrl` then gives only credentials and TLS, as on our side.
   */
  redisClusterNodes?: { host: string; port: number }[]
  /** Required of every token when set, as on our side (JWT_ISSUER, JWT_AUDIENCE). */
  issuer?: string
  audience?: string
  /** How often the key set is fetched again (default 300 s); an unknown kid fetches it at once. */
  refreshSeconds?: number
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** `request.user`: the claims of our access token, once `request.jwtVerify()` or the kit's check passed. */
    user: Principal
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified, unrevoked access token's claims on routes with `config: { authjwt: true }`. */
    principal: Principal | null
  }
  interface FastifyContextConfig {
    /** Require our access token on this route. */
    authjwt?: boolean
  }
  interface FastifyInstance {
    /** The same check as a preHandler, for routes that wire it by hand. */
    authjwt: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/**
 * The resource-server kit: verifies our access tokens locally with our published keys, then asks
 * the same Redis the same single MGET our service asks, so a logout there is refused here at the
 * next request. Answers exactly as our service does (SimpleJWT's 401 bodies, `token_revoked`, 503
 * while Redis cannot vouch for the deny-list).
 */
async function authjwt(app: FastifyInstance, options: AuthjwtOptions): Promise<void> {
  if (options.redisUrl === undefined) {
    throw new Error('authjwt: give redisUrl (instant revocation) or redisUrl: false (tokens live until exp)')
  }
  if (app.hasDecorator('jwt')) {
    throw new Error(
      'authjwt: @fastify/jwt is registered on this app already, and the kit registers it over our keys: remove ' +
        'that registration (request.jwtVerify() and request.user then come from the kit)',
    )
  }
  const keys = new JwksKeys(options)
  await keys.start()
  let store: RevocationStore = allowEverything
  if (options.redisUrl !== false) {
    // A reader: it never rebuilds the deny-list (our service does), and fails closed while the
    // completeness mark our service sets is missing (on a cluster: or written on another node).
    const cluster = clusterConnection({
      redisUrl: options.redisUrl,
      redisSentinels: undefined,
      redisSentinelMaster: undefined,
      redisSentinelPassword: undefined,
      redisClusterNodes: options.redisClusterNodes,
    })
    if (!cluster && !options.redisUrl)
      throw new Error('authjwt: redisUrl is empty (redisUrl: false turns revocation off)')
    const redis = cluster
      ? new ClusterRevocationReader(cluster.nodes, { ...cluster, prefix: options.redisPrefix })
      : new RedisRevocationStore(options.redisUrl, { prefix: options.redisPrefix })
    await redis.connect()
    store = redis
  }
  const authenticator = new Authenticator({ codec: keys, store })
  app.addHook('onClose', async () => {
    keys.stop()
    await store.close()
  })

  // @fastify/jwt on the team's app, over the same keys and checks: `request.jwtVerify()` verifies
  // with the key the token's kid names (the secret function; the plugin keeps one verifier per
  // key), then `trusted` runs SimpleJWT's claim checks and our one revocation lookup.
  await app.register(fastifyJwt, {
    secret: { public: (_request: FastifyRequest, token: TokenOrHeader) => keyOf(keys, token) },
    // The secret function needs the header (kid, alg): the plugin hands it the decoded token whole.
    decode: { complete: true },
    verify: verifyOptions(KEY_PAIR_ALGORITHMS, options),
    trusted: async (request, payload) => {
      try {
        request.principal = await authenticator.admit(payload)
      } catch (err) {
        throw err instanceof StoreUnavailableError ? errors.unavailable() : err
      }
      return true
    },
  })

  const check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization
    try {
      const token = bearerToken(header)
      if (token) await keys.ensureKeyFor(token)
      request.principal = await authenticator.authenticate(header)
      request.user = request.principal
    } catch (err) {
      const answer = err instanceof StoreUnavailableError ? errors.unavailable() : err
      if (!(answer instanceof ApiError)) throw err
      reply.code(answer.statusCode).headers(answer.headers).send(answer.body())
      return reply
    }
  }
  app.decorateRequest('principal', null)
  app.decorate('authjwt', check)
  if (!guardRoutes(app, check)) {
    app.log.warn(
      'authjwt: this Fastify instance was created before authjwt/fastify was loaded, so routes added before the ' +
        'kit are not checked: import authjwt/fastify before calling Fastify()',
    )
  }
}

/**
 * The key for `request.jwtVerify()`: the one the header's kid names, for the header's alg only. A
 * token naming none we hold is refused with SimpleJWT's 401 sentence, as the kit's check refuses it.
 */
async function keyOf(keys: JwksKeys, token: TokenOrHeader): Promise<string> {
  try {
    // One spelling per signature, as the kit's check (and its cache) accepts: src/tokens/codec.ts.
    canonical(String((token as { signature?: unknown }).signature))
    return await keys.keyFor('header' in token ? token.header : token)
  } catch {
    throw errors.accessTokenNotValid(messages.invalid)
  }
}

/** With revocation off: every verified token stands until its exp. */
const allowEverything: RevocationStore = {
  shared: true,
  lookup: async () => ({ jtiDenied: false, sessionDenied: false, user: null, globalValidAfter: null }),
  denyToken: notHere,
  denySessions: notHere,
  setUserState: notHere,
  setGlobalValidAfter: notHere,
  hit: notHere,
  keepRestored: async () => {},
  ping: async () => {},
  close: async () => {},
}

async function notHere(): Promise<never> {
  throw new Error('a resource server writes no revocation')
}

export default fp(authjwt, { name: 'authjwt', fastify: '5.x' })
export { JwksKeys } from './jwks-keys.js'
