import t from 'tap'
import { buildApp } from '../../src/app.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import type { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { revokeThreeWays } from '../helpers/revocations.js'
import { newJti } from '../../src/tokens/jti.js'

/**
 * Every revocation answered 2xx is in PostgreSQL, so a revocation store that lost its entries is
 * refilled from there: until it is, protected requests answer 503, never 200.
 */

const testAuth = (h: TestApp, access: string) =>
  h.request({ method: 'GET', url: '/api/test-auth/', headers: h.bearer(access) })

t.test('a token denied by its jti alone is in the database', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const { revoked } = await revokeThreeWays(h)
    const jti = JSON.parse(Buffer.from(revoked['jti denied'].split('.')[1]!, 'base64url').toString()).jti
    const rows = await h.app.repos.deniedTokens.unexpired(new Date())
    t.ok(
      rows.some((row) => row.jti === jti),
      'the denial is a row',
    )
  })
})

t.test('a store that starts empty is rebuilt before it answers', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const { revoked, live } = await revokeThreeWays(h)
    // A second instance (or a restart) on the same database, with a store that knows nothing.
    const store = new MemoryRevocationStore()
    t.teardown(() => store.close())
    const fresh = await buildApp(h.config, { database: h.database, store, logger: false })
    await fresh.ready()
    t.teardown(() => fresh.close())
    for (const [name, access] of Object.entries(revoked)) {
      const res = await fresh.inject({ method: 'GET', url: '/api/test-auth/', headers: h.bearer(access) })
      t.equal(res.statusCode, 401, `${name}: still refused`)
    }
    const ok = await fresh.inject({ method: 'GET', url: '/api/test-auth/', headers: h.bearer(live) })
    t.equal(ok.statusCode, 200, 'a live token still works')
  })
})

t.test('Redis emptied under a running service: 503 until rebuilt, then 401, never 200', async (t) => {
  await eachBackend(t, async (t, backend) => {
    if (backend !== 'real') return
    const h = await makeApp(t, backend)
    const { revoked, live } = await revokeThreeWays(h)
    const store = h.store as RedisRevocationStore
    // What FLUSHALL does to this service's keys, without touching the shared server's others.
    const keys = await store.client.keys(`${store.prefix}*`)
    await store.client.del(...keys)

    const first = await testAuth(h, revoked['jti denied'])
    t.equal(first.statusCode, 503, 'the next request notices the loss and fails closed')
    t.equal(first.json().code, 'service_unavailable')
    const seen = new Set<number>([first.statusCode])
    const deadline = Date.now() + 10_000
    let settled = false
    while (!settled && Date.now() < deadline) {
      const answers = await Promise.all(Object.values(revoked).map((access) => testAuth(h, access)))
      for (const res of answers) seen.add(res.statusCode)
      settled = answers.every((res) => res.statusCode === 401)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    t.ok(settled, 'every revoked token is refused again')
    t.notOk(seen.has(200), `never 200 (answers seen: ${[...seen].join(', ')})`)
    t.equal((await testAuth(h, live)).statusCode, 200, 'a live token works again')
    t.equal(await store.client.exists(`${store.prefix}complete`), 1, 'the store is marked complete again')
  })
})

t.test(
  'a restore that read the database before an invalidate-all and a deactivation undoes neither',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const h = await makeApp(t, backend)
      const { repos, revocations } = h.app
      // An earlier invalidate-all: the restore will read its mark, older than the one made meanwhile.
      await revocations.invalidateAll()
      const user = await h.createUser()
      const older = await h.login(user.username, user.password)
      // The leaver has a mark already (a logout everywhere), so the restore rewrites their state.
      const leaver = await h.createUser()
      const first = await h.login(leaver.username, leaver.password)
      const all = await h.request({
        method: 'POST',
        url: '/api/v1/auth/logout/all/',
        headers: h.bearer(first.access),
      })
      t.equal(all.statusCode, 200)
      const leaverLogin = await h.login(leaver.username, leaver.password)
      t.equal((await testAuth(h, older.access)).statusCode, 200)
      t.equal((await testAuth(h, leaverLogin.access)).statusCode, 200)

      // Each change commits right after the restore read what it changes, before the restore writes it.
      const readGlobal = repos.globalMark.globalValidAfter.bind(repos.globalMark)
      const readMarks = repos.users.revocationMarks.bind(repos.users)
      const putBack = () => {
        repos.globalMark.globalValidAfter = readGlobal
        repos.users.revocationMarks = readMarks
      }
      t.teardown(putBack)
      repos.globalMark.globalValidAfter = async () => {
        const mark = await readGlobal()
        await revocations.invalidateAll()
        return mark
      }
      repos.users.revocationMarks = async (since) => {
        const marks = await readMarks(since)
        t.ok(
          marks.some((m) => m.id === leaver.id && m.isActive),
          'the restore read the leaver as active',
        )
        const record = await repos.users.findById(leaver.id)
        await revocations.revokeUser({ ...record!, isActive: false }, 'deactivated', {
          alongside: (tx) => repos.users.update(leaver.id, { isActive: false }, tx),
        })
        return marks
      }
      // As a store runs it when it may have lost entries: with the store's stamps.
      await h.app.revocationStore.keepRestored((scope) => revocations.rebuild(scope))
      putBack()

      const latest = await repos.globalMark.globalValidAfter()
      const held = await h.app.revocationStore.lookup(newJti(), undefined, user.id)
      t.equal(held.globalValidAfter, String(latest), 'the store holds the later invalidate-all')
      const a = await testAuth(h, older.access)
      t.equal(a.statusCode, 401, 'a token issued before the second invalidate-all stays refused')
      const b = await testAuth(h, leaverLogin.access)
      t.equal(b.statusCode, 401, 'the deactivated user stays refused')
      t.equal(b.json().code, 'user_inactive', 'for being inactive: their state was not rewritten')
    })
  },
)
