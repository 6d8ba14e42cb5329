import cors from '@fastify/cors'
import fp from 'fastify-plugin'
import type { Config } from '../../src/config/index.js'

/**
 * CORS for the configured origins only, and headers that keep tokens out of caches (and, behind
 * TLS, browsers on HTTPS). Guesses at passwords are limited per account by src/throttle.ts.
 */
export default fp<{ config: Pick<Config, 'corsOrigins' | 'hstsMaxAge'> }>(
  async (app, { config }) => {
    await app.register(cors, {
      origin: config.corsOrigins.length ? config.corsOrigins : false,
      credentials: false,
      strictPreflight: false,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    })
    const hsts = config.hstsMaxAge > 0 ? `max-age=${config.hstsMaxAge}; includeSubDomains` : undefined
    // Set before the handler (which may override cache-control), in a callback hook: no promise per request.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('x-content-type-options', 'nosniff')
      reply.header('cache-control', 'no-store')
      if (hsts) reply.header('strict-transport-security', hsts)
      done()
    })
  },
  { name: 'security' },
)
