import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const A = '/api/v1/auth/admin'

t.test('operator session list and revoke', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staff = await h.createUser({ isStaff: true })
    const alice = await h.createUser({ username: 'alice_ops' })
    const bob = await h.createUser({ username: 'bob_ops' })
    const op = await h.login(staff.username, staff.password)
    const a1 = await h.login(alice.username, alice.password, {
      client_type: 'website',
      device_name: 'Work Laptop',
    })
    const a2 = await h.login(alice.username, alice.password, { client_type: 'telegram_bot' })
    const fromIp = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      remoteAddress: '10.20.30.40',
      payload: { username: bob.username, password: bob.password, client_type: 'mobile' },
    })
    t.equal(fromIp.statusCode, 200)
    const b1 = fromIp.json() as { access: string; session_id: number }
    const list = (query: string, access = op.access) =>
      h.request({ method: 'GET', url: `${A}/sessions/${query}`, headers: h.bearer(access) })
    const ids = (res: { json(): { results: { id: number }[] } }) =>
      res
        .json()
        .results.map((r) => r.id)
        .sort((x, y) => x - y)

    await t.test('staff only', async (t) => {
      const denied = await list('', a1.access)
      t.equal(denied.statusCode, 403)
      t.same(denied.json(), {
        detail: 'You do not have permission to perform this action.',
        code: 'permission_denied',
      })
      t.equal((await h.request({ method: 'GET', url: `${A}/sessions/` })).statusCode, 401)
    })

    await t.test('every session, paginated, newest first, with the owner’s username', async (t) => {
      const res = await list('')
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.match(body, { count: 4, next: null, previous: null })
      t.same(
        body.results.map((s: { id: number }) => s.id),
        [b1.session_id, a2.session_id, a1.session_id, op.session_id],
      )
      t.match(body.results[2], {
        username: 'alice_ops',
        user_id: alice.id,
        client_type: 'website',
        device_name: 'Work Laptop',
        is_active: true,
        is_current: false,
      })
      t.equal(body.results[3].is_current, true, 'the operator’s own session is marked')
      const page = (await list('?page_size=3&page=2')).json()
      t.same(
        page.results.map((s: { id: number }) => s.id),
        [op.session_id],
      )
      t.equal(page.previous, 'http://127.0.0.1:8000/api/v1/auth/admin/sessions/?page_size=3')
      t.equal(page.next, null)
      t.equal((await list('?page=3&page_size=3')).statusCode, 404)
    })

    await t.test('filters and search', async (t) => {
      t.same(ids(await list('?client_type=telegram_bot')), [a2.session_id])
      t.same(ids(await list(`?user_id=${alice.id}`)), [a1.session_id, a2.session_id])
      t.same(ids(await list('?search=ALICE_')), [a1.session_id, a2.session_id], 'username, any case')
      t.same(ids(await list('?search=laptop')), [a1.session_id], 'device name')
      t.same(ids(await list('?search=10.20.30')), [b1.session_id], 'IP address')
      t.same(ids(await list(`?search=ops&client_type=mobile&user_id=${bob.id}`)), [b1.session_id])
      t.equal((await list('?is_active=false')).json().count, 0)
      const badType = await list('?client_type=fax')
      t.equal(badType.statusCode, 400)
      t.same(badType.json(), { client_type: ['"fax" is not a valid choice.'] })
      t.equal((await list('?is_active=sometimes')).statusCode, 400)
      t.equal((await list('?user_id=abc')).statusCode, 400)
    })

    await t.test('revoke any session: its tokens stop at once', async (t) => {
      const post = (id: number | string, access = op.access) =>
        h.request({ method: 'POST', url: `${A}/sessions/${id}/revoke/`, headers: h.bearer(access) })
      t.equal((await post(a2.session_id, a1.access)).statusCode, 403, 'not for a plain user')
      const res = await post(a2.session_id)
      t.equal(res.statusCode, 200)
      t.same(res.json(), { message: 'Session revoked successfully', session_id: a2.session_id })
      const me = (access: string) =>
        h.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: h.bearer(access) })
      t.equal((await me(a2.access)).json().code, 'token_revoked')
      const refresh = await h.request({
        method: 'POST',
        url: '/api/v1/auth/token/refresh/',
        payload: { refresh: a2.refresh },
      })
      t.equal(refresh.statusCode, 401)
      t.equal((await me(a1.access)).statusCode, 200, 'the user’s other session works')
      t.same(ids(await list('?is_active=false')), [a2.session_id])
      t.match((await list('?is_active=false')).json().results[0], { revoked_reason: 'admin_revoked' })
      t.equal((await post(a2.session_id)).statusCode, 200, 'again: still 200')
      t.equal((await post(987654)).statusCode, 404)
      t.equal((await post('x')).statusCode, 404)
    })
  })
})

t.test('invalidate all tokens', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const root = await h.createUser({ isStaff: true, isSuperuser: true })
    const staff = await h.createUser({ isStaff: true })
    const user = await h.createUser()
    const su = await h.login(root.username, root.password)
    const op = await h.login(staff.username, staff.password)
    const u1 = await h.login(user.username, user.password, { client_type: 'website' })
    const u2 = await h.login(user.username, user.password, { client_type: 'mobile' })
    const me = (access: string) =>
      h.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: h.bearer(access) })

    for (const url of [`${A}/invalidate-all-tokens/`, '/admin/invalidate-all-tokens/']) {
      for (const tok of [op, u1]) {
        const res = await h.request({ method: 'POST', url, headers: h.bearer(tok.access) })
        t.equal(res.statusCode, 403, `${url}: superusers only`)
        t.equal(res.json().code, 'permission_denied')
      }
      t.equal((await h.request({ method: 'POST', url })).statusCode, 401)
    }
    t.equal((await me(u1.access)).statusCode, 200, 'refused attempts changed nothing')

    const res = await h.request({
      method: 'POST',
      url: `${A}/invalidate-all-tokens/`,
      headers: h.bearer(su.access),
    })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'All user sessions invalidated successfully', revoked_sessions: 4 })
    for (const tok of [su, op, u1, u2]) {
      const after = await me(tok.access)
      t.equal(after.statusCode, 401)
      t.equal(after.json().code, 'token_revoked')
      const refresh = await h.request({
        method: 'POST',
        url: '/api/v1/auth/token/refresh/',
        payload: { refresh: tok.refresh },
      })
      t.equal(refresh.statusCode, 401)
    }

    // A new login right after works, and the alias path does the same.
    const again = await h.login(root.username, root.password)
    const fresh = await h.login(user.username, user.password)
    t.equal((await me(fresh.access)).statusCode, 200)
    const alias = await h.request({
      method: 'POST',
      url: '/admin/invalidate-all-tokens',
      headers: h.bearer(again.access),
    })
    t.equal(alias.statusCode, 200)
    t.equal(alias.json().revoked_sessions, 2)
    t.equal((await me(fresh.access)).json().code, 'token_revoked')
    t.equal((await me((await h.login(user.username, user.password)).access)).statusCode, 200)
  })
})
