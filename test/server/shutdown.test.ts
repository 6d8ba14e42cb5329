import t from 'tap'
import { freshPostgres } from '../helpers/backends.js'
import { startServer } from '../helpers/server-process.js'

/**
 * SIGTERM while logins are still hashing, most of their clients gone: each finishes its session
 * and its audit row before the database and the trail close, and nothing fails on the way out.
 */
t.test('a clean shutdown lets running requests finish, also those whose client left', async (t) => {
  const { url, database } = await freshPostgres(t)
  const admin = { username: 'shutdownadmin', password: 'shutdown-admin-password' }
  const server = await startServer(t, {
    DATABASE_URL: url,
    SIGNING_KEY: 'shutdown-test-signing-key-0123456789abcdef',
    ADMIN_USERNAME: admin.username,
    ADMIN_PASSWORD: admin.password,
    LOGIN_RATE_LIMIT: '0',
    LOGIN_ACCOUNT_RATE_LIMIT: '0',
    // A hash long enough that the logins are still running when the signal comes.
    ARGON2_MEMORY_KIB: '65536',
    ARGON2_TIME_COST: '6',
  })
  // More than the hashing slots can finish before the signal: most are still waiting or hashing.
  const logins = 16
  const clients = Array.from({ length: logins }, () => new AbortController())
  const sent = clients.map((client) =>
    fetch(`${server.base}/api/v1/auth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
      signal: client.signal,
    }).catch(() => 'aborted'),
  )
  await new Promise((resolve) => setTimeout(resolve, 150))
  for (const client of clients) client.abort()
  const answers = await Promise.all(sent)
  t.ok(answers.filter((a) => a === 'aborted').length >= logins / 2, 'most clients left before their answer')
  t.equal(await server.stop(), 0, 'SIGTERM: a clean exit')
  t.notMatch(server.output(), /"level":(50|60)/, 'no error on the way out')

  const count = async (query: string) => {
    const rows = (await database.db.execute(query)) as unknown as { n: number }[]
    return rows[0]!.n
  }
  const sessions = await count('select count(*)::int as n from sessions')
  const events = await count(`select count(*)::int as n from audit_events where type = 'login.succeeded'`)
  t.equal(sessions, logins, 'every login that began made its session')
  t.equal(events, logins, 'and its audit row')
})
