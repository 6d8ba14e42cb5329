import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { accessClaims, craftToken } from '../helpers/tokens.js'

const ME = '/api/user/'
const REALM = 'Bearer realm="api"'
const NOT_PROVIDED = { detail: 'Authentication credentials were not provided.' }
const BAD_HEADER = {
  detail: 'Authorization header must contain two space-delimited values',
  code: 'bad_authorization_header',
}
const notValid = (message: string) => ({
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
})
const INVALID = notValid('Token is invalid or expired')

// Crafted tokens name no session, as SimpleJWT's do: accepted while LEGACY_TOKENS_UNTIL is ahead.
const LEGACY_WINDOW = { legacyTokensUntil: Date.now() + 3600_000 }

t.test('Authorization header cases of a protected route (rows 66-81)', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LEGACY_WINDOW)
    const user = await h.createUser()
    const { access, refresh } = await h.login(user.username, user.password)
    const key = h.config.signingKey
    const now = Math.floor(Date.now() / 1000)
    const claims = (extra: Record<string, unknown> = {}) =>
      accessClaims(user.id, { jti: 'a'.repeat(32), ...extra })
    const without = (name: string) => accessClaims(user.id, { jti: 'a'.repeat(32) }, name)
    const [head, payload, sig] = access.split('.') as [string, string, string]
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
    const bumpedPayload = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), user_id: user.id + 1 }),
    ).toString('base64url')

    const cases: [string, string | undefined, Record<string, unknown>][] = [
      ['no header', undefined, NOT_PROVIDED],
      ['empty header', '', NOT_PROVIDED],
      ['whitespace header', '   ', NOT_PROVIDED],
      ['Token scheme', 'Token xyz', NOT_PROVIDED],
      ['JWT scheme with a valid access', `JWT ${access}`, NOT_PROVIDED],
      ['lowercase bearer with a valid access', `bearer ${access}`, NOT_PROVIDED],
      ['Bearer alone', 'Bearer', BAD_HEADER],
      ['Bearer and spaces', 'Bearer   ', BAD_HEADER],
      ['three parts', 'Bearer a b', BAD_HEADER],
      ['garbage', 'Bearer garbage', INVALID],
      ['tampered signature', `Bearer ${head}.${payload}.${flip(sig)}`, INVALID],
      ['tampered payload', `Bearer ${head}.${bumpedPayload}.${sig}`, INVALID],
      ['refresh token as access', `Bearer ${refresh}`, notValid('Token has wrong type')],
      ['expired', `Bearer ${craftToken(claims({ exp: now - 10, iat: now - 100 }), key)}`, INVALID],
      ['alg none', `Bearer ${craftToken(claims(), key, { alg: 'none', typ: 'JWT' })}`, INVALID],
      ['HS512 with our key', `Bearer ${craftToken(claims(), key, { alg: 'HS512', typ: 'JWT' })}`, INVALID],
      [
        'HS256 with another key',
        `Bearer ${craftToken(claims(), 'another-key-another-key-another-key')}`,
        INVALID,
      ],
      ['iat in the future', `Bearer ${craftToken(claims({ iat: now + 3600 }), key)}`, INVALID],
      ['nbf in the future', `Bearer ${craftToken(claims({ nbf: now + 3600 }), key)}`, INVALID],
      ['no jti', `Bearer ${craftToken(without('jti'), key)}`, notValid('Token has no id')],
      ['no exp', `Bearer ${craftToken(without('exp'), key)}`, notValid("Token has no 'exp' claim")],
      ['no token_type', `Bearer ${craftToken(without('token_type'), key)}`, notValid('Token has no type')],
      [
        'no user_id',
        `Bearer ${craftToken(without('user_id'), key)}`,
        { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' },
      ],
      [
        'user_id not an integer',
        `Bearer ${craftToken(claims({ user_id: String(user.id) }), key)}`,
        { detail: 'Token contained no recognizable user identification', code: 'token_not_valid' },
      ],
    ]
    for (const [name, authorization, expected] of cases) {
      const headers = authorization === undefined ? {} : { authorization }
      for (const url of [ME, '/api/test-auth/']) {
        const res = await h.request({ method: 'GET', url, headers })
        t.equal(res.statusCode, 401, `${name} (${url})`)
        t.same(res.json(), expected, `${name} (${url}): body`)
        t.equal(res.headers['www-authenticate'], REALM, `${name}: WWW-Authenticate`)
      }
    }

    // A well-signed token whose user is gone or inactive: the user checks of SimpleJWT (rows 77-79).
    const ghost = craftToken(claims({ user_id: 987654 }), key)
    const gone = await h.request({ method: 'GET', url: ME, headers: h.bearer(ghost) })
    t.equal(gone.statusCode, 401, 'token for a non-existent user')
    t.same(gone.json(), { detail: 'User not found', code: 'user_not_found' })
    const inactive = await h.createUser({ isActive: false })
    const sleeper = craftToken(claims({ user_id: inactive.id }), key)
    const idle = await h.request({ method: 'GET', url: ME, headers: h.bearer(sleeper) })
    t.equal(idle.statusCode, 401, 'token for an inactive user')
    t.same(idle.json(), { detail: 'User is inactive', code: 'user_inactive' })

    // A crafted but well-formed token of our key is accepted in the window: the key is the trust.
    const foreign = craftToken(claims({ jti: 'b'.repeat(32) }), key)
    const ok = await h.request({ method: 'GET', url: ME, headers: h.bearer(foreign) })
    t.equal(ok.statusCode, 200, 'a SimpleJWT-shaped token signed with the shared key works')
  })
})

t.test('outside the legacy window a token that names no session is refused', async (t) => {
  await eachBackend(t, async (t, backend) => {
    for (const [name, overrides] of [
      ['LEGACY_TOKENS_UNTIL unset', {}],
      ['LEGACY_TOKENS_UNTIL passed', { legacyTokensUntil: Date.now() - 1000 }],
    ] as const) {
      const h = await makeApp(t, backend, overrides)
      const user = await h.createUser()
      const foreign = craftToken(accessClaims(user.id, { jti: 'd'.repeat(32) }), h.config.signingKey)
      const res = await h.request({ method: 'GET', url: ME, headers: h.bearer(foreign) })
      t.equal(res.statusCode, 401, `${name}: a SimpleJWT token for user ${user.id} does not pass for ours`)
      t.same(res.json(), INVALID, `${name}: answered like any invalid token`)
      const verified = await h.request({
        method: 'POST',
        url: '/api/token/verify/',
        payload: { token: foreign },
      })
      t.equal(verified.statusCode, 401, `${name}: verify refuses it too`)
      const { access } = await h.login(user.username, user.password)
      t.equal(
        (await h.request({ method: 'GET', url: ME, headers: h.bearer(access) })).statusCode,
        200,
        'ours work',
      )
    }
  })
})

t.test('current user and test-auth with a valid access token', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser({
      clientName: 'Tenant A',
      firstName: 'Grace',
      lastName: 'Hopper',
      isManager: true,
      expiryDate: new Date('2099-01-01T00:00:00Z'),
    })
    const { access } = await h.login(user.username, user.password)

    for (const url of paths.me) {
      const res = await h.request({ method: 'GET', url, headers: h.bearer(access) })
      t.equal(res.statusCode, 200, `GET ${url}`)
      const me = res.json()
      t.match(me, {
        id: user.id,
        username: user.username,
        email: `${user.username}@example.com`,
        first_name: 'Grace',
        last_name: 'Hopper',
        is_active: true,
        is_staff: false,
        is_superuser: false,
        is_manager: true,
        client_name: 'Tenant A',
        profile: { expired: false, expiry_date: '2099-01-01T00:00:00.000Z' },
      })
      t.type(me.client_id, 'number')
      t.match(me.date_joined, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      t.match(me.last_login, /^\d{4}-\d\d-\d\dT/, 'last_login is set by the login')
      for (const k of ['created_at', 'updated_at']) t.match(me.profile[k], /^\d{4}-\d\d-\d\dT/)
      t.notOk('password' in me || 'passwordHash' in me || 'password_hash' in me, 'no password in the body')
    }

    const post = await h.request({ method: 'POST', url: ME, headers: h.bearer(access) })
    t.equal(post.statusCode, 405, 'POST /api/user/ with a token (row 82)')
    t.same(post.json().detail, 'Method "POST" not allowed.')
    const anon = await h.request({ method: 'POST', url: ME })
    t.equal(anon.statusCode, 401, 'POST /api/user/ without a token (row 83)')
    t.same(anon.json(), NOT_PROVIDED)

    for (const method of ['GET', 'POST'] as const) {
      const res = await h.request({ method, url: '/api/test-auth/', headers: h.bearer(access) })
      t.equal(res.statusCode, 200, `${method} /api/test-auth/`)
      t.same(res.json(), {
        message: 'JWT authentication is working',
        authenticated: true,
        user: user.username,
      })
      const noSlash = await h.request({ method, url: '/api/test-auth', headers: h.bearer(access) })
      t.equal(noSlash.statusCode, 200, `${method} /api/test-auth without the slash`)
    }
  })
})

t.test('a SimpleJWT token with a far-future exp is revoked like any other, never a 500', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LEGACY_WINDOW)
    const user = await h.createUser()
    const key = h.config.signingKey
    const far = { exp: 10 ** 15, jti: 'f'.repeat(32) }
    const refresh = craftToken({ ...accessClaims(user.id, far), token_type: 'refresh' }, key)
    const access = craftToken(accessClaims(user.id, { ...far, jti: 'g'.repeat(32) }), key)
    const out = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/',
      headers: h.bearer(access),
      payload: { refresh },
    })
    t.equal(out.statusCode, 200, 'logout answers 200')
    const after = await h.request({ method: 'GET', url: ME, headers: h.bearer(access) })
    t.equal(after.statusCode, 401, 'and the access token is refused from then on')
    const again = await h.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    t.equal(again.statusCode, 401, 'so is the refresh token')
  })
})
