import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { type Database, openDatabase } from '../../src/database/database.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import type { RevocationStore } from '../../src/revocation/store.js'
import { backendNames, freshPostgres, freshRedisStore, REDIS_URL, testConfig } from '../helpers/backends.js'
import { childEnv, http, root, startServer, tsx } from '../helpers/server-process.js'

// Each subprocess starts tsx and, on PGlite, a database: slow on a loaded machine.
t.setTimeout(300_000)

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI as an operator would, with only the environment given (never the test runner's). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['src/cli.ts', ...args],
      {
        cwd: root,
        timeout: 60_000,
        env: childEnv(env),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function appOn(database: Database, store: RevocationStore, redisPrefix?: string) {
  const app = await buildApp(testConfig(redisPrefix ? { redisPrefix } : {}), {
    database,
    store,
    logger: false,
  })
  await app.ready()
  return app
}

async function login(app: FastifyInstance, username: string, password: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/token/',
    payload: { username, password },
  })
  return { status: res.statusCode, body: res.json() }
}

function me(app: FastifyInstance, access: string) {
  return app.inject({
    method: 'GET',
    url: '/api/v1/auth/users/me/',
    headers: { authorization: `Bearer ${access}` },
  })
}

t.test('help and usage errors', async (t) => {
  const dataDir = await tempDir(t)
  const help = await cli(['--help'])
  t.equal(help.code, 0)
  for (const name of ['migrate', 'create-user', 'invalidate-all-tokens', 'flush-expired']) {
    t.match(help.stdout, name, `the help lists ${name}`)
  }

  const userHelp = await cli(['create-user', '--help'])
  t.equal(userHelp.code, 0)
  for (const flag of ['--username', '--email', '--password', '--staff', '--superuser', '--client']) {
    t.match(userHelp.stdout, flag, `create-user --help lists ${flag}`)
  }
  t.match((await cli(['invalidate-all-tokens', '--help'])).stdout, '--confirm')

  const none = await cli([])
  t.equal(none.code, 2, 'no command is a usage error')
  t.match(none.stderr, 'Usage:')

  const unknown = await cli(['frobnicate'])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, 'Unknown command "frobnicate"')

  const badFlag = await cli(['migrate', '--nope'])
  t.equal(badFlag.code, 2)
  t.match(badFlag.stderr, "Unknown option '--nope'")

  const missing = await cli(['create-user', '--username', 'ann'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, 'missing --email.')

  const stray = await cli(['create-user', '--username', 'ann', 'hunter2-secret'])
  t.equal(stray.code, 2)
  t.notMatch(stray.stderr + stray.stdout, 'hunter2-secret', 'a stray value (maybe a password) is not echoed')

  const badEmail = await cli(['create-user', '--username', 'a', '--email', 'nope', '--password', 'x'], {
    DATA_DIR: dataDir,
  })
  t.equal(badEmail.code, 2)
  t.match(badEmail.stderr, '--email: Enter a valid email address.')

  const badConfig = await cli(['migrate'], { PORT: 'eighty', DATA_DIR: dataDir })
  t.equal(badConfig.code, 78, 'bad configuration exits 78, as the server')
  t.match(badConfig.stderr, 'PORT: expected a whole number')
})

t.test('on PostgreSQL and Redis', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const { url, database } = await freshPostgres(t)
  const prefix = `t:${randomBytes(6).toString('hex')}:`
  const env = {
    DATABASE_URL: url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    SIGNING_KEY: 'cli-test-signing-key-that-is-at-least-32-bytes',
  }

  const migrate = await cli(['migrate'], env)
  t.equal(migrate.code, 0, migrate.stderr)
  t.match(migrate.stdout, 'Migrations applied (PostgreSQL)')

  const password = `pw-${randomBytes(8).toString('hex')}`
  const args = ['create-user', '--username', 'opal', '--email', 'opal@example.com', '--password', password]
  const created = await cli([...args, '--superuser', '--client', 'Acme', '--first-name', 'Opal'], env)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, 'Created user "opal"')
  t.notMatch(created.stdout + created.stderr, password, 'the password is never printed')

  const duplicate = await cli(args, env)
  t.equal(duplicate.code, 1)
  t.match(duplicate.stderr, 'A user with that username already exists')
  t.notMatch(duplicate.stdout + duplicate.stderr, password)

  const store = await freshRedisStore(t, prefix)
  const app = await appOn(database, store, prefix)
  t.teardown(() => app.close())
  const first = await login(app, 'opal', password)
  t.equal(first.status, 200, 'the created user logs in')
  t.equal(first.body.client_name, 'Acme')
  const profile = (await me(app, first.body.access)).json()
  t.match(profile, { is_superuser: true, is_staff: true, first_name: 'Opal', client_name: 'Acme' })

  const refused = await cli(['invalidate-all-tokens'], env)
  t.not(refused.code, 0, 'refuses without --confirm')
  t.match(refused.stderr, '--confirm')
  t.equal((await me(app, first.body.access)).statusCode, 200, 'nothing was revoked')

  const invalidated = await cli(['invalidate-all-tokens', '--confirm'], env)
  t.equal(invalidated.code, 0, invalidated.stderr)
  t.match(invalidated.stdout, '1 active session(s) revoked')
  const after = await me(app, first.body.access)
  t.equal(after.statusCode, 401, 'the running server rejects the old token at once (Redis)')
  t.equal(after.json().code, 'token_revoked')
  const second = await login(app, 'opal', password)
  t.equal(second.status, 200, 'logging in again works')
  t.equal((await me(app, second.body.access)).statusCode, 200)

  const user = await app.repos.users.findByLogin('opal')
  const past = new Date(Date.now() - 60_000)
  const expired = await app.repos.sessions.create({
    userId: user!.id,
    refreshJti: randomBytes(16).toString('hex'),
    accessJti: randomBytes(16).toString('hex'),
    clientType: 'website',
    createdAt: new Date(past.getTime() - 3600_000),
    expiresAt: past,
  })
  const flushed = await cli(['flush-expired'], env)
  t.equal(flushed.code, 0, flushed.stderr)
  t.match(flushed.stdout, 'Deleted 1 expired session(s).')
  t.equal(await app.repos.sessions.findById(expired.id), undefined, 'the expired session is gone')
  t.ok(await app.repos.sessions.findById(second.body.session_id), 'the live session stays')
})

t.test('on embedded PGlite in DATA_DIR', async (t) => {
  const dataDir = await tempDir(t)
  const env = { DATA_DIR: dataDir }
  const migrate = await cli(['migrate'], env)
  t.equal(migrate.code, 0, migrate.stderr)
  t.match(migrate.stdout, 'Migrations applied (embedded PGlite)')

  const created = await cli(
    ['create-user', '--username', 'pia', '--email', 'pia@example.com', '--password', 's3cret-pw'],
    env,
  )
  t.equal(created.code, 0, created.stderr)

  // PGlite is single-process: the app opens the folder only while no CLI runs.
  const open = async () => {
    const database = await openDatabase({ embeddedDir: join(dataDir, 'pglite') })
    const store = new MemoryRevocationStore()
    const app = await appOn(database, store)
    return {
      app,
      async close() {
        await app.close()
        await store.close()
        await database.close()
      },
    }
  }
  const before = await open()
  const session = await login(before.app, 'pia', 's3cret-pw')
  t.equal(session.status, 200, 'the created user logs in')
  await before.close()

  const invalidated = await cli(['invalidate-all-tokens', '--confirm'], env)
  t.equal(invalidated.code, 0, invalidated.stderr)
  t.match(invalidated.stdout, '1 active session(s) revoked')
  t.match(invalidated.stdout, 'No server is running', 'says where the mark takes effect')

  const restarted = await open()
  const res = await me(restarted.app, session.body.access)
  t.equal(res.statusCode, 401, 'after a restart the mark is read from the database')
  t.equal(res.json().code, 'token_revoked')
  await restarted.close()

  const flushed = await cli(['flush-expired'], env)
  t.equal(flushed.code, 0, flushed.stderr)
  t.match(flushed.stdout, 'Deleted 0 expired session(s).')
})

t.test('while the server runs on embedded PGlite, commands go through it', async (t) => {
  const dataDir = await tempDir(t)
  const env = { DATA_DIR: dataDir, SIGNING_KEY: 'cli-test-signing-key-that-is-at-least-32-bytes' }
  const server = await startServer(t, env)
  t.match(server.output(), 'it works while this server runs', 'the start-up hint offers the CLI')

  const created = await cli(
    [
      'create-user',
      '--username',
      'rita',
      '--email',
      'rita@example.com',
      '--password',
      'rita-pw-123',
      '--staff',
    ],
    env,
  )
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, 'Created user "rita"')
  t.match(created.stdout, 'through the running server')
  const login = await http(server.base, 'POST', '/api/token/', {
    body: { username: 'rita', password: 'rita-pw-123' },
  })
  t.equal(login.status, 200, 'the server sees the user at once')
  const access = String(login.body.access)

  const duplicate = await cli(
    ['create-user', '--username', 'rita', '--email', 'other@example.com', '--password', 'x-pw-123'],
    env,
  )
  t.equal(duplicate.code, 1, 'a failure inside the server is the command failing')
  t.match(duplicate.stderr, 'A user with that username already exists')

  const invalidated = await cli(['invalidate-all-tokens', '--confirm'], env)
  t.equal(invalidated.code, 0, invalidated.stderr)
  t.match(invalidated.stdout, 'Applied by the running server')
  const me = await http(server.base, 'GET', '/api/user/', { headers: { authorization: `Bearer ${access}` } })
  t.equal(me.status, 401, 'the in-process store refuses the old token at once')
  t.equal(me.body.code, 'token_revoked')

  const second = await cli(['migrate'], env)
  t.match(second.stdout, 'through the running server')

  // What the CLI wrote survives the server's restart.
  t.equal(await server.stop(), 0)
  const restarted = await startServer(t, env)
  const again = await http(restarted.base, 'POST', '/api/token/', {
    body: { username: 'rita', password: 'rita-pw-123' },
  })
  t.equal(again.status, 200, 'the user is still there after a restart')

  // A second server on the same folder would lose writes: it is refused.
  const rival = await startServer(t, env).then(
    () => 'started',
    (err: Error) => err.message,
  )
  t.match(rival, 'is open in another process', 'a second server on one data folder is refused')
  t.equal(await restarted.stop(), 0)
})
