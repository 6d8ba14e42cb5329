import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const LOGIN = '/api/token/'

t.test('SESSION_POLICY decides a second login on the same client type', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const allow = await makeApp(t, backend)
    const a = await allow.createUser()
    const first = await allow.login(a.username, a.password, { client_type: 'telegram_bot' })
    const second = await allow.login(a.username, a.password, { client_type: 'telegram_bot' })
    t.not(first.session_id, second.session_id, 'allow: every login is a session')
    for (const access of [first.access, second.access]) {
      const me = await allow.request({ method: 'GET', url: '/api/user/', headers: allow.bearer(access) })
      t.equal(me.statusCode, 200, 'allow: both sessions work')
    }

    const reject = await makeApp(t, backend, { sessionPolicy: 'reject' })
    const r = await reject.createUser()
    await reject.login(r.username, r.password, { client_type: 'telegram_bot' })
    const again = await reject.request({
      method: 'POST',
      url: LOGIN,
      payload: { username: r.username, password: r.password, client_type: 'telegram_bot' },
    })
    t.equal(again.statusCode, 401, 'reject: a second telegram_bot login')
    t.same(again.json(), {
      detail: 'You are already logged in on telegram bot. Please logout first.',
      code: 'already_logged_in',
    })
    const other = await reject.login(r.username, r.password, { client_type: 'website' })
    t.type(other.access, 'string', 'reject: another client type still logs in')

    const replace = await makeApp(t, backend, { sessionPolicy: 'replace' })
    const p = await replace.createUser()
    const old = await replace.login(p.username, p.password, { client_type: 'mobile' })
    const fresh = await replace.login(p.username, p.password, { client_type: 'mobile' })
    const oldMe = await replace.request({
      method: 'GET',
      url: '/api/user/',
      headers: replace.bearer(old.access),
    })
    t.equal(oldMe.statusCode, 401, 'replace: the older access token is revoked')
    t.equal(oldMe.json().code, 'token_revoked')
    const oldRefresh = await replace.request({
      method: 'POST',
      url: '/api/token/refresh/',
      payload: { refresh: old.refresh },
    })
    t.equal(oldRefresh.statusCode, 401, 'replace: the older refresh token is revoked')
    const newMe = await replace.request({
      method: 'GET',
      url: '/api/user/',
      headers: replace.bearer(fresh.access),
    })
    t.equal(newMe.statusCode, 200, 'replace: the new session works')
  })
})
