import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const S = '/api/v1/auth/sessions'

t.test("the caller's sessions: list, get, revoke, revoke all", async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const other = await h.createUser()
    const a = await h.login(user.username, user.password, { client_type: 'website', device_name: 'Laptop' })
    const b = await h.login(user.username, user.password, { client_type: 'mobile', device_name: 'Phone' })
    const theirs = await h.login(other.username, other.password)
    const get = (url: string, access = a.access) =>
      h.request({ method: 'GET', url, headers: h.bearer(access) })
    const post = (url: string, payload?: object, access = a.access) =>
      h.request({ method: 'POST', url, headers: h.bearer(access), payload })

    await t.test('list: only mine, is_current on the request’s own, with and without slash', async (t) => {
      for (const url of [`${S}/`, S]) {
        const res = await get(url)
        t.equal(res.statusCode, 200)
        const list = res.json()
        t.same(list.map((s: { id: number }) => s.id).sort(), [a.session_id, b.session_id].sort())
        const mine = list.find((s: { id: number }) => s.id === a.session_id)
        t.match(mine, {
          client_type: 'website',
          device_name: 'Laptop',
          is_active: true,
          is_current: true,
          user_agent: 'lightMyRequest',
          ip_address: '127.0.0.1',
        })
        t.match(mine.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
        t.equal(list.find((s: { id: number }) => s.id === b.session_id).is_current, false)
      }
    })

    await t.test('get: mine 200; someone else’s, unknown and malformed ids 404', async (t) => {
      const mine = await get(`${S}/${b.session_id}/`)
      t.equal(mine.statusCode, 200)
      t.match(mine.json(), { id: b.session_id, device_name: 'Phone', is_current: false })
      for (const id of [theirs.session_id, 999999, 'abc', 0, -1, '1.5', '99999999999999']) {
        const res = await get(`${S}/${id}/`)
        t.equal(res.statusCode, 404, `id ${id}`)
        t.same(res.json(), { detail: 'Not found.', code: 'not_found' })
      }
    })

    await t.test('GET on revoke_all is 405 (the action), not a session id that is not found', async (t) => {
      for (const url of [`${S}/revoke_all/`, `${S}/revoke_all`, `${S}/revoke_all/?x=1`]) {
        const res = await get(url)
        t.equal(res.statusCode, 405, url)
        t.same(res.json(), { detail: 'Method "GET" not allowed.', code: 'method_not_allowed' })
        t.equal(res.headers.allow, 'OPTIONS, POST', 'only the action’s own methods')
      }
      const anon = await h.request({ method: 'GET', url: `${S}/revoke_all/` })
      t.equal(anon.statusCode, 401, 'authentication comes first, as DRF')
      for (const method of ['PUT', 'DELETE'] as const) {
        const res = await h.request({ method, url: `${S}/${b.session_id}/`, headers: h.bearer(a.access) })
        t.equal(res.statusCode, 405, `${method} on a session`)
        t.equal(res.headers.allow, 'GET, HEAD, OPTIONS', 'a parametric path keeps its own methods')
      }
      t.equal((await get(`${S}/${b.session_id}/`)).statusCode, 200, 'a real id still reaches its session')
    })

    await t.test('no token: 401 with WWW-Authenticate', async (t) => {
      const res = await h.request({ method: 'GET', url: `${S}/` })
      t.equal(res.statusCode, 401)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
      t.same(res.json(), { detail: 'Authentication credentials were not provided.' })
    })

    await t.test('revoke one: its tokens stop, it shows only with include_inactive', async (t) => {
      const res = await post(`${S}/${b.session_id}/revoke/`)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: 'Session revoked successfully', session_id: b.session_id })
      const stopped = await get(`${S}/`, b.access)
      t.equal(stopped.statusCode, 401)
      t.equal(stopped.json().code, 'token_revoked')
      const refresh = await h.request({
        method: 'POST',
        url: '/api/v1/auth/token/refresh/',
        payload: { refresh: b.refresh },
      })
      t.equal(refresh.statusCode, 401)

      const active = (await get(`${S}/`)).json()
      t.same(
        active.map((s: { id: number }) => s.id),
        [a.session_id],
      )
      const all = (await get(`${S}/?include_inactive=true`)).json()
      const revoked = all.find((s: { id: number }) => s.id === b.session_id)
      t.match(revoked, { is_active: false, revoked_reason: 'user_revoked' })
      t.ok(revoked.revoked_at)
      t.equal((await get(`${S}/?include_inactive=false`)).json().length, 1)
      t.equal((await get(`${S}/?include_inactive=maybe`)).statusCode, 400)

      // Revoking it again: still 200, the goal holds.
      t.equal((await post(`${S}/${b.session_id}/revoke/`)).statusCode, 200)
      // Someone else's: 404, and it keeps working.
      const foreign = await post(`${S}/${theirs.session_id}/revoke/`)
      t.equal(foreign.statusCode, 404)
      t.equal((await get(`${S}/`, theirs.access)).statusCode, 200)
      t.equal((await post(`${S}/nope/revoke/`)).statusCode, 404)
    })

    await t.test('revoke_all keep_current spares the caller’s own session', async (t) => {
      const c = await h.login(user.username, user.password, { client_type: 'telegram_bot' })
      const d = await h.login(user.username, user.password)
      const res = await post(`${S}/revoke_all/`, { keep_current: true }, c.access)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: '2 session(s) revoked successfully', revoked_count: 2 })
      t.equal((await get(`${S}/`, c.access)).statusCode, 200)
      t.equal((await get(`${S}/`, a.access)).json().code, 'token_revoked')
      t.equal((await get(`${S}/`, d.access)).json().code, 'token_revoked')
      const list = (await get(`${S}/`, c.access)).json()
      t.same(
        list.map((s: { id: number }) => s.id),
        [c.session_id],
      )
    })

    await t.test('revoke_all without keep_current (default) stops every token, its own too', async (t) => {
      const e = await h.login(user.username, user.password)
      const f = await h.login(user.username, user.password)
      const res = await post(`${S}/revoke_all`, {}, e.access)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: '3 session(s) revoked successfully', revoked_count: 3 })
      for (const tok of [e, f]) {
        const after = await get(`${S}/`, tok.access)
        t.equal(after.statusCode, 401)
        t.equal(after.json().code, 'token_revoked')
      }
      const again = await h.login(user.username, user.password)
      t.equal((await get(`${S}/`, again.access)).statusCode, 200, 'a new login works')
      const bad = await post(`${S}/revoke_all/`, { keep_current: 'perhaps' }, again.access)
      t.equal(bad.statusCode, 400)
      t.ok(bad.json().keep_current)
      // The other user was never touched.
      t.equal((await get(`${S}/`, theirs.access)).statusCode, 200)
    })
  })
})
