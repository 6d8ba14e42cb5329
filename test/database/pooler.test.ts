import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/database/database.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import { testConfig } from '../helpers/backends.js'
import { privatePgBouncer, privatePostgres } from '../helpers/private-servers.js'
import { root } from '../helpers/server-process.js'

/**
 * PostgreSQL behind a transaction-mode PgBouncer (of this test's own), with DB_POOLER=transaction:
 * the contract suite passes through it, and the statement deadline still holds there.
 */
t.setTimeout(1_200_000)

t.test('the contract tests pass through PgBouncer in transaction mode', async (t) => {
  const pg = await privatePostgres(t)
  const bouncer = await privatePgBouncer(t, pg)
  const files = execFileSync('ls', ['test/contract'], { cwd: root })
    .toString()
    .split('\n')
    .filter((f) => /^contract-.*\.test\.ts$/.test(f))
    .map((f) => `test/contract/${f}`)
  t.ok(files.length >= 5, `${files.length} contract test files`)
  // Asynchronously: this process must keep serving its own children (PgBouncer) meanwhile.
  const child = spawn(`${root}node_modules/.bin/tap`, ['--reporter=tap', ...files], {
    cwd: root,
    env: {
      ...process.env,
      TEST_DATABASE_URL: bouncer.url,
      TEST_DB_POOLER: 'transaction',
      REQUIRE_REAL_BACKENDS: '1',
      // The embedded backend has no pooler in front; other tests run the suite on it.
      TEST_BACKENDS: 'real',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  const passed = output.split('\n').filter((line) => /^\s*ok \d+ /.test(line)).length
  t.comment(`${passed} contract cases and checks passed through PgBouncer`)
  const failures = output.split('\n').filter((line) => /^\s*not ok /.test(line))
  t.same(failures.slice(0, 20), [], 'no contract case fails behind the pooler')
  t.equal(code, 0, 'the contract suite passes on the real backend through PgBouncer')
})

t.test(
  'behind the pooler, a locked row answers 503 within the deadline, and the server gives up too',
  async (t) => {
    const pg = await privatePostgres(t)
    const bouncer = await privatePgBouncer(t, pg)
    const name = `authjwt_pool_${randomBytes(4).toString('hex')}`
    const direct = postgres(pg.url, { max: 2, onnotice: () => {} })
    t.teardown(() => direct.end({ timeout: 2 }))
    await direct.unsafe(`create database ${name}`)
    const url = bouncer.url.replace(/\/postgres$/, `/${name}`)
    const deadlineMs = 1000
    const database = await openDatabase({
      url,
      poolSize: 4,
      queryTimeoutMs: deadlineMs,
      pooler: 'transaction',
    })
    await database.migrate()
    const store = new MemoryRevocationStore()
    const app = await buildApp(testConfig(), { database, store, logger: false })
    await app.ready()
    t.teardown(async () => {
      await app.close()
      await database.close()
      await store.close()
    })
    const password = 'pooler-password-1'
    const user = await app.repos.users.create({
      username: 'pooled',
      email: 'pooled@example.com',
      passwordHash: await app.hasher.hash(password),
      clientId: null,
      expiryDate: null,
      emailVerified: true,
    })
    const login = () =>
      app.inject({ method: 'POST', url: '/api/v1/auth/token/', payload: { username: 'pooled', password } })
    const first = await login()
    t.equal(first.statusCode, 200, 'login works through the pooler')
    const { refresh, session_id: sessionId } = first.json()

    // Another client holds the user's row and the session's row, as a long transaction would.
    const onDb = postgres(pg.url.replace(/\/postgres$/, `/${name}`), { max: 1, onnotice: () => {} })
    t.teardown(() => onDb.end({ timeout: 2 }))
    let release = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked = () => {}
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve
    })
    const holder = onDb.begin(async (sql) => {
      await sql`select 1 from users where id = ${user.id} for update`
      await sql`select 1 from sessions where id = ${sessionId} for update`
      locked()
      await held
    })
    await isLocked

    // A transaction (refresh spends the token and rotates the session) waits on the session's row.
    let started = Date.now()
    const refreshed = await app.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    const refreshMs = Date.now() - started
    t.equal(refreshed.statusCode, 503, 'refresh on a locked row: 503')
    t.ok(
      refreshMs < deadlineMs * 3,
      `refresh answered within the deadline (${refreshMs} ms, deadline ${deadlineMs} ms)`,
    )

    // A single statement (login writes the session and the user's last_login) waits on the user's row.
    started = Date.now()
    const blocked = await login()
    const loginMs = Date.now() - started
    t.equal(blocked.statusCode, 503, 'login on a locked row: 503')
    t.ok(
      loginMs < deadlineMs * 3,
      `login answered within the deadline (${loginMs} ms, deadline ${deadlineMs} ms)`,
    )

    // The server stopped waiting as well: nothing of ours still waits on the lock, so the pooler's
    // server connections are free again while the lock is still held.
    const waiting = async () =>
      (
        await direct`select count(*)::int as n from pg_stat_activity
        where datname = ${name} and wait_event_type = 'Lock'`
      )[0]!.n as number
    const until = Date.now() + deadlineMs * 4
    while ((await waiting()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
    t.equal(await waiting(), 0, 'no statement of ours waits on the lock past the deadline')

    release()
    await holder
    const again = await login()
    t.equal(again.statusCode, 200, 'once the lock is gone, login works again')
  },
)
