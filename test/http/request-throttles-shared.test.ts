import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { paths } from '../../routes/paths.js'
import { readThrottles } from '../../src/config/limits.js'
import { Reader } from '../../src/config/read.js'
import { ClusterRevocationStore } from '../../src/revocation/cluster-store.js'
import { clusterConnection } from '../../src/revocation/redis-target.js'
import type { RevocationStore } from '../../src/revocation/store.js'
import { freshRedisStore, makeApp, probeRealServers, type TestApp } from '../helpers/backends.js'
import { privateCluster } from '../helpers/redis-cluster.js'

/**
 * Request throttles count in the revocation store: instances on one Redis, or on one Redis
 * Cluster, spend one budget per scope and caller. Needs the real servers (nothing is shared
 * without them), so their absence is a failure, not a skip.
 */
t.setTimeout(300_000)

const env = { THROTTLE_SCOPE_VERIFY: '6/minute', THROTTLE_SCOPE_LOGIN: '4/hour', THROTTLE_ANON: '100/minute' }

async function twoInstances(t: Test, stores: () => Promise<RevocationStore>): Promise<[TestApp, TestApp]> {
  const throttles = readThrottles(new Reader(env))
  return [
    await makeApp(t, 'real', { throttles }, await stores()),
    await makeApp(t, 'real', { throttles }, await stores()),
  ]
}

async function sharedBudgets(t: Test, [a, b]: [TestApp, TestApp]) {
  const send = (h: TestApp, url: string, payload: object, ip: string) =>
    h.request({ method: 'POST', url, payload, remoteAddress: ip })
  // verify: six spellings, alternately on each instance, then the seventh on either is refused.
  const urls = paths.verify.flatMap((u) => [u, u.replace(/\/$/, '')])
  const statuses = []
  for (const [i, url] of urls.entries())
    statuses.push((await send(i % 2 ? b : a, url, { token: 'x' }, '203.0.113.9')).statusCode)
  t.same(new Set(statuses), new Set([401]), `six verifies across both instances are heard (${statuses})`)
  for (const h of [a, b]) {
    const res = await send(h, urls[0]!, { token: 'x' }, '203.0.113.9')
    t.equal(res.statusCode, 429, 'the seventh is refused by either instance')
    t.match(res.json(), {
      detail: /^Request was throttled\. Expected available in \d+ seconds\.$/,
      code: 'throttled',
    })
    t.ok(
      Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 60,
      'with Retry-After',
    )
  }
  // login: four attempts through four aliases, two per instance; the fifth, anywhere, waits an hour.
  for (const [i, url] of paths.login.slice(0, 4).entries()) {
    const res = await send(i % 2 ? a : b, url, { username: `nobody${i}`, password: 'x' }, '203.0.113.9')
    t.equal(res.statusCode, 401)
  }
  const over = await send(a, paths.login[4]!, { email: 'nobody@example.com', password: 'x' }, '203.0.113.9')
  t.equal(over.statusCode, 429, 'login: the fifth attempt over both instances is refused')
  t.ok(
    Number(over.headers['retry-after']) > 3000,
    `an hour's window: Retry-After ${over.headers['retry-after']}`,
  )
  t.equal(
    (await send(b, paths.verify[0]!, { token: 'x' }, '198.51.100.9')).statusCode,
    401,
    'another address is heard',
  )
}

t.test('two instances on one Redis share every counter', async (t) => {
  const { pg, redis } = await probeRealServers()
  if (pg || redis) return t.fail(`needs PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`)
  const prefix = `t:${randomBytes(6).toString('hex')}:`
  await sharedBudgets(t, await twoInstances(t, () => freshRedisStore(t, prefix)))
})

t.test('two instances on a six-node Redis Cluster share every counter', async (t) => {
  const { pg } = await probeRealServers()
  if (pg) return t.fail(`needs PostgreSQL: ${pg}`)
  const cluster = await privateCluster(t)
  const { nodes, redisOptions } = clusterConnection({
    redisUrl: undefined,
    redisSentinels: undefined,
    redisSentinelMaster: undefined,
    redisSentinelPassword: undefined,
    redisClusterNodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
  })!
  // In a subtest, so the instances and their stores close before the cluster stops.
  await t.test('on the cluster', async (t) => {
    const prefix = `rl${Date.now()}:`
    const open = async () => {
      const store = new ClusterRevocationStore(nodes, { prefix, redisOptions })
      t.teardown(() => store.close())
      await store.connect()
      return store
    }
    await sharedBudgets(t, await twoInstances(t, open))
  })
})
