import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loggerOptions, safeError } from '../../src/log.js'
import { eachBackend, openBackend, testConfig } from '../helpers/backends.js'

/**
 * A failed query's error carries its parameters: a password hash, a jti, a token. None of it may
 * reach a log line, at any level.
 */

t.test('a failing database logs no hash, token, password or key', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const { database, store } = await openBackend(t, backend)
    const config = testConfig({ logLevel: 'trace' })
    let logged = ''
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logged += chunk
        done()
      },
    })
    const app = await buildApp(config, {
      database,
      store,
      logger: { ...loggerOptions(config, false), stream },
    })
    await app.ready()
    t.teardown(() => app.close())

    const password = 'my secret password 1'
    const user = await app.repos.users.create({
      username: 'logged',
      email: 'logged@example.com',
      passwordHash: await app.hasher.hash(password),
    })
    const hash = (await app.repos.users.findById(user.id))!.passwordHash
    const login = await app.inject({
      method: 'POST',
      url: '/api/token/',
      payload: { username: 'logged', password },
    })
    t.equal(login.statusCode, 200)
    const { access, refresh } = login.json()

    // Every write to users and sessions now fails, as if the connection dropped mid-statement.
    await database.db.execute(sql`create function fail_write() returns trigger language plpgsql as $$
      begin raise exception 'connection lost' using errcode = 'admin_shutdown'; end $$`)
    for (const table of ['users', 'sessions']) {
      await database.db.execute(
        sql.raw(
          `create trigger fail_write before insert or update on ${table} for each row execute function fail_write()`,
        ),
      )
    }
    const change = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/users/me/password/',
      headers: { authorization: `Bearer ${access}` },
      payload: { old_password: password, new_password: 'my new secret password 2' },
    })
    t.equal(change.statusCode, 503)
    const again = await app.inject({
      method: 'POST',
      url: '/api/token/',
      payload: { username: 'logged', password },
    })
    t.equal(again.statusCode, 503)
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    t.equal(refreshed.statusCode, 503)

    t.match(logged, 'a backing store is unavailable', 'the failures were logged')
    t.match(logged, 'Failed query: update', 'with the statement, which names no value')
    for (const [name, secret] of [
      ['an argon2 hash', '$argon2'],
      ['the stored hash', hash],
      ['the password', password],
      ['the new password', 'my new secret password 2'],
      ['the access token', access],
      ['the refresh token', refresh],
      ['the signing key', config.signingKey],
      ['a query parameter list', 'params:'],
    ] as const) {
      t.notMatch(logged, secret, `no ${name} in the log`)
    }
  })
})

t.test('safeError keeps the statement and the codes, drops the values', async (t) => {
  const cause = Object.assign(new Error('terminating connection'), { code: '57P01' })
  const err = Object.assign(
    new Error(
      'Failed query: update "users" set "password_hash" = $1 where "id" = $2\nparams: $argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA,7',
    ),
    {
      query: 'update "users" set "password_hash" = $1 where "id" = $2',
      params: ['x'],
      cause,
    },
  )
  const safe = safeError(err)
  t.equal(safe.message, 'Failed query: update "users" set "password_hash" = $1 where "id" = $2')
  t.notMatch(JSON.stringify(safe), '$argon2')
  t.notMatch(JSON.stringify(safe), 'params')
  t.equal(safe.cause?.code, '57P01')
  t.match(
    safeError(new Error('token eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2ln here')).message,
    'token [token] here',
  )
})

t.test('at LOG_LEVEL=debug the request lines show no secret from the query string', async (t) => {
  const { database, store } = await openBackend(t, 'embedded')
  const config = testConfig({ logLevel: 'debug' })
  let logged = ''
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk
      done()
    },
  })
  const app = await buildApp(config, { database, store, logger: { ...loggerOptions(config, false), stream } })
  await app.ready()
  t.teardown(() => app.close())

  const secrets = ['reset-token-c2VjcmV0', 'auth-code-0451', 'refresh-value-9921', 'mfa-token-7777']
  await app.inject({ method: 'GET', url: `/password/reset/?token=${secrets[0]}` })
  await app.inject({
    method: 'GET',
    url: `/api/v1/auth/nowhere/?code=${secrets[1]}&page=2&refresh=${secrets[2]}&mfa%5Ftoken=${secrets[3]}`,
  })
  t.match(logged, '"url":"/password/reset/?token=[redacted]"', 'the request line is still there')
  t.match(logged, 'code=[redacted]&page=2&refresh=[redacted]&mfa%5Ftoken=[redacted]', 'other parameters kept')
  for (const secret of secrets) t.notMatch(logged, secret, `no ${secret} in the log`)
})
