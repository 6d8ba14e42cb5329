import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { craftToken, decodeJwt } from '../helpers/tokens.js'

const REFRESH = '/api/token/refresh/'
const notValid = (detail: string) => ({ detail, code: 'token_not_valid' })
const BLACKLISTED = notValid('Token is blacklisted')

const refreshWith = (h: TestApp, refresh: unknown, url = REFRESH) =>
  h.request({ method: 'POST', url, payload: { refresh } })
const meWith = (h: TestApp, access: string) =>
  h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })

t.test('refresh with rotation (rows 47-55)', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser({ clientName: 'Rot' })
    let { refresh, access } = await h.login(user.username, user.password)
    const r1 = decodeJwt(refresh).payload

    for (const url of paths.refresh) {
      const res = await refreshWith(h, refresh, url)
      t.equal(res.statusCode, 200, `refresh at ${url}`)
      const body = res.json()
      t.same(Object.keys(body).sort(), ['access', 'refresh'])
      t.not(body.refresh, refresh, 'a new refresh token')
      const a = decodeJwt(body.access).payload
      const r = decodeJwt(body.refresh).payload
      t.equal(a.token_type, 'access')
      t.equal(r.token_type, 'refresh')
      t.equal(a.sid, r1.sid, 'same session')
      t.equal(r.sid, r1.sid, 'same session')
      t.equal(a.client_id, r1.client_id, 'tenant claim carried over')
      t.equal(a.user_id, user.id)
      t.equal(
        a.iat,
        decodeJwt(refresh).payload.iat,
        "as SimpleJWT: access copies the presented refresh's iat",
      )
      t.equal(Number(r.exp) - Number(r.iat), 604800, 'sliding refresh lifetime')
      t.match(a.jti, /^[0-9a-f]{32}$/)
      t.not(a.jti, r.jti)
      const me = await meWith(h, body.access)
      t.equal(me.statusCode, 200, 'the new access token works')
      refresh = body.refresh
      access = body.access
    }
    const noSlash = await refreshWith(h, refresh, '/api/token/refresh')
    t.equal(noSlash.statusCode, 200, 'trailing slash optional')
    refresh = noSlash.json().refresh

    const wrongType = await refreshWith(h, access)
    t.equal(wrongType.statusCode, 401, 'refresh with an access token (row 51)')
    t.same(wrongType.json(), notValid('Token has wrong type'))
    const garbage = await refreshWith(h, 'garbage')
    t.equal(garbage.statusCode, 401, 'garbage (row 52)')
    t.same(garbage.json(), notValid('Token is invalid or expired'))
    const missing = await h.request({ method: 'POST', url: REFRESH, payload: {} })
    t.equal(missing.statusCode, 400, 'missing field (row 53)')
    t.same(missing.json(), { refresh: ['This field is required.'] })
    const blank = await refreshWith(h, '')
    t.same(blank.json(), { refresh: ['This field may not be blank.'] })
    const form = await h.request({
      method: 'POST',
      url: REFRESH,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `refresh=${refresh}`,
    })
    t.equal(form.statusCode, 200, 'form-encoded refresh')
    refresh = form.json().refresh

    // Expired and foreign refresh tokens.
    const now = Math.floor(Date.now() / 1000)
    const cur = decodeJwt(refresh).payload
    const expired = craftToken({ ...cur, exp: now - 5, iat: now - 100 }, h.config.signingKey)
    t.same((await refreshWith(h, expired)).json(), notValid('Token is invalid or expired'), 'expired refresh')
    const foreign = craftToken(cur, 'some-other-key-some-other-key-some')
    t.same((await refreshWith(h, foreign)).json(), notValid('Token is invalid or expired'), 'foreign key')
    // Refresh tokens go through their own (uncached) verifier: its algorithm is pinned as well.
    const key = h.config.signingKey
    for (const [name, token] of [
      ['alg none', craftToken(cur, key, { alg: 'none', typ: 'JWT' })],
      ['HS512 with our key', craftToken(cur, key, { alg: 'HS512', typ: 'JWT' })],
    ] as const) {
      for (const [url, field, status] of [
        [REFRESH, 'refresh', 401],
        ['/api/token/blacklist/', 'refresh', 401],
        ['/api/logout/', 'refresh', 400],
      ] as const) {
        const res = await h.request({ method: 'POST', url, payload: { [field]: token } })
        t.equal(res.statusCode, status, `${name} refused by ${url}`)
        t.same(res.json(), notValid('Token is invalid or expired'), `${name} at ${url}: body`)
      }
    }
    const noUser = craftToken({ ...cur, user_id: undefined, jti: 'd'.repeat(32) }, h.config.signingKey)
    const noUserRes = await refreshWith(h, noUser)
    t.equal(noUserRes.statusCode, 401, 'refresh without user_id')
    t.equal(noUserRes.json().code, 'token_not_valid')
    t.equal((await refreshWith(h, refresh)).statusCode, 200, 'the current token survived those attempts')

    // API.md decides over row 55: an inactive user's refresh token is refused.
    const sleeper = await h.createUser()
    const s = await h.login(sleeper.username, sleeper.password)
    await h.app.repos.users.update(sleeper.id, { isActive: false })
    const inactive = await refreshWith(h, s.refresh)
    t.equal(inactive.statusCode, 401, 'refresh for an inactive user')
    t.equal(inactive.json().code, 'user_inactive')
  })
})

t.test('rotation off returns only an access token', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { rotateRefreshTokens: false })
    const user = await h.createUser()
    const { refresh } = await h.login(user.username, user.password)
    for (let i = 0; i < 2; i++) {
      const res = await refreshWith(h, refresh)
      t.equal(res.statusCode, 200, `refresh #${i + 1} with the same token`)
      t.same(Object.keys(res.json()), ['access'])
      t.equal((await meWith(h, res.json().access)).statusCode, 200)
    }
    await h.request({ method: 'POST', url: '/api/token/blacklist/', payload: { refresh } })
    const after = await refreshWith(h, refresh)
    t.equal(after.statusCode, 401, 'refresh after blacklist')
    t.same(after.json(), BLACKLISTED)
  })
})

t.test('reuse of a rotated refresh token revokes the session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    // No grace: the replay below, made after the rotation answered, is reuse.
    const h = await makeApp(t, backend, { refreshReuseGraceSeconds: 0 })
    const user = await h.createUser()
    const login = await h.login(user.username, user.password)
    const first = await refreshWith(h, login.refresh)
    t.equal(first.statusCode, 200)
    const r2 = first.json().refresh
    const a2 = first.json().access

    const replay = await refreshWith(h, login.refresh)
    t.equal(replay.statusCode, 401, 'the rotated token again')
    t.same(replay.json(), BLACKLISTED)

    const next = await refreshWith(h, r2)
    t.equal(next.statusCode, 401, 'the newest refresh token of the session is now dead')
    t.same(next.json(), BLACKLISTED)
    for (const [name, access] of [
      ['login access', login.access],
      ['refreshed access', a2],
    ]) {
      const me = await meWith(h, access!)
      t.equal(me.statusCode, 401, `${name} is revoked with its session`)
      t.equal(me.json().code, 'token_revoked')
    }
    const session = await h.app.repos.sessions.findById(login.session_id)
    t.equal(session?.isActive, false, 'the session is recorded as revoked')

    const other = await h.login(user.username, user.password)
    t.equal((await meWith(h, other.access)).statusCode, 200, 'other sessions of the user are untouched')
  })
})

t.test('within the grace a repeated refresh gets the same new pair; after it, reuse is caught', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { refreshReuseGraceSeconds: 1 })
    const user = await h.createUser()
    const login = await h.login(user.username, user.password)
    const first = await refreshWith(h, login.refresh)
    t.equal(first.statusCode, 200)
    const again = await refreshWith(h, login.refresh)
    t.equal(again.statusCode, 200, 'a repeat within the grace is answered')
    t.same(again.json(), first.json(), 'with the very pair the rotation issued')
    t.equal((await meWith(h, first.json().access)).statusCode, 200, 'the access token works')
    const next = await refreshWith(h, first.json().refresh)
    t.equal(next.statusCode, 200, 'the new refresh token works: the session moves on')

    // The grace counts from the rotation: after it, presenting the spent token is reuse.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const late = await refreshWith(h, first.json().refresh)
    t.equal(late.statusCode, 401, 'a replay after the grace is refused')
    t.same(late.json(), BLACKLISTED)
    t.equal((await meWith(h, next.json().access)).json().code, 'token_revoked', 'and revokes the session')
    const session = await h.app.repos.sessions.findById(login.session_id)
    t.equal(session?.revokedReason, 'refresh_reuse')
  })
})

t.test('concurrent refreshes with one token never log the user out (100 trials of 10)', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    t.equal(h.config.refreshReuseGraceSeconds, 2, 'the default grace')
    const user = await h.createUser()
    let revoked = 0
    let diverged = 0
    for (let trial = 0; trial < 100; trial++) {
      const login = await h.login(user.username, user.password)
      const results = await Promise.all(Array.from({ length: 10 }, () => refreshWith(h, login.refresh)))
      const bodies = results.map((r) => (r.statusCode === 200 ? r.body : `${r.statusCode}`))
      if (new Set(bodies).size !== 1 || results[0]!.statusCode !== 200) diverged++
      const session = await h.app.repos.sessions.findById(login.session_id)
      if (!session?.isActive) revoked++
    }
    t.equal(revoked, 0, 'no session was revoked')
    t.equal(diverged, 0, 'in every trial all ten got 200 and one and the same pair')
  })
})

t.test('without a grace, of ten concurrent refreshes one wins and the session survives', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { refreshReuseGraceSeconds: 0 })
    const user = await h.createUser()
    const login = await h.login(user.username, user.password)
    const results = await Promise.all(Array.from({ length: 10 }, () => refreshWith(h, login.refresh)))
    const statuses = results.map((r) => r.statusCode)
    t.equal(statuses.filter((s) => s === 200).length, 1, `exactly one 200 (got ${statuses.join(',')})`)
    t.equal(statuses.filter((s) => s === 401).length, 9, 'the others are 401')
    for (const r of results.filter((r) => r.statusCode === 401)) t.same(r.json(), BLACKLISTED)
    const winner = results.find((r) => r.statusCode === 200)!.json()

    t.equal((await meWith(h, winner.access)).statusCode, 200, "the winner's access token works")
    const next = await refreshWith(h, winner.refresh)
    t.equal(next.statusCode, 200, "the winner's refresh token still works: losers are not reuse")
    t.equal((await meWith(h, login.access)).statusCode, 200, 'the login access token still works')
  })
})

t.test('a signed token the batch statement could not read fails alone, not its batch', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const { refresh } = await h.login(user.username, user.password)
    const cur = decodeJwt(refresh).payload
    const key = h.config.signingKey
    const odd = [craftToken({ ...cur, sid: 2 ** 40 }, key), craftToken({ ...cur, user_id: 2 ** 40 }, key)]
    // Sent together with a good refresh, so they would share its batch.
    const [good, ...rest] = await Promise.all([
      refreshWith(h, refresh),
      ...odd.map((tok) => refreshWith(h, tok)),
    ])
    t.equal(good!.statusCode, 200, 'the good refresh in the same turn succeeds')
    for (const res of rest) {
      t.equal(res.statusCode, 401, 'an id beyond the database integer range is refused, not a 500')
      t.match(res.json(), { code: 'token_not_valid' })
    }
    // Another jti for this session is reuse (it revokes the session), and a NUL in it is no 500.
    const nul = craftToken({ ...cur, jti: `${String(cur.jti).slice(0, 31)}\u0000` }, key)
    const res = await refreshWith(h, nul)
    t.equal(res.statusCode, 401, 'a jti the statement could not read is refused, not a 500')
  })
})
