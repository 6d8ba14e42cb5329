import t from 'tap'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { accessClaims, craftToken, decodeJwt } from '../helpers/tokens.js'

const INTROSPECT = '/api/v1/auth/introspect/'
const REVOKE = '/api/v1/auth/revoke/'

/** As the RFCs send it: form-encoded. */
const form = (app: TestApp, url: string, access: string, fields: Record<string, string>) =>
  app.request({
    method: 'POST',
    url,
    headers: { ...app.bearer(access), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  })

const testAuth = (app: TestApp, access: string) =>
  app.request({ method: 'GET', url: '/api/test-auth/', headers: app.bearer(access) })

t.test('RFC 7662 introspection: active tokens with their claims, anything else active: false', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const staff = await app.createUser({ isStaff: true, clientName: 'Acme' })
    const other = await app.createUser({ isStaff: true, clientName: 'Globex' })
    const user = await app.createUser({ clientName: 'Acme' })
    const operator = (await app.login(staff.username, staff.password)).access
    const outsider = (await app.login(other.username, other.password)).access
    const tokens = await app.login(user.username, user.password)

    const anonymous = await app.request({
      method: 'POST',
      url: INTROSPECT,
      payload: { token: tokens.access },
    })
    t.equal(anonymous.statusCode, 401, 'the caller must authenticate')
    const plain = await form(app, INTROSPECT, tokens.access, { token: tokens.access })
    t.equal(plain.statusCode, 403, 'and be an operator')

    const access = await form(app, INTROSPECT, operator, {
      token: tokens.access,
      token_type_hint: 'access_token',
    })
    t.equal(access.statusCode, 200)
    t.equal(access.headers['cache-control'], 'no-store')
    const claims = decodeJwt(tokens.access).payload
    t.same(access.json(), {
      active: true,
      token_type: 'access',
      sub: String(user.id),
      username: user.username,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      user_id: user.id,
      sid: tokens.session_id,
      client_id: claims.client_id,
    })
    const refresh = await app.request({
      method: 'POST',
      url: INTROSPECT,
      headers: app.bearer(operator),
      payload: { token: tokens.refresh },
    })
    t.match(refresh.json(), { active: true, token_type: 'refresh' }, 'JSON bodies are read too')

    const inactive = { active: false }
    t.same(
      (await form(app, INTROSPECT, outsider, { token: tokens.access })).json(),
      inactive,
      'another tenant',
    )
    t.same((await form(app, INTROSPECT, operator, { token: 'garbage' })).json(), inactive, 'garbage')
    const expired = craftToken(
      accessClaims(user.id, { exp: Math.floor(Date.now() / 1000) - 5 }),
      app.config.signingKey,
    )
    t.same((await form(app, INTROSPECT, operator, { token: expired })).json(), inactive, 'expired')
    const missing = await form(app, INTROSPECT, operator, {})
    t.equal(missing.statusCode, 400, 'no token: a field error')
    t.same(missing.json(), { token: ['This field is required.'] })

    await app.request({ method: 'POST', url: '/api/v1/auth/logout/', payload: { refresh: tokens.refresh } })
    for (const [name, token] of [
      ['access', tokens.access],
      ['refresh', tokens.refresh],
    ] as const) {
      const res = await form(app, INTROSPECT, operator, { token })
      t.same(res.json(), inactive, `a logged-out ${name} token is not active`)
    }
  })
})

t.test('RFC 7009 revocation: a refresh token ends its session, an access token only itself', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const staff = await app.createUser({ isStaff: true })
    const user = await app.createUser()
    const operator = (await app.login(staff.username, staff.password)).access

    const first = await app.login(user.username, user.password)
    const res = await form(app, REVOKE, operator, { token: first.access, token_type_hint: 'access_token' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), {})
    t.equal((await testAuth(app, first.access)).statusCode, 401, 'the access token stops at once')
    const renewed = await app.request({
      method: 'POST',
      url: '/api/token/refresh/',
      payload: { refresh: first.refresh },
    })
    t.equal(renewed.statusCode, 200, 'its session goes on')

    const second = await app.login(user.username, user.password)
    t.equal((await form(app, REVOKE, operator, { token: second.refresh })).statusCode, 200)
    const stopped = await testAuth(app, second.access)
    t.equal(stopped.statusCode, 401, "revoking the refresh token stops the session's access token")
    t.equal(stopped.json().code, 'token_revoked')
    const again = await app.request({
      method: 'POST',
      url: '/api/token/refresh/',
      payload: { refresh: second.refresh },
    })
    t.equal(again.statusCode, 401, 'and the refresh token')

    t.equal(
      (await form(app, REVOKE, operator, { token: 'garbage' })).statusCode,
      200,
      'an invalid token: 200',
    )
    t.equal(
      (await form(app, REVOKE, operator, { token: second.refresh })).statusCode,
      200,
      'revoked twice: 200',
    )
    const byUser = await form(app, REVOKE, renewed.json().access, { token: operator })
    t.equal(byUser.statusCode, 403, 'a user who is no operator may not revoke')
    t.equal((await testAuth(app, operator)).statusCode, 200, "and the operator's token is untouched")
  })
})

t.test('a service with configured credentials introspects and revokes with HTTP Basic', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const secret = 'resource-server-secret-0123456789abcdef'
    const app = await makeApp(t, backend, { introspectionClients: { 'shop-api': secret } })
    const user = await app.createUser({ clientName: 'Acme' })
    const tokens = await app.login(user.username, user.password)
    const basic = (id: string, password: string) =>
      `Basic ${Buffer.from(`${id}:${password}`).toString('base64')}`
    const call = (url: string, authorization: string, token: string) =>
      app.request({
        method: 'POST',
        url,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      })

    const res = await call(INTROSPECT, basic('shop-api', secret), tokens.access)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { active: true, user_id: user.id }, 'a service sees every tenant')
    for (const [name, header] of [
      ['wrong secret', basic('shop-api', `${secret}x`)],
      ['unknown id', basic('other-api', secret)],
      ['not base64', 'Basic !!!'],
      ['no colon', `Basic ${Buffer.from('shop-api').toString('base64')}`],
    ]) {
      const refused = await call(INTROSPECT, header!, tokens.access)
      t.equal(refused.statusCode, 401, `${name}: 401`)
      t.same(refused.json(), { detail: 'Invalid client credentials.', code: 'invalid_client' })
      t.notMatch(refused.body, secret, `${name}: the secret is never echoed`)
    }

    t.equal((await call(REVOKE, basic('shop-api', secret), tokens.refresh)).statusCode, 200)
    t.equal((await testAuth(app, tokens.access)).statusCode, 401, 'the revoked session stops at once')
  })
})

t.test('without configured services, Basic credentials are no way in', async (t) => {
  const app = await makeApp(t, 'embedded')
  const user = await app.createUser()
  const tokens = await app.login(user.username, user.password)
  const res = await app.request({
    method: 'POST',
    url: INTROSPECT,
    headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    payload: { token: tokens.access },
  })
  t.equal(res.statusCode, 401)
})
