import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const LOGOUT_OK = { message: 'Logout successful', detail: 'Session revoked and tokens blacklisted' }
const REVOKED = { detail: 'Token has been revoked. Please login again.', code: 'token_revoked' }

const meWith = (h: TestApp, access: string) =>
  h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })

t.test('logout with refresh or refresh_token, with and without a Bearer', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()

    for (const url of paths.logout) {
      for (const field of ['refresh', 'refresh_token']) {
        for (const withBearer of [false, true]) {
          const name = `${url} {${field}} ${withBearer ? 'with' : 'without'} Bearer`
          const { access, refresh } = await h.login(user.username, user.password)
          // An access token minted by a refresh belongs to the same session.
          const refreshed = await h.request({
            method: 'POST',
            url: '/api/token/refresh/',
            payload: { refresh },
          })
          const current = refreshed.json()
          const res = await h.request({
            method: 'POST',
            url,
            headers: withBearer ? h.bearer(access) : {},
            payload: { [field]: current.refresh },
          })
          t.equal(res.statusCode, 200, name)
          t.same(res.json(), LOGOUT_OK, `${name}: body`)
          for (const token of [access, current.access]) {
            const me = await meWith(h, token)
            t.equal(me.statusCode, 401, `${name}: the session's access tokens stop at the next request`)
            t.same(me.json(), REVOKED)
          }
          const again = await h.request({ method: 'POST', url: '/api/token/refresh/', payload: current })
          t.equal(again.statusCode, 401, `${name}: the refresh token is dead`)
        }
      }
    }

    // A Bearer of another session is revoked too (that access token only), and its session lives on.
    const a = await h.login(user.username, user.password)
    const b = await h.login(user.username, user.password)
    const res = await h.request({
      method: 'POST',
      url: '/api/logout/',
      headers: h.bearer(b.access),
      payload: { refresh: a.refresh },
    })
    t.equal(res.statusCode, 200)
    const bMe = await meWith(h, b.access)
    t.equal(bMe.statusCode, 401, 'the Bearer sent with the logout is revoked')
    t.same(bMe.json(), REVOKED)
    const bRefresh = await h.request({
      method: 'POST',
      url: '/api/token/refresh/',
      payload: { refresh: b.refresh },
    })
    t.equal(bRefresh.statusCode, 200, "the Bearer's own session is not logged out")

    const missing = await h.request({ method: 'POST', url: '/api/logout/', payload: {} })
    t.equal(missing.statusCode, 400, 'logout without a refresh token')
    t.same(missing.json(), { refresh: ['This field is required.'] })
    const garbage = await h.request({ method: 'POST', url: '/api/logout/', payload: { refresh: 'garbage' } })
    t.ok(garbage.statusCode >= 400 && garbage.statusCode < 500, 'logout with garbage is a client error')
    t.equal(garbage.json().code, 'token_not_valid')
    const c = await h.login(user.username, user.password)
    const withAccess = await h.request({
      method: 'POST',
      url: '/api/logout/',
      payload: { refresh: c.access },
    })
    t.ok(
      withAccess.statusCode >= 400 && withAccess.statusCode < 500,
      'logout with an access token is refused',
    )
    t.equal((await meWith(h, c.access)).statusCode, 200, 'a refused logout revokes nothing')
  })
})

t.test('logout/all revokes every token of the user; a new login works at once', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const other = await h.createUser()
    const logins = [
      await h.login(user.username, user.password, { client_type: 'website' }),
      await h.login(user.username, user.password, { client_type: 'mobile' }),
      await h.login(user.username, user.password, { client_type: 'telegram_bot' }),
    ]
    const bystander = await h.login(other.username, other.password)

    const noAuth = await h.request({ method: 'POST', url: '/api/v1/auth/logout/all/' })
    t.equal(noAuth.statusCode, 401, 'logout/all needs a Bearer')

    const res = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/all',
      headers: h.bearer(logins[0]!.access),
    })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { message: 'Logged out from 3 device(s)', revoked_sessions: 3 })

    for (const [i, l] of logins.entries()) {
      const me = await meWith(h, l.access)
      t.equal(me.statusCode, 401, `session ${i}: access token dead at the next request`)
      t.same(me.json(), REVOKED)
      const r = await h.request({
        method: 'POST',
        url: '/api/token/refresh/',
        payload: { refresh: l.refresh },
      })
      t.equal(r.statusCode, 401, `session ${i}: refresh token dead`)
    }
    t.equal((await meWith(h, bystander.access)).statusCode, 200, "another user's tokens are untouched")

    // Right away, within the same second as the logout: the new login's tokens must work.
    const fresh = await h.login(user.username, user.password)
    t.equal((await meWith(h, fresh.access)).statusCode, 200, 'a new login right after works')
    const refreshed = await h.request({
      method: 'POST',
      url: '/api/token/refresh/',
      payload: { refresh: fresh.refresh },
    })
    t.equal(refreshed.statusCode, 200, 'and its refresh token works')

    const again = await h.request({
      method: 'POST',
      url: '/api/v1/auth/logout/all/',
      headers: h.bearer(refreshed.json().access),
    })
    t.same(again.json(), { message: 'Logged out from 1 device(s)', revoked_sessions: 1 })
  })
})
