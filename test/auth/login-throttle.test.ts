import t from 'tap'
import { paths } from '../../routes/paths.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

/**
 * Guesses at a password are counted per account, never per route or per spelling: every login
 * path, JSON and form bodies, and a username or e-mail naming the same user spend one budget,
 * per client address; a second budget per account holds across addresses.
 */

const THROTTLED = /^Request was throttled\. Expected available in \d+ seconds\.$/

function attempt(h: TestApp, url: string, fields: Record<string, string>, ip: string, form: boolean) {
  return h.request({
    method: 'POST',
    url,
    remoteAddress: ip,
    ...(form
      ? {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(fields).toString(),
        }
      : { payload: fields }),
  })
}

t.test('one budget per account and address, whatever the path, spelling or body type', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const limit = 12
    const h = await makeApp(t, backend, { loginRateLimit: limit, loginAccountRateLimit: 1000 })
    const user = await h.createUser({ username: 'Victim', email: 'victim@example.com' })
    // Every path, both field names, both body types: twelve wrong guesses from one address.
    const spellings: Record<string, string>[] = [
      { username: 'Victim' },
      { username: 'victim@example.com' },
      { email: 'VICTIM@example.com' },
      { login: 'Victim' },
    ]
    const statuses: number[] = []
    for (let i = 0; i < limit; i++) {
      const url = paths.login[i % paths.login.length]!
      const fields = { ...spellings[i % spellings.length]!, password: `wrong-${i}` }
      statuses.push((await attempt(h, url, fields, '203.0.113.7', i % 2 === 1)).statusCode)
    }
    t.same(new Set(statuses), new Set([401]), `the first ${limit} guesses are heard`)

    const owner = (ip: string, url = '/api/token/', form = false) =>
      attempt(h, url, { username: 'Victim', password: user.password }, ip, form)
    const over = await owner('203.0.113.7', '/auth/login/', true)
    t.equal(over.statusCode, 429, 'the next, even with the right password, is throttled')
    t.match(over.json(), { detail: THROTTLED, code: 'throttled' })
    const retryAfter = Number(over.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= h.config.loginRateWindowSeconds, `Retry-After: ${retryAfter}`)

    const elsewhere = await owner('198.51.100.9')
    t.equal(elsewhere.statusCode, 200, 'the owner logs in from another address')
    const other = await h.createUser()
    const otherLogin = await attempt(
      h,
      '/api/token/',
      { username: other.username, password: other.password },
      '203.0.113.7',
      false,
    )
    t.equal(otherLogin.statusCode, 200, 'another account from the same address is not affected')
  })
})

t.test('an unknown name is counted as typed, case and spaces aside', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { loginRateLimit: 3, loginAccountRateLimit: 1000 })
    const names = ['Ghost', 'ghost', ' GHOST ']
    for (const username of names) {
      const res = await attempt(h, '/api/token/', { username, password: 'x' }, '203.0.113.8', false)
      t.equal(res.statusCode, 401, `${JSON.stringify(username)} is heard`)
    }
    const res = await attempt(h, '/api/token/', { username: 'gHoSt', password: 'x' }, '203.0.113.8', false)
    t.equal(res.statusCode, 429, 'the fourth spelling of one unknown name is throttled')
  })
})

t.test('a per-account budget holds across addresses', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { loginRateLimit: 1000, loginAccountRateLimit: 5 })
    const user = await h.createUser()
    for (let i = 0; i < 5; i++) {
      const res = await attempt(
        h,
        '/api/token/',
        { username: user.username, password: 'no' },
        `192.0.2.${i + 1}`,
        false,
      )
      t.equal(res.statusCode, 401)
    }
    const res = await attempt(
      h,
      '/api/token/',
      { username: user.username, password: user.password },
      '192.0.2.99',
      false,
    )
    t.equal(res.statusCode, 429, 'a sixth address is throttled for that account')
    t.ok(Number(res.headers['retry-after']) >= 1)
  })
})

t.test('zero turns a limit off', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { loginRateLimit: 0, loginAccountRateLimit: 0 })
    const user = await h.createUser()
    for (let i = 0; i < 40; i++) {
      await attempt(h, '/api/token/', { username: user.username, password: 'no' }, '192.0.2.1', false)
    }
    const res = await attempt(
      h,
      '/api/token/',
      { username: user.username, password: user.password },
      '192.0.2.1',
      false,
    )
    t.equal(res.statusCode, 200)
  })
})
