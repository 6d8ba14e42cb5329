import t from 'tap'
import { Algorithm, hash } from '@node-rs/argon2'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { decodeJwt } from '../helpers/tokens.js'

const LOGIN = '/api/token/'
const BAD_CREDENTIALS = { detail: 'No active account found with the given credentials' }

t.test('login succeeds on every alias, with username or e-mail, and the field aliases', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser({ email: 'Mixed.Case@Example.com' })
    const post = (url: string, payload: object) => h.request({ method: 'POST', url, payload })

    for (const url of paths.login) {
      const res = await post(url, { username: user.username, password: user.password })
      t.equal(res.statusCode, 200, `POST ${url}`)
      t.equal(res.json().username, user.username)
    }
    const noSlash = await post('/api/token', { username: user.username, password: user.password })
    t.equal(noSlash.statusCode, 200, 'trailing slash is optional')

    const cases: [string, Record<string, unknown>][] = [
      ['e-mail as username, other case', { username: 'mixed.case@example.COM', password: user.password }],
      ['`login` field', { login: user.username, password: user.password }],
      ['`email` field', { email: 'MIXED.CASE@EXAMPLE.COM', password: user.password }],
      ['surrounding whitespace', { username: `  ${user.username}\t`, password: ` ${user.password}  ` }],
      ['`login` with whitespace', { login: ` ${user.username} `, password: user.password }],
      ['unknown fields ignored', { username: user.username, password: user.password, foo: 1, bar: [1] }],
    ]
    for (const [name, payload] of cases) {
      const res = await post(LOGIN, payload)
      t.equal(res.statusCode, 200, name)
      t.equal(res.json().user_id, user.id, name)
    }

    const form = await h.request({
      method: 'POST',
      url: LOGIN,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: user.username, password: user.password }).toString(),
    })
    t.equal(form.statusCode, 200, 'form-encoded body')
    t.type(form.json().access, 'string')

    const wrongCase = await post(LOGIN, { username: user.username.toUpperCase(), password: user.password })
    t.equal(wrongCase.statusCode, 401, 'usernames are case-sensitive, as Django')
    t.same(wrongCase.json(), BAD_CREDENTIALS)
  })
})

t.test('login response shape, token claims and the recorded session', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser({ clientName: 'Acme', firstName: 'Ada', lastName: 'Lovelace' })
    const res = await h.request({
      method: 'POST',
      url: LOGIN,
      headers: { 'user-agent': 'contract-test/1.0' },
      payload: { username: user.username, password: user.password, client_type: 'mobile', device_name: 'P' },
    })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.same(Object.keys(body).sort(), [
      'access',
      'client_id',
      'client_name',
      'email',
      'refresh',
      'session_id',
      'user',
      'user_id',
      'username',
    ])
    t.same(body.user, {
      id: user.id,
      username: user.username,
      email: `${user.username}@example.com`,
      first_name: 'Ada',
      last_name: 'Lovelace',
    })
    t.equal(body.user_id, user.id)
    t.equal(body.username, user.username)
    t.equal(body.email, `${user.username}@example.com`)
    t.equal(body.client_name, 'Acme')
    t.type(body.client_id, 'number')
    t.type(body.session_id, 'number')

    for (const [type, lifetime] of [
      ['access', 900],
      ['refresh', 604800],
    ] as const) {
      const { header, payload } = decodeJwt(body[type])
      t.same(header, { alg: 'HS256', typ: 'JWT' }, `${type} header`)
      t.same(Object.keys(payload).slice(0, 5), ['token_type', 'exp', 'iat', 'jti', 'user_id'], 'claim order')
      t.equal(payload.token_type, type)
      t.match(payload.jti, /^[0-9a-f]{32}$/, 'jti is 32 lowercase hex chars')
      t.ok(Number.isInteger(payload.user_id) && payload.user_id === user.id, 'user_id is the integer id')
      t.equal(payload.sid, body.session_id, 'sid names the session')
      t.equal(payload.client_id, body.client_id, 'client_id names the tenant')
      t.equal(Number(payload.exp) - Number(payload.iat), lifetime, `${type} lifetime`)
      t.ok(Math.abs(Number(payload.iat) - Date.now() / 1000) < 5, 'iat is now')
    }
    t.not(decodeJwt(body.access).payload.jti, decodeJwt(body.refresh).payload.jti, 'distinct jtis')

    const session = await h.app.repos.sessions.findById(body.session_id)
    t.equal(session?.userId, user.id)
    t.equal(session?.clientType, 'mobile')
    t.equal(session?.deviceName, 'P')
    t.equal(session?.ipAddress, '127.0.0.1', 'session records the IP')
    t.equal(session?.userAgent, 'contract-test/1.0', 'session records the user agent')

    // A user without a tenant has no client_id claim and null tenant fields.
    const plain = await h.createUser()
    const login = await h.login(plain.username, plain.password)
    t.equal(login.body.client_id, null)
    t.equal(login.body.client_name, null)
    t.notOk('client_id' in decodeJwt(login.access).payload, 'no client_id claim without a tenant')
  })
})

t.test('bad credentials are one uniform 401; expired accounts only with the right password', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const inactive = await h.createUser({ isActive: false })
    const expired = await h.createUser({ expiryDate: new Date(Date.now() - 60_000) })
    const future = await h.createUser({ expiryDate: new Date(Date.now() + 86_400_000) })
    const post = (payload: object) => h.request({ method: 'POST', url: LOGIN, payload })

    const failures: [string, Record<string, unknown>][] = [
      ['unknown user', { username: 'nobody-at-all', password: 'whatever' }],
      ['wrong password', { username: user.username, password: `${user.password}x` }],
      ['inactive user, right password', { username: inactive.username, password: inactive.password }],
      ['numeric password is a string, not a 400', { username: user.username, password: 12345 }],
      ['expired user, wrong password', { username: expired.username, password: 'nope' }],
    ]
    for (const [name, payload] of failures) {
      const res = await post(payload)
      t.equal(res.statusCode, 401, name)
      t.same(res.json(), BAD_CREDENTIALS, name)
      t.equal(res.headers['www-authenticate'], 'Bearer realm="api"', `${name}: WWW-Authenticate`)
    }

    const exp = await post({ username: expired.username, password: expired.password })
    t.equal(exp.statusCode, 401, 'expired profile')
    t.equal(exp.json().code, 'account_expired')
    t.type(exp.json().detail, 'string')

    const ok = await post({ username: future.username, password: future.password })
    t.equal(ok.statusCode, 200, 'an expiry date in the future does not stop the login')
  })
})

t.test(
  'a hash made with older parameters is replaced at login, in the same request as last_login',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const h = await makeApp(t, backend)
      const password = 'pw-older-parameters'
      // The test config hashes with m=1024, t=1, p=1; this one was made before a change to t=2.
      const older = await hash(password, { algorithm: Algorithm.Argon2id, memoryCost: 1024, timeCost: 2 })
      const user = await h.app.repos.users.create({
        username: 'rehash-me',
        email: 'rehash-me@example.com',
        passwordHash: older,
      })
      const first = await h.request({
        method: 'POST',
        url: LOGIN,
        payload: { username: 'rehash-me', password },
      })
      t.equal(first.statusCode, 200, 'login with the older hash')
      const stored = await h.app.repos.users.findById(user.id)
      t.not(stored?.passwordHash, older, 'the stored hash was replaced')
      t.match(stored?.passwordHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/, 'with the configured parameters')
      t.ok(stored?.lastLogin instanceof Date, 'last_login is recorded')
      const again = await h.request({
        method: 'POST',
        url: LOGIN,
        payload: { username: 'rehash-me', password },
      })
      t.equal(again.statusCode, 200, 'the password still works against the new hash')
      const wrong = await h.request({
        method: 'POST',
        url: LOGIN,
        payload: { username: 'rehash-me', password: 'not-it' },
      })
      t.equal(wrong.statusCode, 401, 'and a wrong one still fails')
    })
  },
)
