import type { FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { ClientCredentials } from '../../src/auth/client-credentials.js'
import type { Principal } from '../../src/tokens/claims.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Sets request.principal from the Bearer token, or answers 401/503 (src/auth/authenticate.ts). */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    principal: Principal | null
    /** The configured service calling with HTTP Basic, on routes that accept one. */
    client: string | null
  }
  interface FastifyContextConfig {
    /** The route needs a Bearer access token: authenticated before anything else runs. */
    protected?: boolean
    /** A protected route that also takes a configured service's HTTP Basic credentials. */
    clientCredentials?: boolean
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
    app.decorateRequest('client', null)
    const authenticate = async (request: FastifyRequest) => {
      request.principal = await app.authenticator.authenticate(request.headers.authorization)
    }
    const clients = new ClientCredentials(app.config.introspectionClients)
    const authenticateUserOrClient = async (request: FastifyRequest) => {
      const header = request.headers.authorization
      if (clients.configured && header?.startsWith('Basic ')) request.client = clients.check(header)
      else await authenticate(request)
    }
    app.decorate('authenticate', authenticate)
    app.addHook('onRoute', (route) => {
      if (route.config?.protected !== true) return
      runFirst(route, route.config.clientCredentials === true ? authenticateUserOrClient : authenticate)
    })
  },
  { name: 'authenticate', dependencies: ['services'] },
)

/** The caller of a route that takes a user's token or a configured service's credentials. */
export function callerOf(request: FastifyRequest): Principal | { client: string } {
  return request.client !== null ? { client: request.client } : principalOf(request)
}

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
