import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { type OperationExample, operationExamples } from '../../schema/examples.js'

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

type DocumentedSchema = FastifySchema & {
  summary?: string
  description?: string
  tags?: string[]
  'x-alias-of'?: string
  'x-documented-body'?: unknown
}

/**
 * An alias (routes/paths.ts aliasMarks) under the tag `aliases`, named by its path, pointing to its
 * canonical operation; a body the document shows differently from how it is validated. Records each
 * alias so the canonical operation can list them.
 */
function documented(schema: DocumentedSchema, url: string, method: string, aliases: Map<string, string[]>) {
  const { 'x-alias-of': canonical, 'x-documented-body': shownBody, ...rest } = schema
  const out: DocumentedSchema = shownBody ? { ...rest, body: shownBody } : rest
  if (!canonical) return out
  const key = `${method.toUpperCase()} ${canonical}`
  aliases.set(key, [...(aliases.get(key) ?? []), url])
  return {
    ...out,
    tags: ['aliases'],
    summary: `${url} (alias)`,
    description:
      `${schema.summary ?? ''}: the same operation as \`${key}\`, at the path SimpleJWT deployments used. ` +
      'Kept for their clients; new clients use the canonical path.',
  }
}

/** OpenAPI path of a Fastify URL: `/users/:id/` -> `/users/{id}/`. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}')

interface BodySchema {
  properties?: Record<string, unknown>
  required?: string[]
}
interface Media {
  schema?: BodySchema & { oneOf?: BodySchema[] }
  example?: unknown
}
interface Operation {
  description?: string
  deprecated?: boolean
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { content?: Record<string, Media> }>
}

/**
 * The finished document: each operation's example request and answer (schema/examples.ts; an
 * alias shows its canonical operation's), a 400 example naming one of the operation's own fields,
 * and the canonical operations' list of aliases.
 */
function withExamples(
  doc: { paths: Record<string, Record<string, Operation>> },
  aliases: Map<string, string[]>,
) {
  const canonicalOf = new Map<string, string>()
  for (const [key, list] of aliases)
    for (const url of list) canonicalOf.set(`${key.split(' ')[0]} ${url}`, key)
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${path}`
      const canonical = canonicalOf.get(key) ?? key
      const example: OperationExample = operationExamples[canonical] ?? {}
      for (const media of Object.values(op.requestBody?.content ?? {})) {
        if (example.request !== undefined) media.example = example.request
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const media of Object.values(response.content ?? {})) {
          if (status.startsWith('2') && example.response !== undefined) media.example = example.response
          const other = example.errors?.[Number(status)]
          if (other !== undefined) media.example = other
        }
      }
      // A field error about a field this operation reads: its first required one, else its first.
      const shown = Object.values(op.requestBody?.content ?? {})[0]?.schema
      const body = shown?.oneOf?.[0] ?? shown
      const field = body?.required?.[1] ?? body?.required?.[0] ?? Object.keys(body?.properties ?? {})[0]
      const bad = op.responses['400']?.content?.['application/json']
      if (bad && field && !bad.schema?.properties?.detail) {
        bad.example = {
          [field]: [field === 'password' ? 'This field may not be blank.' : 'This field is required.'],
        }
      }
      const listed = aliases.get(key)
      if (listed) {
        op.description = `${op.description ? `${op.description}\n\n` : ''}Also answered at ${listed
          .map((u) => `\`${u}\``)
          .join(', ')} (aliases, for existing SimpleJWT clients).`
      }
    }
  }
  return doc
}

/** The OpenAPI 3 document (built from the routes' TypeBox schemas), Swagger UI and ReDoc. */
export default fp(
  async (app) => {
    // Canonical operation ("POST /api/v1/auth/token/") -> its alias paths, gathered as routes are documented.
    const aliases = new Map<string, string[]>()
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Auth service API',
          description:
            'Issues, refreshes, verifies and revokes JWTs (SimpleJWT wire format) and tracks every login as a device session. Revocation takes effect on the next request.',
          version: '1.0.0',
          license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
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
          {
            name: 'tokens',
            description: 'Login, refresh, verify, blacklist, logout, introspection and revocation',
          },
          { name: 'users', description: 'The current user, and users as staff manage them' },
          {
            name: 'sessions',
            description: 'Device sessions: each login is one, listed and revoked by its user',
          },
          {
            name: 'admin',
            description:
              'Staff and superuser actions: every session, the kill switch, webhooks, the audit trail',
          },
          { name: 'health', description: 'Liveness and readiness, for load balancers and orchestrators' },
          { name: 'discovery', description: 'Keys and endpoints, for the services behind us' },
          {
            name: 'two-factor',
            description:
              'TOTP two-factor authentication: enrolment with an authenticator app, recovery codes, the second login step (POST /api/v1/auth/token/mfa/ after a 401 `mfa_required`), and staff reset. The app shows the account under the issuer JWT_ISSUER, else the host name of PUBLIC_URL.',
          },
          {
            name: 'mail',
            description:
              'Password reset and e-mail verification by mailed link. Answers 404 when mail is off (production without SMTP_URL); outside production mail goes to .eml files in DATA_DIR/outbox/.',
          },
          {
            name: 'aliases',
            description:
              'The paths the SimpleJWT deployments used, answered by the same handlers as the canonical /api/v1/auth/ operations. Deprecated for new clients, kept for existing ones.',
          },
        ],
      },
      transform: ({ schema, url, route }) => ({
        schema: withOperationDefaults(
          documented(
            schema as DocumentedSchema,
            openapiPath(url),
            String(Array.isArray(route.method) ? route.method[0] : route.method),
            aliases,
          ),
          url,
          route,
        ),
        url,
      }),
      transformObject: (documentObject) =>
        'openapiObject' in documentObject
          ? (withExamples(
              documentObject.openapiObject as never,
              aliases,
            ) as typeof documentObject.openapiObject)
          : documentObject.swaggerObject,
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
