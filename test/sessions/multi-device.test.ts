import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

t.test('three devices are three sessions; revoking one leaves the other two working', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const bot = await h.login(user.username, user.password, {
      client_type: 'telegram_bot',
      telegram_user_id: 123456789,
      telegram_username: 'somebot',
    })
    const web = await h.login(user.username, user.password, { client_type: 'website' })
    const phone = await h.login(user.username, user.password, { client_type: 'mobile', device_name: 'Pixel' })

    const list = await h.request({
      method: 'GET',
      url: '/api/v1/auth/sessions/',
      headers: h.bearer(web.access),
    })
    t.equal(list.statusCode, 200)
    const sessions = list.json() as { id: number; client_type: string }[]
    t.equal(sessions.length, 3)
    t.same(sessions.map((s) => s.client_type).sort(), ['mobile', 'telegram_bot', 'website'])
    t.match(
      sessions.find((s) => s.id === bot.session_id),
      { telegram_user_id: 123456789, telegram_username: 'somebot' },
    )

    const revoke = await h.request({
      method: 'POST',
      url: `/api/v1/auth/sessions/${phone.session_id}/revoke/`,
      headers: h.bearer(web.access),
    })
    t.equal(revoke.statusCode, 200)

    const me = (access: string) =>
      h.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: h.bearer(access) })
    const refresh = (token: string) =>
      h.request({ method: 'POST', url: '/api/v1/auth/token/refresh/', payload: { refresh: token } })

    const dead = await me(phone.access)
    t.equal(dead.statusCode, 401)
    t.same(dead.json(), { detail: 'Token has been revoked. Please login again.', code: 'token_revoked' })
    const deadRefresh = await refresh(phone.refresh)
    t.equal(deadRefresh.statusCode, 401)
    t.equal(deadRefresh.json().code, 'token_not_valid')
    const verify = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/verify/',
      payload: { token: phone.access },
    })
    t.equal(verify.json().code, 'token_revoked')

    for (const alive of [bot, web]) {
      t.equal((await me(alive.access)).statusCode, 200)
      const renewed = await refresh(alive.refresh)
      t.equal(renewed.statusCode, 200)
      t.equal((await me(renewed.json().access)).statusCode, 200)
    }
  })
})
