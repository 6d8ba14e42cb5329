import { sql } from 'drizzle-orm'
import t from 'tap'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

/**
 * A change that revokes sessions commits with the revocation or not at all: a database failure
 * halfway must never leave a new password working while the old sessions still refresh.
 */

/** Makes every update of a sessions row fail as a lost connection would, until removed. */
async function breakSessionUpdates(h: TestApp): Promise<() => Promise<void>> {
  await h.database.db.execute(sql`create or replace function fail_session_update() returns trigger
    language plpgsql as $$ begin raise exception 'connection lost' using errcode = 'admin_shutdown'; end $$`)
  await h.database.db.execute(sql`create trigger fail_session_update before update on sessions
    for each row execute function fail_session_update()`)
  return async () => {
    await h.database.db.execute(sql`drop trigger fail_session_update on sessions`)
  }
}

const refresh = (h: TestApp, token: string) =>
  h.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh: token } })

t.test('password change: all of it or none of it', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser({ password: 'old password 1' })
    const current = await h.login(user.username, 'old password 1')
    const other = await h.login(user.username, 'old password 1')
    const repair = await breakSessionUpdates(h)

    const changePassword = () =>
      h.request({
        method: 'POST',
        url: '/api/v1/auth/users/me/password/',
        headers: h.bearer(current.access),
        payload: { old_password: 'old password 1', new_password: 'new password 2' },
      })
    const change = await changePassword()
    t.equal(change.statusCode, 503, 'the failure is reported as the database being unavailable')
    t.equal(change.json().code, 'service_unavailable')
    await repair()

    const newLogin = await h.request({
      method: 'POST',
      url: '/api/token/',
      payload: { username: user.username, password: 'new password 2' },
    })
    t.equal(newLogin.statusCode, 401, 'the new password does not work')
    t.ok(await h.login(user.username, 'old password 1'), 'the old password still does')
    t.equal((await refresh(h, other.refresh)).statusCode, 200, 'the other session lives on')

    const retried = await changePassword()
    t.equal(retried.statusCode, 200, 'once the database answers, the change goes through')
  })
})

t.test('deactivation: all of it or none of it', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staff = await h.createUser({ isStaff: true, isSuperuser: true })
    const staffLogin = await h.login(staff.username, staff.password)
    const user = await h.createUser()
    const session = await h.login(user.username, user.password)
    const repair = await breakSessionUpdates(h)
    const patch = await h.request({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/`,
      headers: h.bearer(staffLogin.access),
      payload: { is_active: false, first_name: 'Gone' },
    })
    t.equal(patch.statusCode, 503)
    await repair()
    const row = await h.app.repos.users.findById(user.id)
    t.equal(row?.isActive, true, 'the user is still active')
    t.equal(row?.firstName, '', 'and nothing else of the change was kept')
    t.equal((await refresh(h, session.refresh)).statusCode, 200, 'their session still refreshes')
  })
})
