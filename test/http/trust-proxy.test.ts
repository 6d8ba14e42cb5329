import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { type BackendName, eachBackend, openBackend } from '../helpers/backends.js'

/**
 * TRUST_PROXY names the proxies in front (a number of hops, or their addresses), never "every
 * hop": behind nginx appending to X-Forwarded-For, the leftmost value is the client's own
 * invention. And whatever a trusted proxy passes on, only a valid IP is a client's address.
 */

const KEY = 'trust-proxy-test-signing-key-of-32-bytes-or-more'
const NGINX = '10.0.0.2'

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ SIGNING_KEY: KEY, ...env })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

/** An app configured from the environment an operator writes, as the server reads it. */
async function appWith(t: Test, backend: BackendName, env: Record<string, string>) {
  const { database, store } = await openBackend(t, backend)
  const config = loadConfig(
    { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    {
      signingKey: KEY,
      argon2: { memoryKiB: 1024, timeCost: 1, parallelism: 1 },
      mailEnabled: false,
      auditFlushMs: 10,
    },
  )
  const app = await buildApp(config, { database, store, logger: false })
  await app.ready()
  t.teardown(() => app.close())
  const user = await app.repos.users.create({
    username: 'pat',
    email: 'pat@example.com',
    passwordHash: await app.hasher.hash('pats-password'),
    emailVerified: true,
  })
  const login = (password: string, xff: string | undefined, from = NGINX) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/token/',
      remoteAddress: from,
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      payload: { username: 'pat', password },
    })
  return { app, user, login }
}

t.test('TRUST_PROXY: a number of proxies or their addresses; "true" is refused', async (t) => {
  t.equal(loadConfig({ SIGNING_KEY: KEY }).trustProxy, false, 'unset: no proxy is trusted')
  t.equal(loadConfig({ SIGNING_KEY: KEY, TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ SIGNING_KEY: KEY, TRUST_PROXY: '1' }).trustProxy, 1)
  t.same(loadConfig({ SIGNING_KEY: KEY, TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,fd00::/8' }).trustProxy, [
    '10.0.0.5',
    '10.1.0.0/16',
    'fd00::/8',
  ])
  t.same(problems({ TRUST_PROXY: 'true' }), [
    'TRUST_PROXY: "true" would trust every hop, so any client could choose its own address by sending X-Forwarded-For; set the number of proxies in front of the service (1 behind one nginx) or their addresses (e.g. 10.0.0.5,10.1.0.0/16).',
  ])
  t.match(problems({ TRUST_PROXY: '10.0.0.0/33' }), [/^TRUST_PROXY: expected a number of proxies or their/])
  t.match(problems({ TRUST_PROXY: 'proxy.internal' }), [/got an item "proxy\.internal"/])
  t.match(problems({ TRUST_PROXY: '99' }), [/^TRUST_PROXY: expected a number of proxies from 0 to 10/])
})

t.test(
  'behind one proxy, a new X-Forwarded-For per guess does not escape the per-address limit',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const { login } = await appWith(t, backend, {
        TRUST_PROXY: '1',
        LOGIN_RATE_LIMIT: '30',
        LOGIN_ACCOUNT_RATE_LIMIT: '1000',
      })
      const statuses: number[] = []
      for (let i = 0; i < 110; i++) {
        // What the shipped nginx.conf forwards: the client's own header, then the address nginx saw.
        const res = await login(`wrong-${i}`, `198.51.${i >> 8}.${i & 255}, 203.0.113.7`)
        statuses.push(res.statusCode)
      }
      t.equal(statuses.indexOf(429) + 1, 31, 'the first 429 comes at attempt 31')
      t.same(new Set(statuses.slice(30)), new Set([429]), 'and every attempt after it is refused')
      const elsewhere = await login('pats-password', '203.0.113.8')
      t.equal(elsewhere.statusCode, 200, 'another client behind the same proxy is not held up')
    })
  },
)

t.test('an X-Forwarded-For that is not an IP never becomes the stored address', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const { app, login } = await appWith(t, backend, { TRUST_PROXY: '1' })
    const junk = 'not-an-ip <script>'
    t.equal((await login('wrong', junk)).statusCode, 401)
    const ok = await login('pats-password', junk)
    t.equal(ok.statusCode, 200)
    await app.audit.flush()
    const sessions = await app.database.db.execute(sql`select ip_address from sessions`)
    const events = await app.database.db.execute(sql`select type, ip from audit_events order by id`)
    const rowsOf = (r: unknown) =>
      ((r as { rows?: unknown[] }).rows ?? (r as unknown[])) as Record<string, unknown>[]
    t.same(
      rowsOf(sessions).map((r) => r.ip_address),
      [NGINX],
      'the session keeps the nearest valid address: the proxy that passed the junk on',
    )
    const stored = rowsOf(events)
    t.ok(stored.length >= 2, 'the failed and the successful login are audited')
    t.same(new Set(stored.map((r) => r.ip)), new Set([NGINX]), 'so does every audit row')
    t.notMatch(JSON.stringify([rowsOf(sessions), stored]), 'script', 'the junk is stored nowhere')
  })
})

t.test("with the proxies' addresses, only they may name the client", async (t) => {
  await eachBackend(t, async (t, backend) => {
    const { app, login } = await appWith(t, backend, { TRUST_PROXY: `${NGINX},10.9.0.0/16` })
    t.equal((await login('pats-password', '203.0.113.7')).statusCode, 200)
    t.equal((await login('pats-password', '203.0.113.66', '192.0.2.50')).statusCode, 200)
    const rows = await app.database.db.execute(sql`select ip_address from sessions order by id`)
    const list = ((rows as { rows?: unknown[] }).rows ?? (rows as unknown[])) as Record<string, unknown>[]
    t.same(
      list.map((r) => r.ip_address),
      ['203.0.113.7', '192.0.2.50'],
      'the listed proxy names the client; a direct client cannot name itself',
    )
  })
})
