import t from 'tap'
import { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { redisConnection } from '../../src/revocation/redis-target.js'
import { freshPostgres } from '../helpers/backends.js'
import { privateSentinels } from '../helpers/redis-sentinels.js'
import { assertFailover, login, logout, testAuth, traffic } from '../helpers/failover.js'
import { startServer } from '../helpers/server-process.js'
import { contract } from '../helpers/store-contract.js'

/**
 * Redis behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): the store keeps its contract on
 * the master the Sentinels name, and a failover under traffic costs some seconds of 503 on
 * protected routes, never a 200 for a revoked token, and no restart. Servers of the test's own.
 */
t.setTimeout(240_000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ADMIN = { username: 'sentineladmin', password: 'sentinel-admin-password' }

t.test('the store contract, on the master the Sentinels name', async (t) => {
  const set = await privateSentinels(t)
  const target = redisConnection({
    redisUrl: undefined,
    redisSentinels: set.sentinels,
    redisSentinelMaster: set.master,
    redisSentinelPassword: undefined,
    redisClusterNodes: undefined,
  })
  const store = new RedisRevocationStore(target!, { prefix: 'c:' })
  t.teardown(() => store.close())
  await store.connect()
  await store.keepRestored(async () => {})
  const port = /tcp_port:(\d+)/.exec(await store.client.info('server'))?.[1]
  t.equal(Number(port), await set.masterPort(), 'connected to the master the Sentinels name')
  await contract(t, store, (key) => store.client.ttl(`c:${key}`))
})

t.test('a failover under traffic: some seconds of 503, never a revoked token, no restart', async (t) => {
  const set = await privateSentinels(t)
  const { url } = await freshPostgres(t)
  const server = await startServer(t, {
    DATABASE_URL: url,
    ...set.env,
    REDIS_COMMAND_TIMEOUT_MS: '300',
    SIGNING_KEY: 'sentinel-test-signing-key-0123456789abcdef',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    LOGIN_RATE_LIMIT: '0',
    LOGIN_ACCOUNT_RATE_LIMIT: '0',
  })
  const live = await login(server, ADMIN)
  const gone = await login(server, ADMIN)
  t.equal(await logout(server, gone), 200)
  t.equal(await testAuth(server, gone.access), 401, 'a logged-out session is refused before the failover')
  t.equal(await testAuth(server, live.access), 200)

  // Traffic on both tokens, every answer kept with its time.
  let unreplicatedAccess: string | undefined
  const load = traffic(server, gone.access, live.access, () => unreplicatedAccess)
  await sleep(300)
  // A logout the master acknowledges but never passes on: the promoted replica lacks it, and the
  // store must restore it from PostgreSQL before it answers again.
  const resume = await set.pauseReplica()
  const unreplicated = await login(server, ADMIN)
  t.equal(await logout(server, unreplicated), 200, 'a logout while the replica hears nothing')
  unreplicatedAccess = unreplicated.access
  const oldPort = await set.killMaster()
  const killedAt = Date.now()
  resume()
  const newPort = await set.failedOver(oldPort)
  t.not(newPort, oldPort, 'the Sentinels promoted the replica')
  // Until the live token works again, then a little longer.
  await load.stopWhenServed(killedAt)
  assertFailover(t, load.answers, killedAt)

  t.equal(await testAuth(server, unreplicated.access), 401, 'the logout the new master never heard holds')
  t.ok(server.alive(), 'the same process serves: no restart')
  const later = await login(server, ADMIN)
  t.equal(await logout(server, later), 200, 'a logout on the new master')
  t.equal(await testAuth(server, later.access), 401, 'holds at once')
})
