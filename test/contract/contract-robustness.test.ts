import { Redis } from 'ioredis'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import {
  backendNames,
  eachBackend,
  freshPostgres,
  makeApp,
  REDIS_URL,
  testConfig,
} from '../helpers/backends.js'

const UNAVAILABLE = { code: 'service_unavailable' }

t.test('Redis down: protected requests are 503, never 200 and never 500', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const { database } = await freshPostgres(t)
  await database.migrate()
  // Nothing listens on port 1: the store can never connect, and is not waited for.
  const store = new RedisRevocationStore('redis://127.0.0.1:1', { commandTimeoutMs: 500 })
  t.teardown(() => store.close())
  const app = await buildApp(testConfig(), { database, store, logger: false })
  await app.ready()
  t.teardown(() => app.close())

  const user = await app.repos.users.create({
    username: 'offline',
    email: 'offline@example.com',
    passwordHash: await app.hasher.hash('pw-offline'),
  })
  const login = await app.inject({
    method: 'POST',
    url: '/api/token/',
    payload: { username: 'offline', password: 'pw-offline' },
  })
  t.ok(login.statusCode === 200 || login.statusCode === 503, `login is 200 or 503 (got ${login.statusCode})`)
  if (login.statusCode === 503) t.match(login.json(), UNAVAILABLE)

  // A token minted while Redis was up must not pass unchecked now that it is down.
  const now = Math.floor(Date.now() / 1000)
  const base = { exp: now + 600, iat: now, user_id: user.id, sid: 1 }
  const access = app.tokenCodec.sign({ token_type: 'access', jti: 'e'.repeat(32), ...base })
  const refresh = app.tokenCodec.sign({ token_type: 'refresh', jti: 'f'.repeat(32), ...base })

  for (const [name, opts] of [
    ['GET /api/user/', { method: 'GET', url: '/api/user/', headers: { authorization: `Bearer ${access}` } }],
    [
      'GET /api/test-auth/',
      { method: 'GET', url: '/api/test-auth/', headers: { authorization: `Bearer ${access}` } },
    ],
    ['POST /api/token/verify/', { method: 'POST', url: '/api/token/verify/', payload: { token: access } }],
    [
      'POST /api/token/verify/ (refresh)',
      { method: 'POST', url: '/api/token/verify/', payload: { token: refresh } },
    ],
  ] as const) {
    const res = await app.inject(opts)
    t.equal(res.statusCode, 503, `${name} fails closed`)
    t.match(res.json(), UNAVAILABLE, `${name}: body`)
    t.type(res.json().detail, 'string')
  }

  // Refresh is decided by the session row alone (every revocation is written there first), so it
  // works without the store, and still refuses what the database says is revoked.
  const nowMs = Date.now()
  const session = async (jti: string) =>
    app.repos.sessions.create({
      userId: user.id,
      refreshJti: jti,
      accessJti: 'a'.repeat(32),
      clientType: 'web',
      createdAt: new Date(nowMs),
      expiresAt: new Date(nowMs + 600_000),
    })
  const liveSession = await session('1'.repeat(32))
  const renewed = await app.inject({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: {
      refresh: app.tokenCodec.sign({
        token_type: 'refresh',
        jti: '1'.repeat(32),
        ...base,
        sid: liveSession.id,
      }),
    },
  })
  t.equal(renewed.statusCode, 200, 'refresh of a live session works with the store down')
  const renewedAccess = renewed.json().access as string
  const use = await app.inject({
    method: 'GET',
    url: '/api/test-auth/',
    headers: { authorization: `Bearer ${renewedAccess}` },
  })
  t.equal(use.statusCode, 503, 'the renewed access token still fails closed on a protected route')
  const dead = await session('2'.repeat(32))
  await app.repos.sessions.revoke(dead.id, 'logout')
  const refused = await app.inject({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: {
      refresh: app.tokenCodec.sign({ token_type: 'refresh', jti: '2'.repeat(32), ...base, sid: dead.id }),
    },
  })
  t.equal(refused.statusCode, 401, 'refresh of a revoked session is refused with the store down')
  t.match(refused.json(), { code: 'token_not_valid' })

  const ready = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(ready.statusCode, 503, 'readiness reports the store down')
  t.equal(ready.json().revocation_store, 'unavailable')
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200, 'liveness does not depend on the store')
})

t.test('Redis lost after start: 503 until it returns', async (t) => {
  await eachBackend(t, async (t, backend) => {
    if (backend !== 'real') return
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const { access } = await h.login(user.username, user.password)
    const store = h.store as RedisRevocationStore
    store.client.disconnect()
    const res = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
    t.equal(res.statusCode, 503, 'a protected request with the store gone')
    t.match(res.json(), UNAVAILABLE)
    const logout = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/all/',
      headers: h.bearer(access),
    })
    t.equal(logout.statusCode, 503, 'logout/all with the store gone')
    const loginDown = await h.request({
      method: 'POST',
      url: '/api/token/',
      payload: { username: user.username, password: user.password },
    })
    t.ok([200, 503].includes(loginDown.statusCode), `login with the store gone: ${loginDown.statusCode}`)

    // Back up: the logout/all above was refused at authentication (the store could not be asked),
    // so nothing was revoked. Until the store is rebuilt requests fail closed, then the token works.
    await store.client.connect()
    const after = await untilNot503(() =>
      h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) }),
    )
    t.equal(after.statusCode, 200, 'requests succeed once Redis is back')
    const fresh = await h.login(user.username, user.password)
    const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(fresh.access) })
    t.equal(me.statusCode, 200, 'a new login works once Redis is back')
  })
})

t.test('Redis restarted and lost its keys: the deny-list is rebuilt from the database', async (t) => {
  await eachBackend(t, async (t, backend) => {
    if (backend !== 'real') return
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const loggedOut = await h.login(user.username, user.password)
    const kept = await h.login(user.username, user.password)
    const logout = await h.request({
      method: 'POST',
      url: '/api/logout/',
      headers: h.bearer(loggedOut.access),
      payload: { refresh: loggedOut.refresh },
    })
    t.equal(logout.statusCode, 200)
    const me = (access: string) => h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
    t.equal((await me(loggedOut.access)).statusCode, 401, 'logged out before the restart')

    // What a restart of a Redis that keeps nothing on disk does: every key gone, connections dropped.
    const store = h.store as RedisRevocationStore
    const admin = new Redis(REDIS_URL)
    t.teardown(() => admin.disconnect())
    const found = await admin.keys(`${store.prefix}*`)
    t.ok(found.length > 0, 'the logout wrote deny entries')
    await admin.del(...found)
    const id = await store.client.client('ID')
    await admin.client('KILL', 'ID', String(id))

    const after = await untilNot503(() => me(loggedOut.access))
    t.equal(after.statusCode, 401, 'the logged-out access token is refused again once Redis is back')
    t.match(after.json(), { code: 'token_revoked' })
    t.equal((await me(kept.access)).statusCode, 200, 'the other session is untouched')
  })
})

/**
 * Repeats a request while it answers 503 (store reconnecting or restoring), for up to 5 s, and
 * returns the first other answer: a revoked token let through meanwhile would be that answer.
 */
async function untilNot503<R extends { statusCode: number }>(send: () => Promise<R>): Promise<R> {
  const until = Date.now() + 5000
  for (;;) {
    const res = await send()
    if (res.statusCode !== 503 || Date.now() > until) return res
    await new Promise((r) => setTimeout(r, 50))
  }
}

t.test('no client input yields a 500', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const { access, refresh } = await h.login(user.username, user.password)
    const huge = 'x'.repeat(60_000)
    const deep = JSON.parse(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`)
    const odd: unknown[] = [
      huge,
      '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ \u0000 \ud800',
      deep,
      -1,
      0,
      1e308,
      -9007199254740991,
      Number.MAX_SAFE_INTEGER,
      true,
      null,
      [],
      [1, 'a'],
      {},
      { $ne: '' },
      "' OR 1=1 --",
      '%00',
      '../../etc/passwd',
    ]
    const urls = [
      '/api/token/',
      '/api/token/refresh/',
      '/api/token/verify/',
      '/api/token/blacklist/',
      '/api/logout/',
    ]
    const fields = [
      'username',
      'password',
      'email',
      'login',
      'client_type',
      'telegram_user_id',
      'refresh',
      'token',
    ]
    const failures: string[] = []
    const check = async (label: string, opts: Parameters<typeof h.request>[0]) => {
      const res = await h.request(opts)
      if (res.statusCode >= 500) failures.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    }
    for (const url of urls) {
      for (const value of odd) {
        for (const field of fields) {
          await check(`${url} ${field}=${JSON.stringify(value)?.slice(0, 40)}`, {
            method: 'POST',
            url,
            payload: { username: user.username, password: user.password, [field]: value },
          })
        }
        await check(`${url} body=${JSON.stringify(value)?.slice(0, 40)}`, {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(value),
        })
      }
      for (const [ct, body] of [
        ['application/json', '{"a":'],
        ['application/json', '\u00ff\u00fe'],
        ['application/x-www-form-urlencoded', 'username=%ZZ&password=%'],
        ['application/x-www-form-urlencoded', `refresh=${huge}`],
        ['text/plain', 'hello'],
        ['application/xml', '<a/>'],
        ['multipart/form-data; boundary=x', '--x--'],
        ['application/json; charset=latin1', '{}'],
      ] as const) {
        await check(`${url} ${ct}`, { method: 'POST', url, headers: { 'content-type': ct }, payload: body })
      }
      await check(`${url} too large`, {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: 'x'.repeat(200_000), password: 'p' }),
      })
    }
    const headers = [
      'Bearer',
      `Bearer ${huge}`,
      'Bearer ☃.☃.☃',
      'Bearer a.b.c',
      'Bearer ....',
      `Bearer ${refresh}`,
      `Bearer ${access.split('.').slice(0, 2).join('.')}.`,
      `Bearer ${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('[]').toString('base64url')}.x`,
      `Bearer ${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('null').toString('base64url')}.x`,
      'Basic dXNlcjpwYXNz',
      '\t Bearer  x \t',
    ]
    for (const authorization of headers) {
      for (const [method, url] of [
        ['GET', '/api/user/'],
        ['GET', '/api/test-auth/'],
        ['POST', '/api/v1/auth/logout/all/'],
        ['POST', '/api/logout/'],
        ['PUT', '/api/user/'],
      ] as const) {
        await check(`${method} ${url} with ${authorization.slice(0, 30)}`, {
          method,
          url,
          headers: { authorization },
          payload: method === 'POST' ? { refresh } : undefined,
        })
      }
    }
    for (const url of [
      '/api/v1/auth/users/-1/',
      '/api/v1/auth/users/99999999999999999999/',
      '/%E0%A4%A',
      '/api/v1/auth/sessions/abc/',
    ]) {
      await check(`GET ${url}`, { method: 'GET', url, headers: h.bearer(access) })
    }
    t.same(failures, [], 'no 5xx for any odd input')
    // (The loop logged that session out, through the logout and blacklist bodies.)
    const fresh = await h.login(user.username, user.password)
    const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(fresh.access) })
    t.equal(me.statusCode, 200, 'the service still answers normally afterwards')
  })
})
