import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { RedisRevocationStore } from '../src/stores/redis-store.js'
import './types.js'

/**
 * CORS for the configured origins only, rate limits that routes opt into (credential endpoints),
 * counted in Redis when there is one so that every instance shares the count, and headers that
 * keep tokens out of caches.
 */
export default fp(
  async (app) => {
    const { config } = app
    await app.register(cors, {
      origin: config.corsOrigins.length ? config.corsOrigins : false,
      credentials: false,
      strictPreflight: false,
      allowedHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    })
    const store = app.revocationStore
    await app.register(rateLimit, {
      global: false,
      redis: store instanceof RedisRevocationStore ? store.client : undefined,
      nameSpace: `${config.redisPrefix}rl:`,
      skipOnError: false,
      errorResponseBuilder: (_request, context) => {
        const seconds = Math.max(1, Math.ceil(context.ttl / 1000))
        const err = new Error(`Request was throttled. Expected available in ${seconds} seconds.`) as Error & {
          statusCode: number
        }
        err.statusCode = 429
        return err
      },
    })
    // Set before the handler (which may override cache-control), in a callback hook: no promise per request.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('x-content-type-options', 'nosniff')
      reply.header('cache-control', 'no-store')
      done()
    })
  },
  { name: 'security', dependencies: ['config', 'revocation-store'] },
)
