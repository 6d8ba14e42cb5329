import t from 'tap'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const STEP = 30_000

async function enrolled(app: TestApp) {
  const user = await app.createUser()
  const { access } = await app.login(user.username, user.password)
  const headers = app.bearer(access)
  const setup = await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
  const { secret } = setup.json()
  // A code of the previous step (clock skew): logins below use later steps, as real time would.
  const confirm = await app.request({
    method: 'POST',
    url: '/api/v1/auth/mfa/totp/confirm/',
    headers,
    payload: { code: codeAt(secret, Date.now() - STEP) },
  })
  return { user, headers, secret, setup, confirm, codes: confirm.json().recovery_codes as string[] }
}

const login = (app: TestApp, username: string, password: string) =>
  app.request({
    method: 'POST',
    url: '/api/token/',
    payload: { username, password, client_type: 'mobile', device_name: 'Pixel' },
  })
const complete = (app: TestApp, mfa_token: string, code: string) =>
  app.request({ method: 'POST', url: '/api/v1/auth/token/mfa/', payload: { mfa_token, code } })

t.test('TOTP: enrol -> login with a code -> replay refused -> recovery code works once', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' })
    const { user, headers, secret, setup, confirm, codes } = await enrolled(app)
    t.equal(setup.statusCode, 200)
    t.match(setup.json(), {
      secret: /^[A-Z2-7]{32}$/,
      otpauth_url: new RegExp(`^otpauth://totp/.*${user.username}\\?.*secret=${secret}`),
      qr_code: /^data:image\/svg\+xml;base64,/,
    })
    t.match(
      Buffer.from(setup.json().qr_code.split(',')[1], 'base64').toString(),
      /^<svg/,
      'the QR code is an SVG',
    )
    t.equal(confirm.statusCode, 200, 'a first code turns it on')
    t.equal(codes.length, 10)
    t.ok(
      codes.every((c) => /^[a-z2-9]{5}-[a-z2-9]{5}$/.test(c)),
      'ten recovery codes, xxxxx-xxxxx',
    )
    t.equal(new Set(codes).size, 10)
    const status = await app.request({ method: 'GET', url: '/api/v1/auth/mfa/', headers })
    t.same(status.json(), { enabled: true, recovery_codes_left: 10 })

    const first = await login(app, user.username, user.password)
    t.equal(first.statusCode, 401, 'the password alone gives no tokens')
    t.match(first.json(), { code: 'mfa_required', mfa_token: /^[\w-]{43}$/ })
    t.notOk(first.json().access, 'no access token')
    const { mfa_token } = first.json()
    const asBearer = await app.request({
      method: 'GET',
      url: '/api/user/',
      headers: { authorization: `Bearer ${mfa_token}` },
    })
    t.equal(asBearer.statusCode, 401, 'the mfa_token opens nothing')

    t.equal((await complete(app, mfa_token, '000000')).json().code, 'mfa_invalid', 'a wrong code')
    const code = codeAt(secret)
    const pair = await complete(app, mfa_token, code)
    t.equal(pair.statusCode, 200)
    t.match(pair.json(), { refresh: String, access: String, user_id: user.id, session_id: Number })
    const me = await app.request({
      method: 'GET',
      url: '/api/v1/auth/sessions/',
      headers: app.bearer(pair.json().access),
    })
    t.match(
      me.json().results ?? me.json(),
      [{ client_type: 'mobile', device_name: 'Pixel' }],
      'the session is the one the login asked for',
    )
    t.equal(
      (await complete(app, mfa_token, codeAt(secret, Date.now() + STEP))).json().code,
      'mfa_token_invalid',
      'an mfa_token works once',
    )

    const second = (await login(app, user.username, user.password)).json().mfa_token
    const replay = await complete(app, second, code)
    t.equal(replay.statusCode, 401)
    t.match(
      replay.json(),
      { code: 'mfa_code_used', detail: /^The code was already used\./ },
      'the same code again: refused, saying it was already used',
    )
    t.equal(
      (await complete(app, second, codeAt(secret, Date.now() + STEP))).statusCode,
      200,
      'the next step (skew) works',
    )

    const third = (await login(app, user.username, user.password)).json().mfa_token
    t.equal(
      (await complete(app, third, codes[0]?.toUpperCase() ?? '')).statusCode,
      200,
      'a recovery code works',
    )
    const fourth = (await login(app, user.username, user.password)).json().mfa_token
    t.equal((await complete(app, fourth, codes[0] ?? '')).json().code, 'mfa_invalid', 'once')
    const left = await app.request({ method: 'GET', url: '/api/v1/auth/mfa/', headers })
    t.equal(left.json().recovery_codes_left, 9)

    const fresh = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/recovery-codes/',
      headers,
      payload: { password: user.password },
    })
    t.equal(fresh.statusCode, 200, 'new recovery codes with the password')
    t.equal(
      (await complete(app, fourth, codes[1] ?? '')).json().code,
      'mfa_invalid',
      'the old codes stop working',
    )
    t.equal(
      (await complete(app, fourth, fresh.json().recovery_codes[0])).statusCode,
      200,
      'the new ones work',
    )

    const wrong = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/disable/',
      headers,
      payload: { password: 'not it' },
    })
    t.equal(wrong.statusCode, 400, 'turning it off needs the password')
    const off = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/disable/',
      headers,
      payload: { password: user.password },
    })
    t.equal(off.statusCode, 200)
    t.equal(
      (await login(app, user.username, user.password)).statusCode,
      200,
      'off: the password alone logs in again',
    )
  })
})

t.test('the code that confirmed enrolment is refused at login as already used, not as wrong', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' })
    const user = await app.createUser()
    const headers = app.bearer((await app.login(user.username, user.password)).access)
    const { secret } = (
      await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
    ).json()
    const code = codeAt(secret)
    const on = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/totp/confirm/',
      headers,
      payload: { code },
    })
    t.equal(on.statusCode, 200)
    const { mfa_token } = (await login(app, user.username, user.password)).json()
    const again = await complete(app, mfa_token, code)
    t.equal(again.statusCode, 401)
    t.same(
      again.json(),
      {
        detail: 'The code was already used. Wait for the next code from your authenticator app.',
        code: 'mfa_code_used',
      },
      "the contract's error shape, with its own code",
    )
    const off = await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/disable/',
      headers,
      payload: { code },
    })
    t.equal(off.statusCode, 400)
    t.same(off.json(), { code: ['The code was already used.'] }, 'a field error when it proves a change')
    const wrong = await complete(app, mfa_token, code === '000000' ? '111111' : '000000')
    t.equal(wrong.json().code, 'mfa_invalid', 'a wrong code is still called not valid')
    t.equal(
      (await complete(app, mfa_token, codeAt(secret, Date.now() + STEP))).statusCode,
      200,
      "the app's next code logs in",
    )
  })
})

t.test('wrong codes count against the login limit; a challenge dies after five', async (t) => {
  const app = await makeApp(t, 'embedded', {
    keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes',
    loginRateLimit: 100,
  })
  const { user, secret } = await enrolled(app)
  const token = (await login(app, user.username, user.password)).json().mfa_token
  for (let i = 0; i < 5; i++) await complete(app, token, '123456')
  t.equal(
    (await complete(app, token, codeAt(secret))).json().code,
    'mfa_token_invalid',
    'five wrong codes end the attempt',
  )

  const limited = await makeApp(t, 'embedded', {
    keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes',
    loginRateLimit: 4,
  })
  const other = await enrolled(limited) // one login so far
  const again = (await login(limited, other.user.username, other.user.password)).json().mfa_token // two
  const answers = []
  for (let i = 0; i < 3; i++) answers.push((await complete(limited, again, '123456')).statusCode)
  t.same(answers, [401, 401, 429], 'the codes tried spend the same budget as passwords')
})

t.test(
  'staff reset a user’s two-factor within the tenant rules; clients without it are unaffected',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const app = await makeApp(t, backend, { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' })
      const { user } = await enrolled(app)
      const plain = await app.createUser()
      const simplejwt = await login(app, plain.username, plain.password)
      t.equal(simplejwt.statusCode, 200, 'a user without two-factor logs in as with SimpleJWT')
      t.same(Object.keys(simplejwt.json()).slice(0, 2), ['refresh', 'access'])

      const tenantStaff = await app.createUser({ isStaff: true, clientName: `other-${backend}` })
      const outsider = app.bearer((await app.login(tenantStaff.username, tenantStaff.password)).access)
      const refused = await app.request({
        method: 'DELETE',
        url: `/api/v1/auth/users/${user.id}/mfa/`,
        headers: outsider,
      })
      t.equal(refused.statusCode, 404, "another tenant's operator does not see the user")

      const admin = await app.createUser({ isStaff: true, isSuperuser: true })
      const headers = app.bearer((await app.login(admin.username, admin.password)).access)
      const shown = await app.request({ method: 'GET', url: `/api/v1/auth/users/${user.id}/`, headers })
      t.equal(shown.json().mfa_enabled, true, 'the user object says who has two-factor')
      const reset = await app.request({
        method: 'DELETE',
        url: `/api/v1/auth/users/${user.id}/mfa/`,
        headers,
      })
      t.equal(reset.statusCode, 200)
      t.equal(
        (await login(app, user.username, user.password)).statusCode,
        200,
        'after the reset the password logs in',
      )
      const after = await app.request({ method: 'GET', url: `/api/v1/auth/users/${user.id}/`, headers })
      t.equal(after.json().mfa_enabled, false)
    })
  },
)

t.test(
  'MFA_REQUIRED_FOR_STAFF: staff log in and enrol, and act as staff once two-factor is on',
  async (t) => {
    const app = await makeApp(t, 'embedded', {
      keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes',
      mfaRequiredForStaff: true,
    })
    const staff = await app.createUser({ isStaff: true })
    const headers = app.bearer((await app.login(staff.username, staff.password)).access)
    const list = () => app.request({ method: 'GET', url: '/api/v1/auth/users/', headers })
    const refused = await list()
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().code, 'mfa_required_for_staff')
    const sessions = await app.request({ method: 'GET', url: '/api/v1/auth/admin/sessions/', headers })
    t.equal(sessions.statusCode, 403, 'every operator action, not only the users list')
    const me = await app.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers })
    t.equal(me.statusCode, 200, 'their own account stays theirs')
    const { secret } = (
      await app.request({ method: 'POST', url: '/api/v1/auth/mfa/totp/setup/', headers })
    ).json()
    await app.request({
      method: 'POST',
      url: '/api/v1/auth/mfa/totp/confirm/',
      headers,
      payload: { code: codeAt(secret) },
    })
    t.equal((await list()).statusCode, 200, 'with two-factor on, they act as staff')
    const plain = await app.createUser()
    t.equal(
      (await login(app, plain.username, plain.password)).statusCode,
      200,
      'other users are not concerned',
    )
  },
)

t.test('a KEY_ENCRYPTION_KEY that does not open the secrets answers 503, never 500', async (t) => {
  const app = await makeApp(t, 'embedded', { keyEncryptionKey: 'mfa-test-key-encryption-key-32-bytes' })
  const { user, secret } = await enrolled(app)
  app.config.keyEncryptionKey = 'another-key-encryption-key-of-32-bytes'
  const token = (await login(app, user.username, user.password)).json().mfa_token
  const res = await complete(app, token, codeAt(secret))
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'mfa_unavailable')
})
