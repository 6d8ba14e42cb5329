import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../src/app.js'
import { startServer } from './helpers/server-process.js'
import type { Config } from '../src/config.js'
import { openDatabase } from '../src/database/database.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { createRepositories } from '../src/repositories.js'
import {
  freshPostgres,
  freshRedisStore,
  probeRealServers,
  REDIS_URL,
  testConfig,
} from './helpers/backends.js'

/**
 * Several instances of the service on one PostgreSQL and one Redis (a load balancer, or WORKERS=n):
 * what one instance revokes, every other refuses at its very next request. Needs the real servers:
 * without them there is nothing shared to test, so their absence is a failure, not a skip.
 */
async function requireRealServers(t: Test): Promise<boolean> {
  const { pg, redis } = await probeRealServers()
  if (pg || redis) {
    t.fail(`multi-instance tests need PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`)
    return false
  }
  return true
}

/** Two apps with their own connections to one database and one Redis prefix. */
async function twoInstances(
  t: Test,
  overrides: Partial<Config> = {},
): Promise<{ a: FastifyInstance; b: FastifyInstance; password: string; username: string }> {
  const { url, database } = await freshPostgres(t)
  await database.migrate()
  const prefix = `t:${randomBytes(6).toString('hex')}:`
  const config = testConfig(overrides)
  const open = async () => {
    const db = await openDatabase({ url, poolSize: 3 })
    t.teardown(() => db.close())
    const app = await buildApp(config, {
      database: db,
      store: await freshRedisStore(t, prefix),
      logger: false,
    })
    await app.ready()
    t.teardown(() => app.close())
    return app
  }
  const a = await open()
  const b = await open()
  const username = `multi_${randomBytes(3).toString('hex')}`
  const password = 'multi-instance-pw'
  await createRepositories(database.db).users.create({
    username,
    email: `${username}@example.com`,
    passwordHash: await new PasswordHasher(config.argon2).hash(password),
  })
  return { a, b, username, password }
}

async function login(app: FastifyInstance, username: string, password: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/token/',
    payload: { username, password },
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json() as { access: string; refresh: string }
}

const me = (app: FastifyInstance, access: string) =>
  app.inject({ method: 'GET', url: '/api/v1/auth/users/me/', headers: { authorization: `Bearer ${access}` } })

t.test('a logout on one instance is enforced by another at the next request', async (t) => {
  if (!(await requireRealServers(t))) return
  const { a, b, username, password } = await twoInstances(t)
  const { access, refresh } = await login(a, username, password)

  const before = await me(b, access)
  t.equal(before.statusCode, 200, 'a token issued by A works on B')
  t.equal(before.json().username, username)

  const logout = await a.inject({
    method: 'POST',
    url: '/api/v1/auth/logout/',
    headers: { authorization: `Bearer ${access}` },
    payload: { refresh },
  })
  t.equal(logout.statusCode, 200)

  const after = await me(b, access)
  t.equal(after.statusCode, 401, 'B refuses the token at once')
  t.equal(after.json().code, 'token_revoked')
  const verify = await b.inject({ method: 'POST', url: '/api/token/verify/', payload: { token: access } })
  t.equal(verify.statusCode, 401)
  t.equal(verify.json().code, 'token_revoked')
  const refreshed = await b.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
  t.equal(refreshed.statusCode, 401, 'the logged-out refresh token is refused on B too')
})

t.test('a refresh token rotated on one instance is refused by another', async (t) => {
  if (!(await requireRealServers(t))) return
  // No grace: the replay on B comes after the rotation on A answered, so it is reuse.
  const { a, b, username, password } = await twoInstances(t, { refreshReuseGraceSeconds: 0 })
  const first = await login(a, username, password)
  const rotated = await a.inject({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: { refresh: first.refresh },
  })
  t.equal(rotated.statusCode, 200)
  const next = rotated.json() as { access: string; refresh: string }

  const replay = await b.inject({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: { refresh: first.refresh },
  })
  t.equal(replay.statusCode, 401, 'B refuses the spent refresh token')
  t.equal(replay.json().code, 'token_not_valid')

  // Replaying a spent token is theft detection: the whole session ends, on both instances.
  t.equal((await me(a, next.access)).json().code, 'token_revoked')
  t.equal((await me(b, next.access)).json().code, 'token_revoked')
  const stolen = await a.inject({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: { refresh: next.refresh },
  })
  t.equal(stolen.statusCode, 401)
})

/** GET or POST on a new connection each time, so the cluster's round robin spreads them over the workers. */
function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest(
      `${base}${path}`,
      {
        method,
        agent: false,
        headers: {
          ...headers,
          ...(payload ? { 'content-type': 'application/json' } : {}),
          connection: 'close',
        },
      },
      (res) => {
        let text = ''
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }))
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

t.test(
  'WORKERS=2: two processes on one port; a logout holds on every worker; a dead worker is replaced',
  async (t) => {
    if (!(await requireRealServers(t))) return
    const { url, database } = await freshPostgres(t)
    await database.migrate()
    const prefix = `t:${randomBytes(6).toString('hex')}:`
    // Deletes the prefix's keys when the test ends.
    await freshRedisStore(t, prefix)
    // The helper starts node itself (not the tsx launcher), so the child is the cluster's primary.
    const server = await startServer(t, {
      WORKERS: '2',
      DATABASE_URL: url,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      SIGNING_KEY: 'multi-instance-test-signing-key-0123456789',
      ADMIN_USERNAME: 'clusteradmin',
      ADMIN_PASSWORD: 'cluster-admin-pw',
    })
    const pid = server.child.pid!
    // Both workers log that they listen, on the same port.
    await server.waitFor(/auth service listening on[\s\S]*auth service listening on/, 60_000)
    const ports = [...server.output().matchAll(/listening on http:\/\/[\d.]+:(\d+)/g)].map((m) => m[1])
    t.equal(new Set(ports).size, 1, 'the workers share one port')
    const base = `http://127.0.0.1:${ports[0]}`
    t.equal(children(pid).length, 2, 'the primary runs two worker processes')

    const login = await call(
      base,
      'POST',
      '/api/v1/auth/token/',
      {},
      { username: 'clusteradmin', password: 'cluster-admin-pw' },
    )
    t.equal(login.status, 200, 'the admin was created once and can log in')
    const auth = { authorization: `Bearer ${login.body.access}` }
    const before = await Promise.all(
      Array.from({ length: 8 }, () => call(base, 'GET', '/api/test-auth/', auth)),
    )
    t.same(new Set(before.map((r) => r.status)), new Set([200]))
    const logout = await call(base, 'POST', '/api/v1/auth/logout/', auth, { refresh: login.body.refresh })
    t.equal(logout.status, 200)
    const after = await Promise.all(
      Array.from({ length: 8 }, () => call(base, 'GET', '/api/test-auth/', auth)),
    )
    t.same(
      after.map((r) => [r.status, r.body.code]),
      Array.from({ length: 8 }, () => [401, 'token_revoked']),
      'every worker refuses the token',
    )

    const [victim] = children(pid)
    process.kill(victim!, 'SIGKILL')
    const until = Date.now() + 60_000
    let now = children(pid)
    while (!(now.length === 2 && !now.includes(victim!)) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      now = children(pid)
    }
    t.ok(now.length === 2 && !now.includes(victim!), 'the primary replaced the dead worker')

    t.equal(await server.stop(), 0, 'SIGTERM stops the workers and the primary cleanly')
  },
)
