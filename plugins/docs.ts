import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'

const require = createRequire(import.meta.url)
const SCHEMA = '/api/v1/schema/'

const redocPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Auth service API - ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="${SCHEMA}"></redoc><script src="${SCHEMA}redoc/redoc.standalone.js"></script></body></html>`

// The documentation pages run only their own scripts, load nothing from other sites (ReDoc's
// footer logo from its CDN stays blocked), and no other site may frame them (clickjacking).
// Both UIs write styles at run time, and ReDoc searches in a worker it starts from a blob: inline
// styles and blob workers are allowed, inline scripts are not.
const common = [
  "style-src 'self' 'unsafe-inline'",
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
]
const SWAGGER_CSP = common.join('; ')
const REDOC_CSP = [...common, "worker-src 'self' blob:"].join('; ')

/**
 * What every operation of the document needs and a route need not repeat: an operationId, unique
 * because the path is (aliases included: `post_api_token` beside `post_api_v1_auth_token`), and
 * its security, a bearer token for routes declared `protected` and explicitly none otherwise.
 */
function withOperationDefaults(
  schema: FastifySchema & { operationId?: string; security?: unknown },
  url: string,
  route: RouteOptions,
) {
  const method = String(Array.isArray(route.method) ? route.method[0] : route.method).toLowerCase()
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/^:/, 'by_').replace(/\W+/g, '_'))
  return {
    ...schema,
    operationId: schema.operationId ?? [method, ...words].join('_'),
    security: schema.security ?? (route.config?.protected === true ? [{ bearerAuth: [] }] : []),
  }
}

/** The OpenAPI 3 document (built from the routes' TypeBox schemas), Swagger UI and ReDoc. */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Auth service API',
          description:
            'Issues, refreshes, verifies and revokes JWTs (SimpleJWT wire format) and tracks every login as a device session. Revocation takes effect on the next request.',
          version: '1.0.0',
          license: { name: 'Proprietary' },
        },
        // Relative: the document describes whichever host serves it.
        servers: [{ url: '/', description: 'This server' }],
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            // INTROSPECTION_CLIENTS: services calling introspection and revocation.
            clientBasic: { type: 'http', scheme: 'basic' },
          },
        },
        tags: [
          { name: 'tokens', description: 'Login, refresh, verify, blacklist, logout' },
          { name: 'users', description: 'Users and the current user' },
          { name: 'sessions', description: 'Device sessions' },
          { name: 'admin', description: 'Operator actions' },
          { name: 'health', description: 'Liveness and readiness' },
          { name: 'discovery', description: 'Keys and endpoints, for the services behind us' },
        ],
      },
      transform: ({ schema, url, route }) => ({ schema: withOperationDefaults(schema, url, route), url }),
    })
    await app.register(swaggerUi, { routePrefix: `${SCHEMA}swagger-ui`, staticCSP: SWAGGER_CSP })

    const docRoute = { schema: { hide: true } }
    app.get(SCHEMA, docRoute, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send(app.swagger()),
    )
    app.get(`${SCHEMA}redoc/`, docRoute, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', REDOC_CSP)
        .header('x-frame-options', 'DENY')
        .send(redocPage),
    )
    const redocBundle = require.resolve('redoc/bundles/redoc.standalone.js')
    let bundle: Buffer | undefined
    app.get(`${SCHEMA}redoc/redoc.standalone.js`, docRoute, async (_request, reply) => {
      bundle ??= readFileSync(redocBundle)
      return reply
        .type('application/javascript')
        .header('cache-control', 'public, max-age=86400')
        .send(bundle)
    })
  },
  { name: 'docs' },
)
