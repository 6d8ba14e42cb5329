import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { StoreUnavailableError } from '../../src/revocation/store.js'
import { newJti } from '../../src/tokens/jti.js'
import { backendNames, freshRedisStore } from '../helpers/backends.js'
import { contract } from '../helpers/store-contract.js'

t.test('MemoryRevocationStore', async (t) => {
  const store = new MemoryRevocationStore('m:')
  t.teardown(() => store.close())
  await contract(t, store)

  t.test('expired entries are swept', async (t) => {
    const swept = new MemoryRevocationStore('', 50)
    t.teardown(() => swept.close())
    await swept.denySessions(
      [1, 2, 3].map((id) => ({ id, userId: 1 })),
      1,
    )
    t.equal(swept.size(), 3)
    await sleep(1200)
    t.equal(swept.size(), 0)
  })
})

t.test('RedisRevocationStore', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const prefix = `t:${randomBytes(6).toString('hex')}:`
  const store = await freshRedisStore(t, prefix)
  await contract(t, store, (key) => store.client.ttl(`${prefix}${key}`))

  t.test('stores under different prefixes do not see each other', async (t) => {
    const other = await freshRedisStore(t)
    const jti = newJti()
    await other.denyToken(jti, 60)
    t.equal((await store.lookup(jti, undefined, 1)).jtiDenied, false)
    t.equal((await other.lookup(jti, undefined, 1)).jtiDenied, true)
  })
})

t.test('RedisRevocationStore fails closed, quickly, when Redis is down', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const store = new RedisRevocationStore(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 500 })
  t.teardown(() => store.close())

  await t.rejects(store.connect(300), StoreUnavailableError, 'connect reports the store unavailable')
  const started = Date.now()
  await t.rejects(store.lookup(newJti(), 1, 1), StoreUnavailableError, 'lookup rejects')
  await t.rejects(store.denyToken(newJti(), 60), StoreUnavailableError, 'writes reject')
  await t.rejects(store.denySessions([{ id: 1, userId: 1 }], 60), StoreUnavailableError)
  await t.rejects(store.setGlobalValidAfter(1, 60), StoreUnavailableError)
  await t.rejects(store.ping(), StoreUnavailableError)
  t.ok(Date.now() - started < 1000, `no hang (${Date.now() - started} ms)`)
})
