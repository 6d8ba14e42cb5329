import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { ApiError, errors } from '../src/http/errors.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * GET /metrics on the service port, only when METRICS_TOKEN is set, for `Authorization: Bearer
 * <token>`. Without the setting the path is unknown (404) like any other; it is never in the
 * OpenAPI document. (METRICS_PORT serves the same text on a port of its own: src/metrics/server.ts.)
 */
const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { metrics } = app
  const token = app.config.metricsToken
  if (!metrics || token === undefined) return
  // Digests compared in constant time: neither the token nor its length leaks through timing.
  const expected = digest(token)
  const check = async (request: FastifyRequest) => {
    const header = request.headers.authorization
    if (!header) throw errors.notAuthenticated()
    const [scheme, presented, extra] = header.split(' ')
    if (scheme?.toLowerCase() !== 'bearer' || !presented || extra !== undefined) {
      throw errors.badAuthorizationHeader()
    }
    if (!timingSafeEqual(digest(presented), expected)) {
      throw new ApiError(401, 'Invalid metrics token.', 'authentication_failed')
    }
  }
  app.get(
    '/metrics',
    { schema: { hide: true }, config: { throttle: false }, onRequest: check },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  )
}

export default metricsRoutes
