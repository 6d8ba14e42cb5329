import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import './types.js'

/** Decorates `authenticate`: Bearer access token, signature, claims, then the deny-list. */
export default fp(
  async (app) => {
    app.decorateRequest('principal', null)
    app.decorate('authenticate', async (request: FastifyRequest) => {
      request.principal = await app.auth.authenticate(request.headers.authorization)
    })
  },
  { name: 'authenticate', dependencies: ['services'] },
)
