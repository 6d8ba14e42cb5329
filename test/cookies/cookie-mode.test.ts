import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import {
  APP,
  browser,
  CSRF,
  cookieHeader,
  cookieLogin,
  cookiesOf,
  HTTPS,
  REFRESH,
  refreshBy,
  sessionOf,
} from '../helpers/cookies.js'

/**
 * Cookie mode (issue 29 item 2, README "Cookie mode for browsers"): what a browser app sees, on
 * both backends. The service is on https (PUBLIC_URL), so the cookies carry their prefixes and Secure.
 * Two-factor, logout/all and the settings: test/cookies/cookie-mode-edges.test.ts.
 */

t.test('cookie login, refresh by cookie with rotation, logout clears it', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const { res, jar } = await cookieLogin(h, user.username, user.password)
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.notOk('refresh' in body, 'the refresh token is not in the body')
    t.ok(body.access, 'the access token is')
    t.equal(body.csrf_token, jar.csrf, 'the CSRF token is in the body and its cookie')
    const set = cookiesOf(res)
    t.match(set[REFRESH], {
      path: '/api/v1/auth/',
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
      maxAge: 604800,
    })
    t.notOk(set[REFRESH]?.domain, 'host-only')
    t.match(set[CSRF], { path: '/', secure: true, sameSite: 'Strict', maxAge: 604800 })
    t.notOk(set[CSRF]?.httpOnly, "the app's script reads the CSRF cookie")
    t.equal(
      (await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(body.access) })).statusCode,
      200,
    )

    const renewed = await refreshBy(h, browser(jar))
    t.equal(renewed.statusCode, 200)
    t.same(Object.keys(renewed.json()).sort(), ['access', 'csrf_token'], 'no refresh token in the body')
    const next = cookiesOf(renewed)[REFRESH]
    t.ok(next?.value && next.value !== jar.refresh, 'rotation sets a new refresh cookie')
    t.match(next, { path: '/api/v1/auth/', httpOnly: true, secure: true, sameSite: 'Strict' })
    t.equal(cookiesOf(renewed)[CSRF]?.value, jar.csrf, 'the CSRF token stays for the session')
    const access = renewed.json().access
    t.equal(
      (await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })).statusCode,
      200,
    )

    const now = { refresh: next?.value ?? '', csrf: jar.csrf }
    const out = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/',
      headers: browser(now),
      payload: {},
    })
    t.equal(out.statusCode, 200)
    t.same(out.json(), { message: 'Logout successful', detail: 'Session revoked and tokens blacklisted' })
    const cleared = cookiesOf(out)
    t.match(
      cleared[REFRESH],
      { value: '', maxAge: 0, path: '/api/v1/auth/' },
      'the refresh cookie is cleared',
    )
    t.match(cleared[CSRF], { value: '', maxAge: 0, path: '/' }, 'and the CSRF cookie')
    t.equal((await sessionOf(h, access))?.isActive, false, 'the session is revoked')
    const after = await refreshBy(h, browser(now))
    t.equal(after.statusCode, 401, 'a cookie kept past logout refreshes nothing')
    t.equal(cookiesOf(after)[REFRESH]?.maxAge, 0, 'and is cleared again')
  })
})

t.test('a cross-site request with the cookie is refused and changes nothing', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const { res, jar } = await cookieLogin(h, user.username, user.password)
    const before = await sessionOf(h, res.json().access)
    const forged: [string, Record<string, string>][] = [
      ['no Origin', browser(jar, { origin: undefined })],
      ['another Origin', browser(jar, { origin: 'https://evil.example' })],
      ['the null Origin', browser(jar, { origin: 'null' })],
      ['no CSRF header', browser(jar, { 'x-csrf-token': undefined })],
      ['a wrong CSRF header', browser(jar, { 'x-csrf-token': `${jar.csrf.slice(0, -1)}x` })],
      ['no CSRF cookie', browser({ refresh: jar.refresh }, { 'x-csrf-token': jar.csrf })],
    ]
    const routes = [...paths.refresh, ...paths.logout, ...paths.blacklist]
    for (const [what, headers] of forged) {
      for (const url of routes) {
        const refused = await h.request({ method: 'POST', url, headers, payload: {} })
        t.equal(refused.statusCode, 403, `${what} at ${url}`)
        t.equal(refused.json().code, 'csrf_failed')
        t.match(refused.json().detail, /^CSRF Failed: /)
        t.equal(refused.headers['set-cookie'], undefined, 'no cookie is set or cleared')
      }
    }
    const still = await sessionOf(h, res.json().access)
    t.equal(still?.isActive, true, 'the session lives')
    t.equal(still?.refreshJti, before?.refreshJti, 'its refresh token was not rotated')
    t.equal((await refreshBy(h, browser(jar))).statusCode, 200, 'the cookie still works from the app')

    const count = async () => (await h.app.repos.sessions.listForUser(user.id, true)).length
    const sessions = await count()
    const planted = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      headers: { origin: 'https://evil.example' },
      payload: { username: user.username, password: user.password, token_transport: 'cookie' },
    })
    t.equal(planted.statusCode, 403, 'another site cannot log the browser in with cookies')
    t.equal(planted.headers['set-cookie'], undefined)
    t.equal(await count(), sessions, 'and no session was opened')
  })
})

t.test('body mode is untouched: no cookie set, and a body token wins over a cookie', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const login = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      headers: { origin: APP },
      payload: { username: user.username, password: user.password, client_type: 'website' },
    })
    t.equal(login.statusCode, 200)
    t.same(
      Object.keys(login.json()),
      ['refresh', 'access', 'user', 'session_id', 'user_id', 'username', 'email', 'client_id', 'client_name'],
      "SimpleJWT's fields in SimpleJWT's order",
    )
    t.equal(login.headers['set-cookie'], undefined)
    t.notOk('csrf_token' in login.json())
    const { jar } = await cookieLogin(h, user.username, user.password)
    // No Origin, no CSRF header: the body's token is the proof, as SimpleJWT's clients send it.
    const res = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/refresh/',
      headers: { cookie: cookieHeader(jar) },
      payload: { refresh: login.json().refresh },
    })
    t.equal(res.statusCode, 200)
    t.same(Object.keys(res.json()).sort(), ['access', 'refresh'])
    t.equal(res.headers['set-cookie'], undefined, 'the cookie is left alone')
    const none = await refreshBy(h, { origin: APP })
    t.equal(none.statusCode, 400, 'no body token and no cookie: the field is required, as before')
    t.same(none.json(), { refresh: ['This field is required.'] })
  })
})

t.test('hostile cookie values are 401 (or 400), never 500, and are cleared', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const { res, jar } = await cookieLogin(h, user.username, user.password)
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')
    const claims = Buffer.from('{"token_type":"refresh","user_id":1,"jti":"x","exp":9999999999}').toString(
      'base64url',
    )
    const values = [
      'garbage',
      '%zz',
      '%00',
      'a'.repeat(6000),
      `${none}.${claims}.`,
      res.json().access,
      '"quoted"',
    ]
    for (const value of values) {
      const r = await refreshBy(h, browser({ refresh: value, csrf: jar.csrf }))
      t.equal(r.statusCode, 401, `refresh with ${value.slice(0, 20)}`)
      t.equal(r.json().code, 'token_not_valid')
      t.equal(cookiesOf(r)[REFRESH]?.maxAge, 0, 'the bad cookie is cleared')
      const out = await h.request({
        method: 'POST',
        url: '/api/v1/auth/logout/',
        headers: browser({ refresh: value, csrf: jar.csrf }),
      })
      t.equal(out.statusCode, 400, `logout with ${value.slice(0, 20)}: SimpleJWT's logout answers 400`)
    }
    const empty = await refreshBy(h, browser({ refresh: '', csrf: jar.csrf }))
    t.equal(empty.statusCode, 400, 'an empty cookie is a blank field')
    t.equal(cookiesOf(empty)[REFRESH]?.maxAge, 0)
    t.equal((await refreshBy(h, browser(jar))).statusCode, 200, 'the real cookie still works')
  })
})

t.test('reuse of a rotated cookie revokes the session; revocation elsewhere clears the cookie', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { ...HTTPS, refreshReuseGraceSeconds: 0 })
    const user = await h.createUser()
    const first = await cookieLogin(h, user.username, user.password)
    const rotated = await refreshBy(h, browser(first.jar))
    t.equal(rotated.statusCode, 200)
    const replay = await refreshBy(h, browser(first.jar))
    t.same(
      replay.json(),
      { detail: 'Token is blacklisted', code: 'token_not_valid' },
      'a stolen cookie replayed',
    )
    t.equal(cookiesOf(replay)[REFRESH]?.maxAge, 0)
    const session = await sessionOf(h, rotated.json().access)
    t.match(session, { isActive: false, revokedReason: 'refresh_reuse' }, 'reuse revoked the session')
    const stolen = { refresh: cookiesOf(rotated)[REFRESH]?.value ?? '', csrf: first.jar.csrf }
    t.equal((await refreshBy(h, browser(stolen))).statusCode, 401, "and the thief's newer cookie with it")

    const second = await cookieLogin(h, user.username, user.password)
    const other = await h.login(user.username, user.password)
    const sid = (await sessionOf(h, second.res.json().access))?.id
    const revoke = await h.request({
      method: 'POST',
      url: `/api/v1/auth/sessions/${sid}/revoke/`,
      headers: h.bearer(other.access),
    })
    t.equal(revoke.statusCode, 200, 'the session is revoked from another device')
    const next = await refreshBy(h, browser(second.jar))
    t.equal(next.statusCode, 401, 'the next refresh with the cookie is refused')
    t.equal(cookiesOf(next)[REFRESH]?.maxAge, 0, 'and clears it')
    t.equal(cookiesOf(next)[CSRF]?.maxAge, 0)
  })
})

t.test('blacklist by cookie clears it; every alias takes the cookie', async (t) => {
  const h = await makeApp(t, 'embedded', HTTPS)
  const user = await h.createUser()
  for (const url of paths.blacklist) {
    const { jar } = await cookieLogin(h, user.username, user.password)
    const res = await h.request({ method: 'POST', url, headers: browser(jar) })
    t.equal(res.statusCode, 200, url)
    t.equal(cookiesOf(res)[REFRESH]?.maxAge, 0)
  }
  let { jar } = await cookieLogin(h, user.username, user.password, paths.login[3])
  for (const url of paths.refresh) {
    const res = await refreshBy(h, browser(jar), url)
    t.equal(res.statusCode, 200, url)
    jar = { ...jar, refresh: cookiesOf(res)[REFRESH]?.value ?? '' }
  }
})
