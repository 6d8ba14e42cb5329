import type { FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../src/tokens/claims.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Sets request.principal from the Bearer token, or answers 401/503 (src/auth/authenticate.ts). */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyContextConfig {
    /** The route needs a Bearer access token: authenticated before anything else runs. */
    protected?: boolean
  }
}

/**
 * Protection is declared once per route, as `config: { protected: true }`: this plugin's onRoute
 * hook puts authentication first among the route's onRequest hooks (the pattern of Fastify's
 * Plugins Guide), so no route can declare it and forget the hook.
 */
export default fp(
  async (app) => {
    app.decorateRequest('principal', null)
    const authenticate = async (request: FastifyRequest) => {
      request.principal = await app.authenticator.authenticate(request.headers.authorization)
    }
    app.decorate('authenticate', authenticate)
    app.addHook('onRoute', (route) => {
      if (route.config?.protected === true) runFirst(route, authenticate)
    })
  },
  { name: 'authenticate', dependencies: ['services'] },
)

/** The caller of a protected route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`${request.routeOptions.url} is not declared protected`)
  return request.principal
}

/** Puts `hook` before the route's own onRequest hooks, as an onRoute hook sees the route. */
export function runFirst(route: RouteOptions, hook: onRequestAsyncHookHandler): void {
  const own = route.onRequest ? (Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]) : []
  route.onRequest = [hook, ...own]
}
