import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const V1 = '/api/v1/auth'

// Issue 25 item 5: one rule for every staff action on another account (the one PATCH applies):
// within the tenant, and a superuser's account only for a superuser. Sessions, audit reads,
// introspection and RFC 7009 revocation included.
t.test('ordinary staff can neither log out nor watch a superuser', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    // Staff without a tenant share the tenant "none" with the superuser: in scope, yet not theirs.
    const staff = await h.createUser({ isStaff: true })
    const root = await h.createUser({ isStaff: true, isSuperuser: true })
    const root2 = await h.createUser({ isStaff: true, isSuperuser: true })
    const user = await h.createUser()
    const s = await h.login(staff.username, staff.password)
    const r = await h.login(root.username, root.password, { user_agent: 'x' })
    const r2 = await h.login(root2.username, root2.password)
    const u = await h.login(user.username, user.password)
    const call = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      access: string,
      payload?: object,
    ) => h.request({ method, url, headers: h.bearer(access), payload })
    const alive = async (access: string) => (await call('GET', `${V1}/users/me/`, access)).statusCode === 200

    await t.test('revoking a superuser’s session: 403, as PATCH', async (t) => {
      const patch = await call('PATCH', `${V1}/users/${root.id}/`, s.access, { last_name: 'x' })
      t.equal(patch.statusCode, 403)
      const revoke = await call('POST', `${V1}/admin/sessions/${r.session_id}/revoke/`, s.access)
      t.equal(revoke.statusCode, 403)
      t.same(revoke.json(), {
        detail: 'You do not have permission to perform this action.',
        code: 'permission_denied',
      })
      t.ok(await alive(r.access), 'the superuser is still logged in')
      const own = await call('POST', `${V1}/admin/sessions/${u.session_id}/revoke/`, s.access)
      t.equal(own.statusCode, 200, 'a user of the tenant: allowed')
    })

    await t.test('listing sessions leaves out the superusers’', async (t) => {
      const list = (await call('GET', `${V1}/admin/sessions/?page_size=100`, s.access)).json()
      const owners = new Set(list.results.map((x: { user_id: number }) => x.user_id))
      t.ok(owners.has(staff.id) && owners.has(user.id))
      t.notOk(owners.has(root.id) || owners.has(root2.id), 'no superuser session (their IP, user agent)')
      const named = (await call('GET', `${V1}/admin/sessions/?user_id=${root.id}`, s.access)).json()
      t.equal(named.count, 0)
      const bySu = (await call('GET', `${V1}/admin/sessions/?user_id=${root.id}`, r2.access)).json()
      t.equal(bySu.count, 1, 'a superuser still sees them')
    })

    await t.test('the audit trail leaves out the rows about superusers', async (t) => {
      await h.app.audit.flush()
      const rows = (await call('GET', `${V1}/admin/audit/?page_size=200`, s.access)).json().results
      const about = new Set(rows.map((x: { user_id: number | null }) => x.user_id))
      t.ok(about.has(user.id), 'the tenant’s users’ rows are there')
      t.notOk(about.has(root.id) || about.has(root2.id))
      const named = await call('GET', `${V1}/admin/audit/?user_id=${root.id}`, s.access)
      t.same(named.json().results, [])
      const bySu = (await call('GET', `${V1}/admin/audit/?user_id=${root.id}`, r2.access)).json()
      t.ok(bySu.results.length > 0, 'a superuser still reads them')
    })

    await t.test('introspection and revocation: a superuser’s token is not theirs to see', async (t) => {
      const form = (url: string, access: string, token: string) =>
        h.request({
          method: 'POST',
          url,
          headers: { ...h.bearer(access), 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ token }).toString(),
        })
      t.same((await form(`${V1}/introspect/`, s.access, r2.access)).json(), { active: false })
      t.equal((await form(`${V1}/revoke/`, s.access, r2.refresh)).statusCode, 200)
      const refresh = await h.request({
        method: 'POST',
        url: `${V1}/token/refresh/`,
        payload: { refresh: r2.refresh },
      })
      t.equal(refresh.statusCode, 200, 'the superuser’s refresh token still works')
      t.match((await form(`${V1}/introspect/`, r.access, s.access)).json(), { active: true })
    })

    await t.test('a superuser acts on another superuser', async (t) => {
      const revoke = await call('POST', `${V1}/admin/sessions/${r.session_id}/revoke/`, r2.access)
      t.equal(revoke.statusCode, 200)
      t.notOk(await alive(r.access))
    })
  })
})
