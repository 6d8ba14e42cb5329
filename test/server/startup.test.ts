import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { backendNames, freshPostgres, PG_URL, REDIS_URL } from '../helpers/backends.js'
import { http, runServer, startServer } from '../helpers/server-process.js'

/**
 * A start that cannot work stops with one sentence naming the variable, the cause and what to do,
 * and an exit code of its own (78 configuration, 69 database, 68 Redis, 98 the port): no stack
 * trace, no password from a URL.
 */

t.setTimeout(300_000)

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-startup-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The output holds exactly this one sentence on a line of its own, and nothing like a stack trace. */
function saysOnly(t: Test, output: string, sentence: string, secret?: string) {
  const lines = output.split('\n').filter((l) => l.trim() !== '')
  t.ok(lines.includes(sentence), `says: ${sentence}\n--- output:\n${output}`)
  t.notMatch(output, /^\s+at /m, 'no stack trace')
  t.notMatch(output, /Error:|PostgresError|StoreUnavailableError/, 'no error class names')
  if (secret) t.notMatch(output, secret, 'no password')
}

/** A port nobody listens on. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A PostgreSQL URL with a password in it (the test server trusts local logins and ignores it). */
function withPassword(url: string, password: string, database?: string): string {
  const u = new URL(url)
  u.password = password
  if (database) u.pathname = `/${database}`
  return u.toString()
}

t.test('DATABASE_URL naming a database that does not exist', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const name = `authjwt_missing_${randomBytes(4).toString('hex')}`
  const { code, output } = await runServer({
    DATA_DIR: await tempDir(t),
    DATABASE_URL: withPassword(PG_URL, 'pg-secret-41', name),
  })
  t.equal(code, 69)
  const at = `${new URL(PG_URL).hostname}:${new URL(PG_URL).port || '5432'}`
  saysOnly(
    t,
    output,
    `DATABASE_URL: the database "${name}" does not exist on ${at}; create it (createdb ${name}, or CREATE DATABASE "${name}") or name an existing one in DATABASE_URL.`,
    'pg-secret-41',
  )
})

t.test('an unreachable Redis fails the start at once, naming REDIS_URL and the cause', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const { url } = await freshPostgres(t)
  const port = await freePort()
  const { code, output } = await runServer({
    DATA_DIR: await tempDir(t),
    DATABASE_URL: url,
    REDIS_URL: `redis://:redis-secret-77@127.0.0.1:${port}/0`,
  })
  t.equal(code, 68)
  saysOnly(
    t,
    output,
    `REDIS_URL: cannot reach Redis at redis://***@127.0.0.1:${port}/0 (connection refused); start Redis or correct REDIS_URL.`,
    'redis-secret-77',
  )
})

t.test('REDIS_URL naming a database Redis does not have is refused, not run in database 0', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const { url } = await freshPostgres(t)
  const probe = new Redis(REDIS_URL, { lazyConnect: true })
  const databases = Number(((await probe.config('GET', 'databases')) as string[])[1])
  probe.disconnect()
  const redisUrl = `${REDIS_URL.replace(/\/\d*$/, '')}/${databases}`
  const { code, output } = await runServer({
    DATA_DIR: await tempDir(t),
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
  })
  t.equal(code, 78, 'a configuration problem')
  saysOnly(
    t,
    output,
    `REDIS_URL: Redis at ${redisUrl} has no database ${databases}; name one of 0 to ${databases - 1} at the end of REDIS_URL (e.g. /0), or raise "databases" in redis.conf.`,
  )
  t.notMatch(output, 'revocation_store', 'it never reports the store as ready')
})

t.test('a port in use', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => blocker.close())
  const { port } = blocker.address() as { port: number }
  const real = (await backendNames(t)).includes('real')
  const { code, output } = await runServer({
    DATA_DIR: await tempDir(t),
    HOST: '127.0.0.1',
    PORT: String(port),
    ...(real ? { DATABASE_URL: (await freshPostgres(t)).url } : {}),
  })
  t.equal(code, 98)
  saysOnly(
    t,
    output,
    `PORT: 127.0.0.1:${port} is already in use by another program (Django's runserver often listens on 8000); stop it, or set PORT to a free port.`,
  )
})

t.test('NODE_ENV must be production, development or test', async (t) => {
  const { code, output } = await runServer({ DATA_DIR: await tempDir(t), NODE_ENV: 'prod' })
  t.equal(code, 78)
  t.match(output, 'NODE_ENV: expected production, development or test, got "prod".')
  t.notMatch(output, /^\s+at /m)
})

t.test('production: what is off is said, the embedded backends only on purpose and loudly', async (t) => {
  const env = {
    DATA_DIR: await tempDir(t),
    NODE_ENV: 'production',
    SIGNING_KEY: 'startup-test-signing-key-of-at-least-32-bytes',
    KEY_ENCRYPTION_KEY: 'startup-test-key-encryption-key-32-bytes-long',
    PUBLIC_URL: 'https://auth.example.com',
  }
  const refused = await runServer(env)
  t.equal(refused.code, 78, 'no DATABASE_URL, no REDIS_URL: refused')
  t.match(refused.output, 'DATABASE_URL: required when NODE_ENV=production')
  t.match(refused.output, 'REDIS_URL: required when NODE_ENV=production')

  const server = await startServer(t, { ...env, ALLOW_EMBEDDED_IN_PRODUCTION: 'true' })
  const log = server.output()
  t.match(log, /"level":40[^\n]*production on the embedded database \(ALLOW_EMBEDDED_IN_PRODUCTION=true\)/)
  t.match(log, /"level":40[^\n]*production on the in-process revocation store/)
  t.match(log, 'features off: mail (password reset, e-mail verification, alerts): no SMTP_URL in production')
  t.match(log, 'metrics: set METRICS_PORT or METRICS_TOKEN')
  t.match(log, `"console":"${server.base}/admin/"`, 'the console URL is in the start-up log')
  t.match(log, `(console: ${server.base}/admin/, API docs: ${server.base}/api/v1/schema/swagger-ui/)`)

  const home = await http(server.base, 'GET', '/')
  t.equal(home.status, 200, 'GET / is not a 404')
  t.match(home.headers.get('content-type'), 'text/html')
  for (const link of [
    'href="/admin/"',
    'href="/api/v1/schema/swagger-ui/"',
    'href="/api/v1/schema/redoc/"',
  ]) {
    t.match(home.text, link, `it links ${link}`)
  }
  for (const link of ['/admin/', '/api/v1/schema/swagger-ui/', '/api/v1/schema/redoc/']) {
    const res = await fetch(`${server.base}${link}`)
    t.equal(res.status, 200, `${link} exists`)
    await res.arrayBuffer()
  }
  t.equal(await server.stop(), 0)
})
