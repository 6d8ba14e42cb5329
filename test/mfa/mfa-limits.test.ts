import { and, eq } from 'drizzle-orm'
import t from 'tap'
import { auditEvents } from '../../schema/db.js'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const KEY = 'mfa-test-key-encryption-key-32-bytes'

async function enrolled(app: TestApp) {
  const user = await app.createUser()
  const { access } = await app.login(user.username, user.password)
  const headers = app.bearer(access)
  const setup = await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
  const { secret } = setup.json()
  const confirm = await app.request({
    method: 'POST',
    url: '/api/v1/auth/mfa/totp/confirm/',
    headers,
    payload: { code: codeAt(secret, Date.now() - 30_000) },
  })
  return { user, secret, codes: confirm.json().recovery_codes as string[] }
}

async function challenge(app: TestApp, username: string, password: string): Promise<string> {
  const res = await app.request({ method: 'POST', url: '/api/token/', payload: { username, password } })
  if (res.json().code !== 'mfa_required') throw new Error(`no challenge: ${res.body}`)
  return res.json().mfa_token
}

const complete = (app: TestApp, mfa_token: string, code: string) =>
  app.request({ method: 'POST', url: '/api/v1/auth/token/mfa/', payload: { mfa_token, code } })

async function events(app: TestApp, userId: number, type: 'mfa.failed' | 'suspicious.failed_logins') {
  await app.app.audit.flush()
  return app.database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.userId, userId), eq(auditEvents.type, type)))
}

const tally = (codes: string[]) =>
  codes.reduce<Record<string, number>>((n, c) => Object.assign(n, { [c]: (n[c] ?? 0) + 1 }), {})

t.test('20 parallel wrong codes on one mfa_token: five are checked, the rest refused', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, {
      keyEncryptionKey: KEY,
      mfaDailyFailureLimit: 1000,
      failedLoginAlertThreshold: 5,
    })
    const { user, secret } = await enrolled(app)
    for (let round = 0; round < 2; round++) {
      const token = await challenge(app, user.username, user.password)
      const answers = await Promise.all(Array.from({ length: 20 }, () => complete(app, token, '000000')))
      t.same(
        tally(answers.map((a) => a.json().code)),
        { mfa_invalid: 5, mfa_token_invalid: 15 },
        `round ${round}: five codes checked, fifteen refused as an expired attempt`,
      )
      const right = await complete(app, token, codeAt(secret))
      t.equal(right.json().code, 'mfa_token_invalid', 'the right code after five wrong ones: start again')
    }
    t.equal((await events(app, user.id, 'mfa.failed')).length, 10, 'ten codes were checked in all')
    const alerts = await events(app, user.id, 'suspicious.failed_logins')
    t.equal(alerts.length, 1, 'wrong codes raise the failed-logins alert, once per crossing')
    // The rule reads the failures batch by batch: the alert counts those seen when the threshold was
    // crossed, five if the first round's rows came alone, up to all ten if both came in one batch.
    t.match(alerts[0]?.details, { window_minutes: 15 })
    const counted = (alerts[0]?.details as { failures?: number } | undefined)?.failures ?? 0
    t.ok(counted >= 5 && counted <= 10, `the alert counts the failures it saw (${counted})`)
  })
})

t.test('the day’s wrong codes have a cap per account, under concurrency too', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { keyEncryptionKey: KEY, mfaDailyFailureLimit: 7 })
    const { user, secret, codes } = await enrolled(app)
    // Right codes spend nothing of the cap.
    for (const code of codes.slice(0, 8)) {
      const ok = await complete(app, await challenge(app, user.username, user.password), code)
      t.equal(ok.statusCode, 200, 'a right code logs in')
    }
    // Three login attempts, five codes each, all at once: 15 guesses against a cap of 7.
    const tokens = await Promise.all([1, 2, 3].map(() => challenge(app, user.username, user.password)))
    const answers = await Promise.all(
      tokens.flatMap((token) => Array.from({ length: 5 }, () => complete(app, token, '000000'))),
    )
    t.same(
      tally(answers.map((a) => a.json().code)),
      { mfa_invalid: 7, mfa_locked: 8 },
      'seven codes checked, the rest refused by the lock',
    )
    const locked = await complete(app, await challenge(app, user.username, user.password), codeAt(secret))
    t.equal(locked.statusCode, 429, 'even the right code is refused for the rest of the day')
    t.equal(locked.json().code, 'mfa_locked')
    t.match(
      locked.json().detail,
      /^Too many wrong codes for this account today: two-factor login is locked for (2[0-4]|1?\d) hours?\./,
    )
    t.ok(Number(locked.headers['retry-after']) > 23 * 3600, 'Retry-After: when the day ends')
    const recovery = await complete(app, await challenge(app, user.username, user.password), codes[9]!)
    t.equal(recovery.json().code, 'mfa_locked', 'a recovery code too')

    t.equal((await events(app, user.id, 'mfa.failed')).length, 7, 'seven wrong codes checked')
    const alerts = await events(app, user.id, 'suspicious.failed_logins')
    t.equal(alerts.length, 1, 'the lock raises one alert')
    t.match(alerts[0]?.details, { failures: 7, window_hours: 24, second_factor_locked: true })

    // Staff turning two-factor off (lost phone, or a lock) ends the lock with it.
    const admin = await app.createUser({ isStaff: true, isSuperuser: true })
    const headers = app.bearer((await app.login(admin.username, admin.password)).access)
    await app.request({ method: 'DELETE', url: `/api/v1/auth/users/${user.id}/mfa/`, headers })
    t.type((await app.login(user.username, user.password)).access, 'string', 'the password logs in')
  })
})
