import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

t.test('login, use, refresh and logout', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const { access, refresh, body } = await h.login(user.username, user.password, { client_type: 'website' })
    t.equal(body.username, user.username)
    t.match(body.user, { id: user.id, username: user.username })

    const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
    t.equal(me.statusCode, 200)
    t.equal(me.json().username, user.username)

    const refreshed = await h.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    t.equal(refreshed.statusCode, 200)
    t.not(refreshed.json().refresh, refresh, 'rotation returns a new refresh token')

    const logout = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/',
      headers: h.bearer(access),
      payload: { refresh: refreshed.json().refresh },
    })
    t.equal(logout.statusCode, 200)
    const after = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })
    t.equal(after.statusCode, 401)
    t.equal(after.json().code, 'token_revoked')
  })
})
