import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import {
  APP,
  browser,
  CSRF,
  cookieLogin,
  cookiesOf,
  HTTPS,
  REFRESH,
  refreshBy,
  sessionOf,
} from '../helpers/cookies.js'

t.test('a two-factor login that asked for cookie mode gets its cookies at the second step', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const headers = h.bearer((await h.login(user.username, user.password)).access)
    const { secret } = (
      await h.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
    ).json()
    const payload = { code: codeAt(secret, Date.now() - 30_000) }
    await h.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/confirm/', headers, payload })

    const first = await cookieLogin(h, user.username, user.password)
    t.equal(first.res.json().code, 'mfa_required')
    t.equal(first.res.headers['set-cookie'], undefined, 'no cookie before the second factor')
    const done = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/mfa/',
      headers: { origin: APP },
      payload: { mfa_token: first.res.json().mfa_token, code: codeAt(secret) },
    })
    t.equal(done.statusCode, 200)
    t.notOk('refresh' in done.json(), 'the refresh token is not in the body')
    const set = cookiesOf(done)
    t.match(set[REFRESH], { httpOnly: true, secure: true, sameSite: 'Strict' })
    t.equal(done.json().csrf_token, set[CSRF]?.value)
    const jar = { refresh: set[REFRESH]?.value ?? '', csrf: set[CSRF]?.value ?? '' }
    t.equal((await refreshBy(h, browser(jar))).statusCode, 200, 'and the cookie refreshes')
  })
})

t.test('logout from every device clears the cookies it comes with', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, HTTPS)
    const user = await h.createUser()
    const { res, jar } = await cookieLogin(h, user.username, user.password)
    const all = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/all/',
      headers: { ...h.bearer(res.json().access), cookie: browser(jar).cookie! },
    })
    t.equal(all.statusCode, 200)
    t.equal(cookiesOf(all)[REFRESH]?.maxAge, 0, 'the refresh cookie is cleared')
    t.equal(cookiesOf(all)[CSRF]?.maxAge, 0)
    t.equal((await sessionOf(h, res.json().access))?.isActive, false)
    const plain = await h.login(user.username, user.password)
    const bearerOnly = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/all/',
      headers: h.bearer(plain.access),
    })
    t.equal(bearerOnly.headers['set-cookie'], undefined, 'without the cookie, no cookie is set')
  })
})

t.test('settings: names by deployment, client types by configuration', async (t) => {
  const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent' }
  const bad = () =>
    loadConfig({ ...env, REFRESH_COOKIE_CLIENT_TYPES: 'website,browser', REFRESH_COOKIE_PATH: 'api;x' })
  t.throws(bad, ConfigError)
  try {
    bad()
  } catch (err) {
    t.match((err as ConfigError).problems, [/REFRESH_COOKIE_PATH: expected a path/, /"browser"/])
  }
  const c = loadConfig({ ...env, REFRESH_COOKIE_CLIENT_TYPES: 'website', CSRF_COOKIE_DOMAIN: 'example.com' })
  t.same(c.refreshCookieClientTypes, ['website'])
  t.equal(c.csrfCookieDomain, 'example.com')

  // Plain http (development): no prefix and no Secure, which browsers would refuse over http.
  const dev = await makeApp(t, 'embedded', { refreshCookieClientTypes: ['website'] })
  const user = await dev.createUser()
  const login = (extra: Record<string, unknown>) =>
    dev.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      headers: { origin: dev.config.publicUrl },
      payload: { username: user.username, password: user.password, ...extra },
    })
  const website = await login({ client_type: 'website' })
  t.equal(website.statusCode, 200)
  t.notOk('refresh' in website.json(), 'a listed client_type gets cookie mode without asking')
  t.match(cookiesOf(website).authjwt_refresh, { httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/' })
  t.notOk(cookiesOf(website).authjwt_refresh?.secure)
  t.ok(
    (await login({ client_type: 'website', token_transport: 'body' })).json().refresh,
    'unless it asks for body',
  )
  t.ok((await login({ client_type: 'mobile' })).json().refresh, 'other client types stay in body mode')

  // REFRESH_COOKIE_PATH=/: the refresh cookie may then be __Host-, and reaches every alias.
  const root = await makeApp(t, 'embedded', { ...HTTPS, refreshCookiePath: '/', csrfCookieDomain: 'example' })
  const rootUser = await root.createUser()
  const { res } = await cookieLogin(root, rootUser.username, rootUser.password)
  t.match(cookiesOf(res)['__Host-authjwt_refresh'], { path: '/', secure: true, httpOnly: true })
  t.match(cookiesOf(res)['__Secure-authjwt_csrf'], { domain: 'example', path: '/' }, 'a shared CSRF cookie')
})
