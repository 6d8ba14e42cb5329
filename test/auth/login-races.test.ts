import { and, eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { sessions } from '../../schema/db.js'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const LOGIN = '/api/token/'

const login = (app: TestApp, username: string, password: string, clientType = 'telegram_bot') =>
  app.request({ method: 'POST', url: LOGIN, payload: { username, password, client_type: clientType } })

/** Whether a session's tokens still work: its access token, and its refresh token. */
async function works(app: TestApp, pair: { access: string; refresh: string }) {
  const me = await app.request({ method: 'GET', url: '/api/user/', headers: app.bearer(pair.access) })
  const refreshed = await app.request({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: { refresh: pair.refresh },
  })
  return { access: me.statusCode === 200, refresh: refreshed.statusCode === 200 }
}

async function activeRows(app: TestApp, userId: number, clientType = 'telegram_bot') {
  const rows = await app.database.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), eq(sessions.clientType, clientType), eq(sessions.isActive, true)))
  return rows.map((r) => r.id)
}

t.test('SESSION_POLICY=replace: eight parallel logins leave exactly one live session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { sessionPolicy: 'replace' })
    const user = await app.createUser()
    const earlier: { access: string; refresh: string }[] = []
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => login(app, user.username, user.password)),
      )
      t.same(
        answers.map((a) => a.statusCode),
        Array(8).fill(200),
        `round ${round}: every login succeeds`,
      )
      const pairs = answers.map((a) => a.json() as { access: string; refresh: string; session_id: number })
      const alive = await activeRows(app, user.id)
      t.equal(alive.length, 1, `round ${round}: one active session of the type in the database`)
      const accessOk: boolean[] = []
      for (const pair of pairs) {
        const me = await app.request({ method: 'GET', url: '/api/user/', headers: app.bearer(pair.access) })
        accessOk.push(me.statusCode === 200)
      }
      t.equal(accessOk.filter(Boolean).length, 1, `round ${round}: one access token of the eight works`)
      t.equal(pairs[accessOk.indexOf(true)]?.session_id, alive[0], 'the one of the live session')
      for (const pair of earlier) t.same(await works(app, pair), { access: false, refresh: false })
      earlier.push(...pairs.filter((_, i) => accessOk[i]))
    }
    const other = await login(app, user.username, user.password, 'website')
    t.equal(other.statusCode, 200, 'another client type is another session')
    t.equal((await activeRows(app, user.id)).length, 1, 'and leaves telegram_bot alone')
  })
})

t.test('SESSION_POLICY=reject: of eight parallel logins exactly one succeeds', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { sessionPolicy: 'reject' })
    const user = await app.createUser()
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => login(app, user.username, user.password)),
      )
      const ok = answers.filter((a) => a.statusCode === 200)
      t.equal(ok.length, 1, `round ${round}: one login succeeds`)
      t.same(
        answers.filter((a) => a.statusCode !== 200).map((a) => [a.statusCode, a.json().code]),
        Array(7).fill([401, 'already_logged_in']),
        'the seven others are told to log out first',
      )
      t.same((await activeRows(app, user.id)).length, 1, 'one active session in the database')
      // Log out, so the next round starts from none.
      const logout = await app.request({
        method: 'POST',
        url: '/api/logout/',
        headers: app.bearer(ok[0]!.json().access),
        payload: { refresh: ok[0]!.json().refresh },
      })
      t.equal(logout.statusCode, 200, logout.body)
    }
  })
})

/**
 * Logins that reach their session at the same moment: second factors completed in parallel (a
 * password check takes its turn at the hashing slots, which spreads password logins out).
 */
async function parallelMfaLogins(app: TestApp, user: { username: string; password: string }) {
  const { access } = await app.login(user.username, user.password) // client type `unknown`
  const headers = app.bearer(access)
  const { secret } = (
    await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
  ).json()
  await app.request({
    method: 'POST',
    url: '/api/v1/auth/mfa/totp/confirm/',
    headers,
    payload: { code: codeAt(secret) },
  })
  return async () => {
    const fresh = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/recovery-codes/',
      headers,
      payload: { password: user.password },
    })
    const codes = fresh.json().recovery_codes as string[]
    const tokens: string[] = []
    for (let i = 0; i < 8; i++) {
      tokens.push((await login(app, user.username, user.password)).json().mfa_token)
    }
    return Promise.all(
      tokens.map((mfa_token, i) =>
        app.request({
          method: 'POST',
          url: '/api/v1/auth/token/mfa/',
          payload: { mfa_token, code: codes[i] },
        }),
      ),
    )
  }
}

t.test('one session per client type holds when second factors complete in parallel', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const key = { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' }
    const replace = await makeApp(t, backend, { ...key, sessionPolicy: 'replace' })
    const r = await replace.createUser()
    const round = await parallelMfaLogins(replace, r)
    for (let i = 0; i < 3; i++) {
      const answers = await round()
      t.same(
        answers.map((a) => a.statusCode),
        Array(8).fill(200),
        `replace, round ${i}: all complete`,
      )
      t.equal((await activeRows(replace, r.id)).length, 1, 'one live telegram_bot session')
    }

    const reject = await makeApp(t, backend, { ...key, sessionPolicy: 'reject' })
    const j = await reject.createUser()
    const again = await parallelMfaLogins(reject, j)
    for (let i = 0; i < 3; i++) {
      const answers = await again()
      const ok = answers.filter((a) => a.statusCode === 200)
      t.equal(ok.length, 1, `reject, round ${i}: one completes`)
      t.equal((await activeRows(reject, j.id)).length, 1, 'one live telegram_bot session')
      await reject.request({
        method: 'POST',
        url: '/api/logout/',
        payload: { refresh: ok[0]?.json().refresh },
      })
    }
  })
})

t.test('SESSION_POLICY=allow (the default): parallel logins are all sessions', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const user = await app.createUser()
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => login(app, user.username, user.password)),
    )
    t.same(
      answers.map((a) => a.statusCode),
      Array(8).fill(200),
    )
    t.equal((await activeRows(app, user.id)).length, 8, 'eight live sessions')
  })
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Starts `change` (a password change or a reset), and twelve logins with the old password a few
 * ms apart meanwhile; answers the sessions those logins opened.
 */
async function loginsRacing(
  app: TestApp,
  user: { username: string; password: string },
  change: () => Promise<{ statusCode: number; body: string }>,
  t: Test,
) {
  const logins = Array.from({ length: 12 }, (_, i) =>
    sleep(i * 3).then(() => login(app, user.username, user.password, 'website')),
  )
  const [changed, ...answers] = await Promise.all([change(), ...logins])
  t.equal(changed.statusCode, 200, changed.body)
  t.ok(
    answers.every((a) => a.statusCode === 200 || a.json().code === undefined),
    'a login refused is told the credentials are wrong',
  )
  return answers
    .filter((a) => a.statusCode === 200)
    .map((a) => a.json() as { access: string; refresh: string })
}

t.test('logins with the old password racing a password change keep no session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    let opened = 0
    for (let round = 0; round < 3; round++) {
      const user = await app.createUser()
      const own = await app.login(user.username, user.password)
      const sessions = await loginsRacing(
        app,
        user,
        () =>
          app.request({
            method: 'POST',
            url: '/api/v1/auth/users/me/password/',
            headers: app.bearer(own.access),
            payload: { old_password: user.password, new_password: `Changed-password-${round}-42` },
          }),
        t,
      )
      opened += sessions.length
      for (const pair of sessions) {
        t.same(await works(app, pair), { access: false, refresh: false }, 'its tokens are refused')
      }
      const old = await login(app, user.username, user.password)
      t.equal(old.statusCode, 401, 'the old password no longer logs in')
      t.same(await works(app, own), { access: true, refresh: true }, "the changer's own session stays")
    }
    t.comment(`${opened} racing logins opened a session before the change`)
  })
})

t.test('logins with the old password racing a reset confirmation keep no session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    app.config.mailEnabled = true // the confirm route; the token is issued below, no mail is sent
    let opened = 0
    for (let round = 0; round < 3; round++) {
      const user = await app.createUser()
      const token = await app.app.repos.oneTimeTokens.issue(
        'password_reset',
        { userId: user.id, email: `${user.username}@example.com` },
        1800,
      )
      const sessions = await loginsRacing(
        app,
        user,
        () =>
          app.request({
            method: 'POST',
            url: '/api/v1/auth/password/reset/confirm/',
            payload: { token, new_password: `Reset-password-${round}-42` },
          }),
        t,
      )
      opened += sessions.length
      for (const pair of sessions) {
        t.same(await works(app, pair), { access: false, refresh: false }, 'its tokens are refused')
      }
    }
    t.comment(`${opened} racing logins opened a session before the reset`)
  })
})

t.test('a second factor completed after a password change opens no session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' })
    const user = await app.createUser()
    const own = await app.login(user.username, user.password)
    const headers = app.bearer(own.access)
    const { secret } = (
      await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
    ).json()
    await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/totp/confirm/',
      headers,
      payload: { code: codeAt(secret, Date.now() - 30_000) },
    })
    const mfa_token = (await login(app, user.username, user.password)).json().mfa_token
    const changed = await app.request({
      method: 'POST',
      url: '/api/v1/auth/users/me/password/',
      headers,
      payload: { old_password: user.password, new_password: 'Changed-password-42' },
    })
    t.equal(changed.statusCode, 200)
    const done = await app.request({
      method: 'POST',
      url: '/api/v1/auth/token/mfa/',
      payload: { mfa_token, code: codeAt(secret) },
    })
    t.equal(done.statusCode, 401, 'the login checked the old password: it ends')
    t.equal(done.json().code, 'mfa_token_invalid')
  })
})
