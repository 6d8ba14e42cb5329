import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const V1 = '/api/v1/auth'

t.test('tenant isolation: a tenant operator sees and acts on their own tenant only', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staffA = await h.createUser({ isStaff: true, clientName: 'Company A' })
    const userA = await h.createUser({ clientName: 'Company A' })
    const rootA = await h.createUser({ isStaff: true, isSuperuser: true, clientName: 'Company A' })
    const userB = await h.createUser({ clientName: 'Company B' })
    const staffNone = await h.createUser({ isStaff: true })
    const root = await h.createUser({ isStaff: true, isSuperuser: true })
    const clientB = (await h.app.repos.clients.findOrCreate('Company B')).id
    const clientA = (await h.app.repos.clients.findOrCreate('Company A')).id

    const a = await h.login(staffA.username, staffA.password)
    const ua = await h.login(userA.username, userA.password, { client_type: 'website' })
    const ub = await h.login(userB.username, userB.password, { client_type: 'mobile' })
    const none = await h.login(staffNone.username, staffNone.password)
    const su = await h.login(root.username, root.password)
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, access: string, payload?: object) =>
      h.request({ method, url, headers: h.bearer(access), payload })
    const ids = (body: { results: { id: number }[] }) => body.results.map((r) => r.id).sort((x, y) => x - y)

    await t.test('login and me carry the tenant', async (t) => {
      t.match(ub.body, { client_id: clientB, client_name: 'Company B' })
      const claims = JSON.parse(Buffer.from(ub.access.split('.')[1]!, 'base64url').toString())
      t.equal(claims.client_id, clientB)
      const me = await call('GET', `${V1}/users/me/`, ub.access)
      t.match(me.json(), { client_id: clientB, client_name: 'Company B' })
    })

    await t.test('users: list, get and patch stop at the tenant boundary', async (t) => {
      const list = (await call('GET', `${V1}/users/`, a.access)).json()
      t.same(
        ids(list),
        [staffA.id, userA.id, rootA.id].sort((x, y) => x - y),
      )
      t.equal(list.count, 3)
      t.equal((await call('GET', `${V1}/users/?search=${userB.username}`, a.access)).json().count, 0)
      t.equal((await call('GET', `${V1}/users/${userA.id}/`, a.access)).statusCode, 200)
      for (const id of [userB.id, root.id]) {
        const get = await call('GET', `${V1}/users/${id}/`, a.access)
        t.equal(get.statusCode, 404)
        t.same(get.json(), { detail: 'Not found.', code: 'not_found' })
        t.equal((await call('PATCH', `${V1}/users/${id}/`, a.access, { is_active: false })).statusCode, 404)
      }
      t.equal((await call('GET', `${V1}/users/me/`, ub.access)).statusCode, 200, 'B was not deactivated')
      const demote = await call('PATCH', `${V1}/users/${rootA.id}/`, a.access, { is_active: false })
      t.equal(demote.statusCode, 403, "a tenant's operator cannot touch a superuser")

      // Staff without a tenant see the users without one, not the tenants'.
      const noTenant = (await call('GET', `${V1}/users/`, none.access)).json()
      t.same(
        ids(noTenant),
        [staffNone.id, root.id].sort((x, y) => x - y),
      )
    })

    await t.test('create: in the operator’s own tenant; only a superuser chooses', async (t) => {
      const own = await call('POST', `${V1}/users/`, a.access, {
        username: 'a_new',
        password: 'long enough pw',
      })
      t.equal(own.statusCode, 201)
      t.match(own.json(), { client_id: clientA, client_name: 'Company A' })
      const same = await call('POST', `${V1}/users/`, a.access, {
        username: 'a_new2',
        password: 'long enough pw',
        client_id: clientA,
      })
      t.equal(same.statusCode, 201, 'naming one’s own tenant is fine')
      const other = await call('POST', `${V1}/users/`, a.access, {
        username: 'a_sneaky',
        password: 'long enough pw',
        client_id: clientB,
      })
      t.equal(other.statusCode, 400)
      t.same(other.json(), { client_id: ['Only a superuser may choose the tenant of a user.'] })

      const bySu = await call('POST', `${V1}/users/`, su.access, {
        username: 'b_new',
        password: 'long enough pw',
        client_id: clientB,
      })
      t.equal(bySu.statusCode, 201)
      t.match(bySu.json(), { client_id: clientB, client_name: 'Company B' })
      const missing = await call('POST', `${V1}/users/`, su.access, {
        username: 'z_new',
        password: 'long enough pw',
        client_id: 777777,
      })
      t.equal(missing.statusCode, 400)
      t.same(missing.json(), { client_id: ['Invalid pk "777777" - object does not exist.'] })
    })

    await t.test('sessions: the admin list and revoke stop at the tenant boundary', async (t) => {
      const list = (await call('GET', `${V1}/admin/sessions/`, a.access)).json()
      const owners = new Set(list.results.map((s: { user_id: number }) => s.user_id))
      t.ok(owners.has(userA.id) && owners.has(staffA.id))
      t.notOk(owners.has(userB.id) || owners.has(root.id))
      const filtered = (await call('GET', `${V1}/admin/sessions/?user_id=${userB.id}`, a.access)).json()
      t.equal(filtered.count, 0)

      const revokeB = await call('POST', `${V1}/admin/sessions/${ub.session_id}/revoke/`, a.access)
      t.equal(revokeB.statusCode, 404)
      t.same(revokeB.json(), { detail: 'Not found.', code: 'not_found' })
      t.equal((await call('GET', `${V1}/users/me/`, ub.access)).statusCode, 200, 'B’s session survives')
      t.equal((await call('GET', `${V1}/sessions/${ub.session_id}/`, a.access)).statusCode, 404)

      const revokeA = await call('POST', `${V1}/admin/sessions/${ua.session_id}/revoke/`, a.access)
      t.equal(revokeA.statusCode, 200)
      t.equal((await call('GET', `${V1}/users/me/`, ua.access)).json().code, 'token_revoked')
    })

    await t.test('a superuser sees and acts on every tenant', async (t) => {
      const users = (await call('GET', `${V1}/users/?page_size=100`, su.access)).json()
      for (const u of [staffA, userA, userB, staffNone, root]) t.ok(ids(users).includes(u.id))
      t.equal((await call('GET', `${V1}/users/${userB.id}/`, su.access)).statusCode, 200)
      const sessions = (await call('GET', `${V1}/admin/sessions/?user_id=${userB.id}`, su.access)).json()
      t.same(ids(sessions), [ub.session_id])
      const revoke = await call('POST', `${V1}/admin/sessions/${ub.session_id}/revoke/`, su.access)
      t.equal(revoke.statusCode, 200)
      t.equal((await call('GET', `${V1}/users/me/`, ub.access)).json().code, 'token_revoked')
      const patch = await call('PATCH', `${V1}/users/${userB.id}/`, su.access, { last_name: 'Bee' })
      t.equal(patch.json().last_name, 'Bee')
    })
  })
})
