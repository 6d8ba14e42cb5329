import t from 'tap'
import { eachBackend, makeApp } from './helpers/backends.js'
import { accessClaims, craftToken, decodeJwt } from './helpers/tokens.js'

t.test('JWKS and discovery: where the services behind us find keys and endpoints', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    for (const url of ['/.well-known/jwks.json', '/api/v1/auth/jwks/']) {
      const res = await app.request({ method: 'GET', url })
      t.equal(res.statusCode, 200, url)
      t.same(res.json(), { keys: [] }, `${url}: HMAC mode publishes no key, and never the secret`)
      t.equal(res.headers['cache-control'], 'public, max-age=60')
      t.notMatch(res.body, app.config.signingKey)
    }
    const doc = await app.request({
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: { host: 'auth.test:8443' },
    })
    t.equal(doc.statusCode, 200)
    t.match(doc.json(), {
      issuer: 'http://auth.test:8443',
      jwks_uri: 'http://auth.test:8443/.well-known/jwks.json',
      token_endpoint: 'http://auth.test:8443/api/v1/auth/token/',
      introspection_endpoint: 'http://auth.test:8443/api/v1/auth/introspect/',
      revocation_endpoint: 'http://auth.test:8443/api/v1/auth/revoke/',
      token_signing_alg_values_supported: ['HS256'],
    })
    const badHost = await app.request({
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: { host: 'evil.example/"><script>' },
    })
    t.equal(badHost.statusCode, 400, 'a Host header that is no host never reaches the links')
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
