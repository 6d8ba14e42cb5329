import Fastify from 'fastify'
import t, { type Test } from 'tap'
import authjwt from '../../src/kit/fastify.js'
import { generatePrivateKey } from '../../src/keys/material.js'
import { keySlot } from '../../src/revocation/cluster-layout.js'
import { ClusterRevocationReader } from '../../src/revocation/cluster-reader.js'
import { ClusterRevocationStore } from '../../src/revocation/cluster-store.js'
import { StoreUnavailableError } from '../../src/revocation/store.js'
import { newJti } from '../../src/tokens/jti.js'
import { clusterConnection } from '../../src/revocation/redis-target.js'
import { freshPostgres, makeApp, type TestApp } from '../helpers/backends.js'
import { type PrivateCluster, privateCluster } from '../helpers/redis-cluster.js'
import { revokeThreeWays } from '../helpers/revocations.js'
import { assertFailover, login, logout, testAuth, traffic } from '../helpers/failover.js'
import { until } from '../helpers/redis-probe.js'
import { http, startServer } from '../helpers/server-process.js'
import { contract } from '../helpers/store-contract.js'

/**
 * Redis Cluster (REDIS_CLUSTER_NODES): six redis-servers of the test's own, three masters and
 * three replicas. The store keeps its contract there, revocations hold, a shard that loses its
 * data is restored alone, and a master killed under traffic costs some seconds of 503 on the
 * requests it serves, never a 200 for a revoked token, and no restart.
 */
t.setTimeout(300_000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The nodes and node options the service derives from REDIS_CLUSTER_NODES for this cluster. */
const connectionTo = (cluster: PrivateCluster) =>
  clusterConnection({
    redisUrl: undefined,
    redisSentinels: undefined,
    redisSentinelMaster: undefined,
    redisSentinelPassword: undefined,
    redisClusterNodes: cluster.ports.map((port) => ({ host: '127.0.0.1', port })),
  })!

async function openStore(t: Test, cluster: PrivateCluster, prefix: string) {
  const { nodes, redisOptions } = connectionTo(cluster)
  const store = new ClusterRevocationStore(nodes, { prefix, redisOptions })
  t.teardown(() => store.close())
  await store.connect()
  return store
}

/** The payload of a JWT, unverified: which user and jti a token names. */
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { user_id: number; jti: string }

t.test('a cluster of three masters and three replicas', async (t) => {
  const cluster = await privateCluster(t)

  t.test('the layout: slots as Redis computes them, buckets on every master', async (t) => {
    const store = await openStore(t, cluster, 'l:')
    const { layout } = store
    const fromRedis = await Promise.all(
      layout.tags.map((tag) => store.client.call('CLUSTER', 'KEYSLOT', `${tag}complete`) as Promise<number>),
    )
    t.same(layout.slots, fromRedis, 'every bucket slot agrees with CLUSTER KEYSLOT')
    t.equal(keySlot('{user1000}.following'), 3443, "Redis' own example of a hash tag")
    const masters = new Set(layout.userBuckets().map((b) => store.client.slots[layout.slots[b]!]?.[0]))
    t.equal(masters.size, 3, 'user buckets spread over the three masters')
  })

  t.test('the store contract', async (t) => {
    const store = await openStore(t, cluster, 'c:')
    await store.keepRestored(async () => {})
    const { layout } = store
    await contract(t, store, (key, userId) => {
      const bucket = key.startsWith('j:') ? layout.tokenBucket(key.slice(2)) : layout.userBucket(userId)
      return store.client.ttl(`${layout.tags[bucket]}${key}`)
    })
  })

  t.test('a shard being restored fails its own lookups only; the instance stays ready', async (t) => {
    const store = await openStore(t, cluster, `p${Date.now()}:`)
    await t.rejects(store.ping(), StoreUnavailableError, 'not ready before the first fill')
    let rebuilds = 0
    let entered!: () => void
    const restoring = new Promise<void>((resolve) => {
      entered = resolve
    })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    await store.keepRestored(async () => {
      if (rebuilds++ === 0) return
      entered()
      await gate
    })
    await t.resolves(store.ping(), 'ready once every bucket is filled')

    const { layout } = store
    const masterOf = (bucket: number) => store.client.slots[layout.slots[bucket]!]![0]!
    const lost = masterOf(layout.userBucket(1))
    // A token whose buckets both lie on another master than user 1's.
    let jti = newJti()
    while (masterOf(layout.tokenBucket(jti)) === lost) jti = newJti()
    const other = Array.from({ length: 1000 }, (_, i) => i + 2).find(
      (u) => masterOf(layout.userBucket(u)) !== lost,
    )!
    await store.client.del(layout.complete(layout.userBucket(1)))
    await t.rejects(
      store.lookup(newJti(), 1, 1),
      StoreUnavailableError,
      'the lookup that finds the mark gone: 503',
    )
    await restoring
    await t.rejects(
      store.lookup(jti, 1, 1),
      StoreUnavailableError,
      'that shard answers 503 while it is restored',
    )
    await t.resolves(store.lookup(jti, undefined, other), 'another shard answers')
    await t.resolves(store.ping(), 'the instance stays ready')
    release()
    await until('the restored shard answers', () =>
      store.lookup(jti, 1, 1).then(
        () => true,
        () => undefined,
      ),
    )
    t.equal(rebuilds, 2, 'one restore, of that shard')
  })

  t.test('the resource-server kit reads the cluster: our logout holds there', async (t) => {
    const prefix = `kit${Date.now()}:`
    const store = await openStore(t, cluster, prefix)
    const h = await makeApp(
      t,
      'real',
      {
        jwtAlgorithm: 'ES256',
        privateKey: generatePrivateKey('ES256'),
        signingKey: '',
        keyEncryptionKey: 'a-key-encryption-key-of-32-bytes-or-more',
      },
      store,
    )
    const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
    const theirs = Fastify()
    await theirs.register(authjwt, {
      jwksUrl: `${base}/.well-known/jwks.json`,
      redisUrl: 'redis://',
      redisPrefix: prefix,
      redisClusterNodes: connectionTo(cluster).nodes,
    })
    theirs.get('/orders', { config: { authjwt: true } }, async (request) => ({
      user: request.principal?.user_id,
    }))
    t.teardown(() => theirs.close())
    const orders = (access: string) =>
      theirs.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${access}` } })
    const user = await h.createUser()
    const { access, refresh } = await h.login(user.username, user.password)
    t.equal((await orders(access)).statusCode, 200, 'our token opens their route')
    const out = await h.request({
      method: 'POST',
      url: '/api/logout/',
      headers: h.bearer(access),
      payload: { refresh },
    })
    t.equal(out.statusCode, 200)
    const refused = await orders(access)
    t.equal(refused.statusCode, 401, 'refused there at the next request')
    t.equal(refused.json().code, 'token_revoked')
  })

  t.test('revocations hold; a shard that loses its data is restored alone', async (t) => {
    const store = await openStore(t, cluster, `r${Date.now()}:`)
    const h: TestApp = await makeApp(t, 'real', {}, store)
    const { revoked, live } = await revokeThreeWays(h)
    const testAuth = (access: string) =>
      h
        .request({ method: 'GET', url: '/api/test-auth/', headers: h.bearer(access) })
        .then((r) => r.statusCode)
    for (const [how, access] of Object.entries(revoked)) t.equal(await testAuth(access), 401, `${how}: 401`)
    t.equal(await testAuth(live), 200, 'a live token: 200')

    // Empty the one master that serves neither of the live token's buckets.
    const { layout } = store
    const masterOf = (bucket: number) => store.client.slots[layout.slots[bucket]!]![0]!
    const { user_id, jti } = claimsOf(live)
    const used = new Set([masterOf(layout.userBucket(user_id)), masterOf(layout.tokenBucket(jti))])
    const victim = (await cluster.masters()).map((p) => `127.0.0.1:${p}`).find((m) => !used.has(m))!
    const node = store.client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === victim)!
    await node.flushall()

    const seen = new Map<string, Set<number>>()
    const deadline = Date.now() + 15_000
    let settled = false
    while (!settled && Date.now() < deadline) {
      const answers = await Promise.all(
        [...Object.entries(revoked), ['live', live] as const].map(async ([how, access]) => {
          const status = await testAuth(access)
          seen.set(how, (seen.get(how) ?? new Set()).add(status))
          return how === 'live' ? status === 200 : status === 401
        }),
      )
      settled = answers.every(Boolean)
      await sleep(20)
    }
    t.ok(settled, 'every revoked token is refused again')
    for (const how of Object.keys(revoked)) {
      t.notOk(seen.get(how)!.has(200), `${how}: never 200 (${[...seen.get(how)!].join(', ')})`)
    }
    t.same([...seen.get('live')!], [200], 'the live token, on the other shards, never saw a 503')
    const marks = await Promise.all(
      Array.from({ length: layout.count }, (_, b) => store.client.exists(layout.complete(b))),
    )
    t.ok(
      marks.every((m) => m === 1),
      'every bucket is marked complete again',
    )
    await t.resolves(store.ping(), 'ready again')
  })
})

const ADMIN = { username: 'clusteradmin', password: 'cluster-admin-password' }

t.test('a master killed under traffic: some seconds of 503, never a revoked token, no restart', async (t) => {
  const cluster = await privateCluster(t)
  const { url } = await freshPostgres(t)
  const server = await startServer(t, {
    DATABASE_URL: url,
    ...cluster.env,
    REDIS_COMMAND_TIMEOUT_MS: '300',
    SIGNING_KEY: 'cluster-test-signing-key-0123456789abcdef',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    LOGIN_RATE_LIMIT: '4',
    LOGIN_ACCOUNT_RATE_LIMIT: '0',
  })
  const live = await login(server, ADMIN)
  const gone = await login(server, ADMIN)
  t.equal(await logout(server, gone), 200)
  t.equal(await testAuth(server, gone.access), 401, 'a logged-out session is refused before the kill')
  t.equal(await testAuth(server, live.access), 200)
  const guesses: number[] = []
  for (let i = 0; i < 5; i++) {
    const res = await http(server.base, 'POST', '/api/v1/auth/token/', {
      body: { username: 'somebody-else', password: 'a-guess' },
    })
    guesses.push(res.status)
  }
  t.same(
    guesses,
    [401, 401, 401, 401, 429],
    'the login rate-limit counters count on the cluster: 4 attempts a minute',
  )

  let unreplicatedAccess: string | undefined
  const load = traffic(server, gone.access, live.access, () => unreplicatedAccess)
  await sleep(300)
  // The master holding this user's sessions: the logged-out one is among the writes it had.
  const { user_id } = claimsOf(live.access)
  const slot = keySlot(`authjwt:{u${user_id % 256}}`)
  // A logout the master acknowledges but never passes on: its replica is paused. The promoted
  // replica lacks it, and the store must restore it from PostgreSQL before trusting that shard.
  const resume = await cluster.pauseReplicaOf(slot)
  const unreplicated = await login(server, ADMIN)
  t.equal(await logout(server, unreplicated), 200, 'a logout while the replica hears nothing')
  unreplicatedAccess = unreplicated.access
  const oldPort = await cluster.killMasterOf(slot)
  const killedAt = Date.now()
  resume()
  const newPort = await cluster.failedOver(slot, oldPort)
  t.not(newPort, oldPort, 'the cluster promoted the replica')
  await load.stopWhenServed(killedAt)
  assertFailover(t, load.answers, killedAt)

  t.equal(await testAuth(server, unreplicated.access), 401, 'the logout the new master never heard holds')
  t.ok(server.alive(), 'the same process serves: no restart')
  const later = await login(server, ADMIN)
  t.equal(await logout(server, later), 200, 'a logout after the failover')
  t.equal(await testAuth(server, later.access), 401, 'holds at once')
})

t.test("the kit's reader trusts a failed-over shard only once the service restored it", async (t) => {
  const cluster = await privateCluster(t)
  const prefix = `k${Date.now()}:`
  const store = await openStore(t, cluster, prefix)
  // What PostgreSQL holds: the rebuild writes these jtis' denials. Held back while `gate` is set.
  const denied: string[] = []
  let gate: Promise<void> | undefined
  await store.keepRestored(async (scope) => {
    await gate
    for (const jti of denied) if (scope.token(jti)) await store.denyToken(jti, 60)
  })
  const { nodes, redisOptions } = connectionTo(cluster)
  const openReader = async () => {
    const reader = new ClusterRevocationReader(nodes, { prefix, redisOptions })
    t.teardown(() => reader.close())
    await reader.connect()
    return reader
  }
  const asks = (reader: ClusterRevocationReader) => (jti: string) =>
    reader.lookup(jti, undefined, 1).then(
      (found) => (found.jtiDenied ? 'denied' : 'not denied'),
      () => '503',
    )
  const reader = await openReader()
  const read = asks(reader)

  const jti = newJti()
  const slot = store.layout.slots[store.layout.tokenBucket(jti)]!
  t.equal(await read(jti), 'not denied', 'the reader answers from a bucket the service filled')
  // A denial the master acknowledges but never passes on: its replica is paused.
  const resume = await cluster.pauseReplicaOf(slot)
  denied.push(jti)
  await store.denyToken(jti, 60)
  t.equal(await read(jti), 'denied', 'the reader sees it on the master')
  let release!: () => void
  gate = new Promise((resolve) => {
    release = resolve
  })
  const oldPort = await cluster.killMasterOf(slot)
  resume()
  const newPort = await cluster.failedOver(slot, oldPort)
  // The reader follows the new slot map, then reads the promoted replica, which lacks the denial.
  await until('the reader reaches the promoted replica', async () =>
    reader.client.slots[slot]?.[0] === `127.0.0.1:${newPort}` ? true : undefined,
  )
  // A reader started now never saw the old master: the mark alone must tell it.
  const lateRead = asks(await openReader())
  const during: string[] = []
  for (let i = 0; i < 20; i++) {
    during.push(await read(jti), await lateRead(jti))
    await sleep(25)
  }
  t.same([...new Set(during)], ['503'], 'before the service restored that shard: 503, never "not denied"')
  release()
  await until('the service restored the shard', async () =>
    (await read(jti)) === 'denied' && (await lateRead(jti)) === 'denied' ? true : undefined,
  )
  t.pass('after the restore both readers answer again, the denial included')
})
