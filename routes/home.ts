import type { FastifyPluginAsync } from 'fastify'
import { V1 } from './paths.js'

// What a person opening the service's address finds: where to go next, nothing more.
const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>authjwt</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>authjwt</h1>
<p>A JWT authentication service. Log in with <code>POST ${V1}/token/</code>.</p>
<ul>
<li><a href="/admin/">Admin console</a> (staff)</li>
<li><a href="/api/v1/schema/swagger-ui/">API reference</a> (Swagger UI), also as <a href="/api/v1/schema/redoc/">ReDoc</a> and <a href="/api/v1/schema/">OpenAPI</a></li>
<li><a href="/.well-known/openid-configuration">Discovery document</a> and <a href="/.well-known/jwks.json">JWKS</a></li>
<li><a href="/health/ready">Health</a></li>
</ul>
</body></html>
`

/** GET /: a small page of links to what the service offers, instead of a 404. */
const homeRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      )
      .header('x-frame-options', 'DENY')
      .send(page),
  )
}

export default homeRoutes
