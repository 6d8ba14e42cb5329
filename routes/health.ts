import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Health, unreadableRequest } from '../schema/wire.js'

/** Liveness answers from the process alone; readiness asks the database and the revocation store. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Load balancers' probes: never throttled.
  app.get('/health/live', {
    config: { throttle: false },
    schema: { tags: ['health'], summary: 'Liveness', response: { 200: Health, ...unreadableRequest } },
    handler: async () => ({ status: 'ok' }),
  })

  app.get('/health/ready', {
    config: { throttle: false },
    schema: {
      tags: ['health'],
      summary: 'Readiness: database and revocation store',
      response: { 200: Health, 503: Health, ...unreadableRequest },
    },
    handler: async (request, reply) => {
      const [database, store] = await Promise.all([
        app.database.ping().then(
          () => 'ok',
          (err) => {
            request.log.warn({ err }, 'database not ready')
            return 'unavailable'
          },
        ),
        app.revocationStore.ping().then(
          () => 'ok',
          (err) => {
            request.log.warn({ err }, 'revocation store not ready')
            return 'unavailable'
          },
        ),
      ])
      const ready = database === 'ok' && store === 'ok'
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', database, revocation_store: store })
    },
  })
}

export default healthRoutes
