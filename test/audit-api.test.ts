import t from 'tap'
import { eachBackend, makeApp, type TestApp } from './helpers/backends.js'

/** The staff audit API: filters that refuse bad input. */
t.setTimeout(240_000)

const V1 = '/api/v1/auth'

async function superuser(app: TestApp, username: string) {
  const admin = await app.createUser({ username, isStaff: true, isSuperuser: true })
  const { access } = await app.login(admin.username, admin.password)
  return { ...admin, headers: app.bearer(access) }
}

t.test('every audit filter refuses a NUL with a 400 in DRF shape, never a 500', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { auditFlushMs: 20 })
    const admin = await superuser(app, 'nul.checker')
    for (const [query, field] of [
      ['ip=%00', 'ip'],
      ['ip=192.0.2.1%00', 'ip'],
      ['ip=192.0.2.1&ip=%00', 'ip'],
      ['type=%00', 'type'],
      ['type=login.failed,%00', 'type'],
    ] as const) {
      const res = await app.request({
        method: 'GET',
        url: `${V1}/admin/audit/?${query}`,
        headers: admin.headers,
      })
      t.equal(res.statusCode, 400, query)
      t.same(res.json(), { [field]: ['Null characters are not allowed.'] }, query)
    }
    const fine = await app.request({
      method: 'GET',
      url: `${V1}/admin/audit/?ip=192.0.2.1`,
      headers: admin.headers,
    })
    t.equal(fine.statusCode, 200, 'a valid filter still answers')
  })
})
