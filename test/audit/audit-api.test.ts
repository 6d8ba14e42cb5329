import { sql } from 'drizzle-orm'
import t from 'tap'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

/** The staff audit API: who each row is about and who acted, by name; filters that refuse bad input. */
t.setTimeout(240_000)

const V1 = '/api/v1/auth'

interface Entry {
  type: string
  user_id: number | null
  username: string | null
  session_id: number | null
  actor_id: number | null
  actor_username: string | null
  details: Record<string, unknown>
}

async function superuser(app: TestApp, username: string) {
  const admin = await app.createUser({ username, isStaff: true, isSuperuser: true })
  const { access } = await app.login(admin.username, admin.password)
  return { ...admin, headers: app.bearer(access) }
}

async function entries(app: TestApp, headers: Record<string, string>, query = ''): Promise<Entry[]> {
  await app.app.audit.flush()
  const res = await app.request({ method: 'GET', url: `${V1}/admin/audit/?page_size=200&${query}`, headers })
  if (res.statusCode !== 200) throw new Error(`audit ${res.statusCode} ${res.body}`)
  return res.json().results
}

t.test('rows name the user and the actor as they were when the event was recorded', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { auditFlushMs: 20 })
    const admin = await superuser(app, 'olga.ops')
    const ruth = await app.createUser({ username: 'ruth' })
    const first = await app.login('ruth', ruth.password)
    const revoked = await app.request({
      method: 'POST',
      url: `${V1}/admin/sessions/${first.session_id}/revoke/`,
      headers: admin.headers,
    })
    t.equal(revoked.statusCode, 200)
    await app.request({ method: 'POST', url: `${V1}/token/`, payload: { username: 'nobody', password: 'x' } })
    await app.app.audit.flush()

    // No route renames a user; the database can, and the rows already written keep the old name.
    await app.database.db.execute(sql`update users set username = 'ruth.k' where id = ${ruth.id}`)
    app.app.repos.users.forget(ruth.id)
    const second = await app.login('ruth.k', ruth.password)

    const rows = await entries(app, admin.headers)
    const login = rows.find((r) => r.type === 'login.succeeded' && r.session_id === first.session_id)
    t.match(login, { user_id: ruth.id, username: 'ruth', actor_id: null, actor_username: null })
    const byStaff = rows.find((r) => r.type === 'session.revoked' && r.session_id === first.session_id)
    t.match(byStaff, { username: 'ruth', actor_id: admin.id, actor_username: 'olga.ops' })
    const later = rows.find((r) => r.type === 'login.succeeded' && r.session_id === second.session_id)
    t.equal(later?.username, 'ruth.k', 'a row written after the rename has the new name')
    const unknown = rows.find((r) => r.type === 'login.failed' && r.details.identifier === 'nobody')
    t.match(
      unknown,
      { user_id: null, username: null },
      'an unknown user has no name, only the identifier tried',
    )
  })
})

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
