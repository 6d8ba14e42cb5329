import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

// users/me may answer from a row read a moment ago (USER_CACHE_MS); this instance's own writes
// must show at once, and access decisions must never wait for the entry to age.
t.test('the current user shows this instance’s changes at once', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { userCacheMs: 60_000 })
    const admin = await h.createUser({ isStaff: true, isSuperuser: true })
    const user = await h.createUser({ firstName: 'Before' })
    const mine = await h.login(user.username, user.password)
    const staff = await h.login(admin.username, admin.password)
    const me = () =>
      h.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: h.bearer(mine.access) })

    t.equal((await me()).json().first_name, 'Before')
    const [first, again] = [await me(), await me()]
    t.equal(again.body, first.body, 'the same row answers the same body')
    t.equal(again.headers['content-type'], 'application/json; charset=utf-8', 'as JSON, like every answer')
    t.equal(again.json().username, user.username)
    const patch = await h.request({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/`,
      headers: h.bearer(staff.access),
      payload: { first_name: 'After' },
    })
    t.equal(patch.statusCode, 200)
    t.equal((await me()).json().first_name, 'After', 'a change made here is shown on the next request')

    const before = (await me()).json().last_login
    await new Promise((r) => setTimeout(r, 5))
    await h.login(user.username, user.password)
    t.not((await me()).json().last_login, before, 'a new login shows its last_login at once')

    await h.request({
      method: 'PATCH',
      url: `/api/v1/auth/users/${user.id}/`,
      headers: h.bearer(staff.access),
      payload: { is_active: false },
    })
    const refused = await me()
    t.equal(refused.statusCode, 401, 'deactivation is not delayed by the remembered row')
    t.equal(refused.json().code, 'user_inactive')
  })
})
