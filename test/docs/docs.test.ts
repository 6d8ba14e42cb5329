import t from 'tap'
import { paths } from '../../routes/paths.js'
import { makeApp } from '../helpers/backends.js'

// The document is built from the routes alone, so one backend is enough.
t.test('OpenAPI document, Swagger UI and ReDoc', async (t) => {
  const h = await makeApp(t, 'embedded')
  const res = await h.request({ method: 'GET', url: '/api/v1/schema/' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  t.match(doc.openapi, /^3\./, 'an OpenAPI 3 document')
  t.same(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })

  const listed = Object.keys(doc.paths)
  for (const url of Object.values(paths).flat()) t.ok(listed.includes(url), `${url} is documented`)
  for (const url of [
    '/api/v1/auth/users/',
    '/api/v1/auth/users/{id}/',
    '/api/v1/auth/users/me/password/',
    '/api/v1/auth/sessions/',
    '/api/v1/auth/sessions/{id}/',
    '/api/v1/auth/sessions/{id}/revoke/',
    '/api/v1/auth/sessions/revoke_all/',
    '/api/v1/auth/admin/sessions/',
    '/api/v1/auth/admin/sessions/{id}/revoke/',
    '/api/v1/auth/admin/invalidate-all-tokens/',
    '/admin/invalidate-all-tokens/',
    '/health/live',
    '/health/ready',
  ]) {
    t.ok(listed.includes(url), `${url} is documented`)
  }

  const login = doc.paths['/api/v1/auth/token/'].post
  t.same(
    login.requestBody.content['application/json'].schema.oneOf.map((s: { required: string[] }) => s.required),
    [
      ['username', 'password'],
      ['email', 'password'],
      ['login', 'password'],
    ],
    'login names the account by username, email or login',
  )
  t.ok(login.responses['200'], 'login documents its 200 body')
  t.ok(login.responses['401'], 'and its 401 body')
  t.same(
    doc.paths['/api/v1/auth/users/me/'].get.security,
    [{ bearerAuth: [] }],
    'protected routes name the scheme',
  )

  const ui = await h.request({ method: 'GET', url: '/api/v1/schema/swagger-ui/' })
  t.equal(ui.statusCode, 200)
  t.match(ui.headers['content-type'], /text\/html/)
  const redoc = await h.request({ method: 'GET', url: '/api/v1/schema/redoc/' })
  t.equal(redoc.statusCode, 200)
  t.match(redoc.body, '<redoc spec-url="/api/v1/schema/">')
  const bundle = await h.request({ method: 'GET', url: '/api/v1/schema/redoc/redoc.standalone.js' })
  t.equal(bundle.statusCode, 200, 'ReDoc is served locally, no CDN needed')
  t.ok(bundle.body.length > 100_000)
})

t.test('OPTIONS describes an endpoint, as DRF does', async (t) => {
  const h = await makeApp(t, 'embedded')
  const res = await h.request({ method: 'OPTIONS', url: '/api/token/' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { name: /Log in/, parses: ['application/json', 'application/x-www-form-urlencoded'] })
  t.match(res.headers.allow, /POST/)
  const missing = await h.request({ method: 'OPTIONS', url: '/api/nope/' })
  t.equal(missing.statusCode, 404)
})
