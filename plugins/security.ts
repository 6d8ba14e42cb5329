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
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff')
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
      return payload
    })
  },
  { name: 'security', dependencies: ['config', 'revocation-store'] },
)
