import { sql } from 'drizzle-orm'
import t from 'tap'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const V1 = '/api/v1/auth'

const post = (app: TestApp, url: string, access: string, payload?: object) =>
  app.request({ method: 'POST', url: `${V1}${url}`, headers: app.bearer(access), payload })

/** Turns two-factor on for the holder of `access` (a fresh login), with the given confirm options. */
async function turnOn(app: TestApp, access: string, extra: object = {}) {
  const { secret } = (await post(app, '/mfa/totp/setup/', access)).json()
  return post(app, '/mfa/totp/confirm/', access, { code: codeAt(secret), ...extra })
}

// Issue 25 item 12.
t.test(
  'two-factor: own account only through the proven path, enrolment proven, old sessions end',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const app = await makeApp(t, backend)

      await t.test('staff cannot reset their own two-factor through the staff route', async (t) => {
        const staff = await app.createUser({ isStaff: true })
        const { access } = await app.login(staff.username, staff.password)
        t.equal((await turnOn(app, access)).statusCode, 200)
        const own = await app.request({
          method: 'DELETE',
          url: `${V1}/users/${staff.id}/mfa/`,
          headers: app.bearer(access),
        })
        t.equal(own.statusCode, 403)
        t.equal(own.json().code, 'mfa_own_reset')
        const status = await app.request({ method: 'GET', url: `${V1}/mfa/`, headers: app.bearer(access) })
        t.equal(status.json().enabled, true, 'still on')
        const other = await app.createUser()
        const o = await app.login(other.username, other.password)
        t.equal((await turnOn(app, o.access)).statusCode, 200)
        const theirs = await app.request({
          method: 'DELETE',
          url: `${V1}/users/${other.id}/mfa/`,
          headers: app.bearer(access),
        })
        t.equal(theirs.statusCode, 200, 'another user’s (a lost phone): allowed')
      })

      await t.test('enrolment needs the password unless the login is fresh', async (t) => {
        const user = await app.createUser()
        const { access, session_id } = await app.login(user.username, user.password)
        // The session is an hour old: a stolen token or an unlocked screen.
        await app.database.db.execute(
          sql`update sessions set created_at = now() - interval '1 hour' where id = ${session_id}`,
        )
        const bare = await post(app, '/mfa/totp/setup/', access)
        t.equal(bare.statusCode, 400)
        t.match(bare.json(), { password: [/current password/] })
        const wrong = await post(app, '/mfa/totp/setup/', access, { password: 'not it' })
        t.equal(wrong.statusCode, 400)
        t.same(wrong.json(), { password: ['Wrong password.'] })
        const right = await post(app, '/mfa/totp/setup/', access, { password: user.password })
        t.equal(right.statusCode, 200)
        t.type(right.json().secret, 'string')
      })

      await t.test(
        'turning it on ends the other sessions; an older refresh token no longer refreshes',
        async (t) => {
          const user = await app.createUser()
          const old = await app.login(user.username, user.password, { client_type: 'mobile' })
          const now = await app.login(user.username, user.password, { client_type: 'website' })
          const on = await turnOn(app, now.access)
          t.equal(on.statusCode, 200)
          t.equal(on.json().revoked_sessions, 1)
          const refresh = await app.request({
            method: 'POST',
            url: `${V1}/token/refresh/`,
            payload: { refresh: old.refresh },
          })
          t.equal(refresh.statusCode, 401, 'the session from before two-factor is over')
          const me = await app.request({
            method: 'GET',
            url: `${V1}/users/me/`,
            headers: app.bearer(now.access),
          })
          t.equal(me.statusCode, 200, 'the caller’s own session stays')
          const mine = await app.request({
            method: 'POST',
            url: `${V1}/token/refresh/`,
            payload: { refresh: now.refresh },
          })
          t.equal(mine.statusCode, 200)
        },
      )

      await t.test('keep_other_sessions keeps them', async (t) => {
        const user = await app.createUser()
        const old = await app.login(user.username, user.password, { client_type: 'mobile' })
        const now = await app.login(user.username, user.password, { client_type: 'website' })
        const on = await turnOn(app, now.access, { keep_other_sessions: true })
        t.equal(on.statusCode, 200)
        t.equal(on.json().revoked_sessions, 0)
        const refresh = await app.request({
          method: 'POST',
          url: `${V1}/token/refresh/`,
          payload: { refresh: old.refresh },
        })
        t.equal(refresh.statusCode, 200)
      })
    })
  },
)
