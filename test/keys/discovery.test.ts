import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { accessClaims, craftToken, decodeJwt } from '../helpers/tokens.js'

t.test('JWKS and discovery: where the services behind us find keys and endpoints', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { publicUrl: 'https://auth.example.com', trustProxy: 1 })
    for (const url of ['/.well-known/jwks.json', '/api/v1/auth/jwks/']) {
      const res = await app.request({ method: 'GET', url })
      t.equal(res.statusCode, 200, url)
      t.same(res.json(), { keys: [] }, `${url}: HMAC mode publishes no key, and never the secret`)
      t.equal(res.headers['cache-control'], 'public, max-age=60')
      t.notMatch(res.body, app.config.signingKey)
    }
    // Hostile Host and X-Forwarded-Host (from a trusted proxy, which passes them on): the document
    // is cached publicly, so whatever they say must never reach it.
    for (const headers of [
      {},
      { host: 'attacker.example' },
      { host: 'auth.test:8443', 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'http' },
      { 'x-forwarded-host': 'attacker.example:444' },
      { host: 'evil.example/"><script>' },
    ]) {
      const doc = await app.request({ method: 'GET', url: '/.well-known/openid-configuration', headers })
      t.equal(doc.statusCode, 200, JSON.stringify(headers))
      t.match(doc.json(), {
        issuer: 'https://auth.example.com',
        jwks_uri: 'https://auth.example.com/.well-known/jwks.json',
        token_endpoint: 'https://auth.example.com/api/v1/auth/token/',
        introspection_endpoint: 'https://auth.example.com/api/v1/auth/introspect/',
        revocation_endpoint: 'https://auth.example.com/api/v1/auth/revoke/',
        token_signing_alg_values_supported: ['HS256'],
      })
      t.notMatch(doc.body, /attacker|evil|auth\.test|script/, 'nothing of the headers')
    }
  })
})

t.test('JWT_ISSUER and JWT_AUDIENCE: written into every token, required of every token', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { jwtIssuer: 'https://auth.example.com', jwtAudience: 'shop-api' })
    const user = await app.createUser()
    const { access, refresh, session_id } = await app.login(user.username, user.password)
    t.match(decodeJwt(access).payload, { iss: 'https://auth.example.com', aud: 'shop-api' })
    t.match(decodeJwt(refresh).payload, { iss: 'https://auth.example.com', aud: 'shop-api' })
    const me = (token: string) =>
      app.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: app.bearer(token) })
    t.equal((await me(access)).statusCode, 200)
    const renewed = await app.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    t.equal(renewed.statusCode, 200, 'refresh works')

    const key = app.config.signingKey
    const base = { sid: session_id, jti: 'e'.repeat(32) }
    for (const [name, extra] of [
      ['no iss or aud', {}],
      ['another audience', { iss: 'https://auth.example.com', aud: 'other-api' }],
      ['another issuer', { iss: 'https://evil.example', aud: 'shop-api' }],
    ] as const) {
      const token = craftToken(accessClaims(user.id, { ...base, ...extra }), key)
      const res = await me(token)
      t.equal(res.statusCode, 401, `${name}: refused`)
      t.equal(res.json().code, 'token_not_valid')
    }
    const doc = await app.request({ method: 'GET', url: '/.well-known/openid-configuration' })
    t.equal(doc.json().issuer, 'https://auth.example.com', 'the discovery document names the issuer')
  })
})
