import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { accessClaims, craftToken } from '../helpers/tokens.js'

const VERIFY = '/api/token/verify/'
const BLACKLIST = '/api/token/blacklist/'
const notValid = (detail: string) => ({ detail, code: 'token_not_valid' })
const INVALID = notValid('Token is invalid or expired')
const REVOKED = { detail: 'Token has been revoked. Please login again.', code: 'token_revoked' }

t.test('verify (rows 29-46)', async (t) => {
  await eachBackend(t, async (t, backend) => {
    // Crafted tokens name no session, as SimpleJWT's do: accepted while LEGACY_TOKENS_UNTIL is ahead.
    const h = await makeApp(t, backend, { legacyTokensUntil: Date.now() + 3600_000 })
    const user = await h.createUser()
    const { access, refresh } = await h.login(user.username, user.password)
    const verify = (token: unknown, url = VERIFY) => h.request({ method: 'POST', url, payload: { token } })
    const key = h.config.signingKey
    const now = Math.floor(Date.now() / 1000)
    const claims = (extra: Record<string, unknown> = {}) =>
      accessClaims(user.id, { jti: 'c'.repeat(32), ...extra })
    const without = (name: string) => accessClaims(user.id, { jti: 'c'.repeat(32) }, name)

    for (const url of paths.verify) {
      for (const [name, token] of [
        ['access', access],
        ['refresh', refresh],
      ]) {
        const res = await verify(token, url)
        t.equal(res.statusCode, 200, `verify ${name} at ${url}`)
        t.same(res.json(), {})
      }
    }
    const noSlash = await verify(access, '/api/token/verify')
    t.equal(noSlash.statusCode, 200, 'trailing slash optional')

    const [head, payload, sig] = access.split('.') as [string, string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    const bumped = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), user_id: user.id + 1 }),
    ).toString('base64url')

    const cases: [string, string, number, Record<string, unknown>][] = [
      ['garbage', 'garbage', 401, INVALID],
      ['tampered signature', `${head}.${payload}.${flip(sig)}`, 401, INVALID],
      ['tampered payload', `${head}.${bumped}.${sig}`, 401, INVALID],
      ['no token_type', craftToken(without('token_type'), key), 200, {}],
      ['no jti', craftToken(without('jti'), key), 401, notValid('Token has no id')],
      ['no exp', craftToken(without('exp'), key), 401, notValid("Token has no 'exp' claim")],
      ['expired', craftToken(claims({ exp: now - 10, iat: now - 100 }), key), 401, INVALID],
      ['iat in the future', craftToken(claims({ iat: now + 3600 }), key), 401, INVALID],
      ['nbf in the future', craftToken(claims({ nbf: now + 3600 }), key), 401, INVALID],
      ['HS512 with our key', craftToken(claims(), key, { alg: 'HS512', typ: 'JWT' }), 401, INVALID],
      ['alg none', craftToken(claims(), key, { alg: 'none', typ: 'JWT' }), 401, INVALID],
      ['another key', craftToken(claims(), 'x'.repeat(40)), 401, INVALID],
      ['non-existent user', craftToken(claims({ user_id: 987654 }), key), 200, {}],
    ]
    for (const [name, token, status, body] of cases) {
      const res = await verify(token)
      t.equal(res.statusCode, status, name)
      t.same(res.json(), body, `${name}: body`)
      if (status === 401) t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
    }

    const missing = await h.request({ method: 'POST', url: VERIFY, payload: {} })
    t.equal(missing.statusCode, 400, 'missing token')
    t.same(missing.json(), { token: ['This field is required.'] })
    const empty = await verify('')
    t.equal(empty.statusCode, 400, 'empty token')
    t.same(empty.json(), { token: ['This field may not be blank.'] })
    const form = await h.request({
      method: 'POST',
      url: VERIFY,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${access}`,
    })
    t.equal(form.statusCode, 200, 'form-encoded verify')

    // API.md decides over row 49: a revoked token is 401 token_revoked.
    const rotated = await h.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    t.equal(rotated.statusCode, 200)
    const spent = await verify(refresh)
    t.equal(spent.statusCode, 401, 'verify the rotated refresh token')
    t.same(spent.json(), REVOKED)
    const stillOk = await verify(access)
    t.equal(stillOk.statusCode, 200, 'the access token of a live session verifies after a rotation (row 50)')

    await h.request({ method: 'POST', url: BLACKLIST, payload: { refresh: rotated.json().refresh } })
    const afterBlacklist = await verify(access)
    t.equal(afterBlacklist.statusCode, 401, "after a blacklist the session's access token is revoked")
    t.same(afterBlacklist.json(), REVOKED)
  })
})

t.test('blacklist (rows 56-62)', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const post = (url: string, payload: object) => h.request({ method: 'POST', url, payload })
    const BLACKLISTED = notValid('Token is blacklisted')

    for (const url of paths.blacklist) {
      const { access, refresh } = await h.login(user.username, user.password)
      const ok = await post(url, { refresh })
      t.equal(ok.statusCode, 200, `blacklist at ${url}`)
      t.same(ok.json(), {})
      const twice = await post(url, { refresh })
      t.equal(twice.statusCode, 401, 'the same token twice')
      t.same(twice.json(), BLACKLISTED)
      const other = await post(paths.blacklist[(paths.blacklist.indexOf(url) + 1) % 3]!, { refresh })
      t.same(other.json(), BLACKLISTED, 'again via another alias (row 62)')
      const refreshed = await post('/api/token/refresh/', { refresh })
      t.equal(refreshed.statusCode, 401, 'refresh after blacklist')
      t.same(refreshed.json(), BLACKLISTED)
      const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
      t.equal(me.statusCode, 401, "the session's access token stops at the next request")
      t.same(me.json(), REVOKED)
    }

    const { access } = await h.login(user.username, user.password)
    const wrongType = await post(BLACKLIST, { refresh: access })
    t.equal(wrongType.statusCode, 401, 'blacklist an access token')
    t.same(wrongType.json(), notValid('Token has wrong type'))
    const garbage = await post(BLACKLIST, { refresh: 'garbage' })
    t.equal(garbage.statusCode, 401, 'blacklist garbage')
    t.same(garbage.json(), INVALID)
    const missing = await post(BLACKLIST, {})
    t.equal(missing.statusCode, 400, 'missing field')
    t.same(missing.json(), { refresh: ['This field is required.'] })
    const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
    t.equal(me.statusCode, 200, 'a failed blacklist revokes nothing')
  })
})
