import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loggerOptions } from '../../src/log.js'
import { eachBackend, makeApp, openBackend, type TestApp, testConfig } from '../helpers/backends.js'

/**
 * One request must never silence the audit trail: text a client sends (a lone surrogate, a name
 * whose cap would cut an emoji in half, a made-up key in a staff PATCH, an address that is no
 * address) is stored as a row can hold it, and a row the database refuses anyway is set aside
 * (kept, counted, logged once) while the rest of its batch, its webhooks and its alerts go on.
 */
t.setTimeout(240_000)

const V1 = '/api/v1/auth'
const KEK = 'audit-poison-test-key-encryption-key-32'

interface Row {
  id: number
  type: string
  user_id: number | null
  session_id: number | null
  ip: string | null
  request_id: string | null
  details: Record<string, unknown> | null
}

async function rowsOf(db: TestApp['database']['db']): Promise<Row[]> {
  const result = await db.execute(
    sql`select id::int, type, user_id, session_id, ip, request_id, details from audit_events order by id`,
  )
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[]
}

/** The row `match` finds, once it is in audit_events; undefined after `withinMs`. */
async function appears(h: TestApp, match: (r: Row) => boolean, withinMs = 1000): Promise<Row | undefined> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const found = (await rowsOf(h.database.db)).find(match)
    if (found || Date.now() > deadline) return found
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A webhook receiver on 127.0.0.1 that keeps each event's type and data. */
async function receiver(t: Test) {
  const received: { type: string; data: Record<string, unknown> }[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8')
    })
    req.on('end', () => {
      received.push(JSON.parse(body))
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received }
}

t.test('after each poisoned input the trail, its webhooks and its alerts go on', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, {
      auditFlushMs: 20,
      trustProxy: 1,
      failedLoginAlertThreshold: 3,
      webhooksAllowPrivate: true,
      webhookRetrySeconds: 1,
      keyEncryptionKey: KEK,
    })
    const hook = await receiver(t)
    const admin = await h.createUser({ isStaff: true, isSuperuser: true })
    const staff = h.bearer((await h.login(admin.username, admin.password)).access)
    const made = await h.request({
      method: 'POST',
      url: `${V1}/admin/webhooks/`,
      headers: staff,
      payload: { url: hook.url },
    })
    t.equal(made.statusCode, 201, made.body)
    const victim = await h.createUser({ username: 'victim' })

    const json = { 'content-type': 'application/json' }
    /** A normal event after the poisoned one: written within a second. */
    const trailGoesOn = async (after: string) => {
      const { session_id } = await h.login(victim.username, victim.password)
      const row = await appears(h, (r) => r.type === 'login.succeeded' && r.session_id === session_id)
      t.ok(row, `after ${after}, a later login is in audit_events within a second`)
    }

    // A lone surrogate: PostgreSQL's JSON refuses the escape JSON.stringify writes for it.
    const lone = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      headers: json,
      payload: '{"username": "x\\ud800", "password": "x"}',
    })
    t.equal(lone.statusCode, 401)
    await trailGoesOn('a username with a lone surrogate')
    const loneRow = await appears(h, (r) => r.type === 'login.failed' && r.details?.identifier === 'x\uFFFD')
    t.ok(loneRow, 'the failed login is kept, the surrogate replaced')

    // 149 characters and an emoji: 150 code points, 151 UTF-16 units; a cap at 150 units cut it.
    const long = `${'n'.repeat(149)}\u{1F600}`
    const emoji = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      payload: { username: long, password: 'x' },
    })
    t.equal(emoji.statusCode, 401)
    await trailGoesOn('a 150-character name ending in an emoji')
    t.ok(
      await appears(h, (r) => r.type === 'login.failed' && r.details?.identifier === long),
      'the name is kept whole: 150 code points fit',
    )

    // A staff PATCH with a key the endpoint does not know, which is no text either.
    const patch = await h.request({
      method: 'PATCH',
      url: `${V1}/users/${victim.id}/`,
      headers: { ...staff, ...json },
      payload: '{"first_name": "Vic", "\\ud800": "x", "made_up": 1}',
    })
    t.equal(patch.statusCode, 200, patch.body)
    await trailGoesOn('a staff PATCH with a lone-surrogate key')
    const updated = await appears(h, (r) => r.type === 'user.updated' && r.user_id === victim.id)
    t.same(updated?.details, { fields: ['first_name'] }, 'only the field that changed, none made up')

    // Addresses that are none, or too long for the column, reaching the writer directly.
    for (const ip of ['x'.repeat(300), 'not-an-ip <script>', `2001:db8::${'1:'.repeat(30)}1`]) {
      h.app.audit.record(
        { type: 'session.revoked', userId: victim.id },
        { ip, userAgent: 'ua', requestId: 'bad-ip' },
      )
    }
    await trailGoesOn('addresses that are not addresses')
    const badIps = (await rowsOf(h.database.db)).filter((r) => r.request_id === 'bad-ip')
    t.same(
      badIps.map((r) => r.ip),
      [null, null, null],
      'kept without the address',
    )

    // Through the proxy header: a login that succeeds must not fail on the session's address.
    const proxied = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      headers: { 'x-forwarded-for': 'f'.repeat(60) },
      payload: { username: victim.username, password: victim.password },
    })
    t.equal(proxied.statusCode, 200, 'not a 500')
    const session = await h.app.repos.sessions.findById(proxied.json().session_id)
    // The nearest valid address on the way (here the peer: light-my-request's 127.0.0.1) stands in.
    t.equal(session?.ipAddress, '127.0.0.1', 'the session keeps a valid address, never the junk')
    await trailGoesOn('an X-Forwarded-For of 60 characters')

    // Alerts and webhooks still flow: three wrong passwords raise one, and it is delivered.
    for (let i = 0; i < 3; i++) {
      await h.request({
        method: 'POST',
        url: `${V1}/token/`,
        payload: { username: 'victim', password: 'wrong' },
      })
    }
    t.ok(
      await appears(h, (r) => r.type === 'suspicious.failed_logins' && r.user_id === victim.id, 5000),
      'the failed-login alert is raised',
    )
    const deadline = Date.now() + 15_000
    while (!hook.received.some((e) => e.type === 'suspicious.failed_logins') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const alert = hook.received.find((e) => e.type === 'suspicious.failed_logins')
    t.ok(alert, 'and delivered to the webhook')
    t.equal(alert?.data.username, 'victim', "with the user's username")
    t.equal(h.app.audit.refused, 0, 'nothing had to be set aside: every input was made storable')
  })
})

t.test(
  'a row the database refuses is set aside, counted and logged once; its batch is written',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const { database, store } = await openBackend(t, backend)
      const config = testConfig({
        logLevel: 'info',
        auditFlushMs: 60_000,
        metricsToken: 'metrics-token-0123456789',
      })
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
      const user = await app.repos.users.create({ username: 'mate', email: '', passwordHash: 'x' })

      // A check no code foresees: the database refuses one row of the batch (SQLSTATE 23514).
      await database.db.execute(
        sql`alter table audit_events add constraint refuse_poison check (request_id is distinct from 'poison')`,
      )
      const meta = (requestId: string, userAgent = 'ua') => ({ ip: '192.0.2.7', userAgent, requestId })
      app.audit.record({ type: 'session.logout', userId: user.id }, meta('mate-1'))
      app.audit.record(
        { type: 'login.failed', details: { reason: 'x' } },
        meta('poison', 'private-marker-agent'),
      )
      app.audit.record({ type: 'token.reuse_detected', userId: user.id }, meta('mate-2'))
      await app.audit.flush()

      const rows = await rowsOf(database.db)
      t.same(
        rows.map((r) => [r.type, r.request_id]),
        [
          ['session.logout', 'mate-1'],
          ['token.reuse_detected', 'mate-2'],
          ['suspicious.refresh_reuse', 'mate-2'],
        ],
        'the batch-mates are written, in order, with the alert they raise',
      )
      const result = await database.db.execute(
        sql`select event_type, sqlstate, event from audit_dead_letters order by id`,
      )
      const dead = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
        event_type: string
        sqlstate: string
        event: string
      }[]
      t.equal(dead.length, 1, 'the refused row is kept for an operator')
      t.equal(dead[0]?.event_type, 'login.failed')
      t.equal(dead[0]?.sqlstate, '23514')
      t.match(JSON.parse(dead[0]?.event ?? '{}'), { type: 'login.failed', requestId: 'poison' })
      t.equal(app.audit.refused, 1)
      t.match(await app.metrics!.text(), /authjwt_audit_events_set_aside_total 1\b/, 'counted')
      const lines = logged.split('\n').filter((l) => l.includes('audit_dead_letters'))
      t.equal(lines.length, 1, 'logged once')
      t.notMatch(logged, 'private-marker-agent', 'without the values of the event')

      // And later events are written as usual.
      app.audit.record({ type: 'session.logout', userId: user.id }, meta('later'))
      await app.audit.flush()
      t.ok((await rowsOf(database.db)).some((r) => r.request_id === 'later'))
    })
  },
)

t.test('a database that is away still keeps the whole batch: nothing is set aside', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { auditFlushMs: 20 })
    // Every insert fails as an unavailable server does (admin_shutdown), then the server is back.
    await h.database.db.execute(sql`create function away() returns trigger language plpgsql as $$
      begin raise exception 'terminating connection' using errcode = 'admin_shutdown'; end $$`)
    await h.database.db.execute(
      sql`create trigger away before insert on audit_events for each row execute function away()`,
    )
    for (let i = 0; i < 3; i++) h.app.audit.record({ type: 'session.logout', details: { n: i } }, undefined)
    await new Promise((r) => setTimeout(r, 300))
    const written = (await rowsOf(h.database.db)).filter((r) => r.type === 'session.logout')
    t.equal(written.length, 0, 'nothing written while the database is away')
    t.equal(h.app.audit.refused, 0, 'and nothing set aside: unavailable is not refused')
    await h.database.db.execute(sql`drop trigger away on audit_events`)
    await h.app.audit.flush()
    const rows = (await rowsOf(h.database.db)).filter((r) => r.type === 'session.logout')
    t.same(
      rows.map((r) => r.details?.n),
      [0, 1, 2],
      'all written once it is back, in order',
    )
    t.equal(h.app.audit.refused, 0)
  })
})
