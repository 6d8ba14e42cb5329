import postgres from 'postgres'
import t, { type Test } from 'tap'
import { assertFailover, login, logout, testAuth, type Tokens, traffic } from '../helpers/failover.js'
import { type PrimaryAndReplica, primaryAndReplica } from '../helpers/pg-replication.js'
import { privateRedis } from '../helpers/private-servers.js'
import { type ServerProcess, startServer } from '../helpers/server-process.js'

/**
 * A PostgreSQL failover under traffic: a primary and a synchronous streaming replica of the test's
 * own, the service given both hosts with target_session_attrs=read-write. The primary goes (a
 * crash, or fenced read-only), the replica is promoted: protected routes answer only 200, 401 or
 * 503 meanwhile, the same process serves again from the new primary, and every logout answered
 * before the switch still holds after it, also once Redis must be rebuilt from PostgreSQL.
 */
t.setTimeout(300_000)

const ADMIN = { username: 'pgfailover', password: 'pg-failover-password' }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function service(t: Test) {
  const pg = await primaryAndReplica(t)
  const redis = await privateRedis(t)
  const server = await startServer(t, {
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    SIGNING_KEY: 'pg-failover-signing-key-0123456789abcdef',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    LOGIN_RATE_LIMIT: '0',
    LOGIN_ACCOUNT_RATE_LIMIT: '0',
    DB_QUERY_TIMEOUT_MS: '2000',
    DB_CONNECT_TIMEOUT_MS: '2000',
  })
  return { pg, redis, server }
}

/** Logins every 50 ms until stopped: a write that needs the primary. Their statuses, and when. */
function logins(server: ServerProcess) {
  const answers: { at: number; status: number }[] = []
  let running = true
  const done = (async () => {
    while (running) {
      let status = 200
      try {
        await login(server, ADMIN)
      } catch (err) {
        status = Number(/login failed: (\d+)/.exec((err as Error).message)?.[1] ?? 0)
      }
      answers.push({ at: Date.now(), status })
      await sleep(50)
    }
  })()
  return {
    answers,
    /** Waits until a login answers 200 after `since` (30 s at most), then stops. */
    async stopWhenServed(since: number) {
      const until = Date.now() + 30_000
      while (Date.now() < until && !answers.some((a) => a.at > since && a.status === 200)) await sleep(50)
      running = false
      await done
    },
  }
}

async function failover(t: Test, switchOver: (pg: PrimaryAndReplica) => Promise<void>) {
  const { pg, redis, server } = await service(t)
  const pid = server.child.pid
  const live = await login(server, ADMIN)
  // Sessions logged out before the switch: each answered 2xx, so each must hold after it.
  const revoked: Tokens[] = []
  for (let i = 0; i < 5; i++) {
    const tokens = await login(server, ADMIN)
    t.equal(await logout(server, tokens), 200, `logout ${i + 1} before the switch`)
    revoked.push(tokens)
  }
  const load = traffic(server, revoked[0]!.access, live.access, () => revoked.at(-1)!.access)
  const writes = logins(server)
  await sleep(500)
  const switchedAt = Date.now()
  await switchOver(pg)
  const promotedAt = Date.now()
  await load.stopWhenServed(switchedAt)
  await writes.stopWhenServed(promotedAt)
  assertFailover(t, load.answers, switchedAt)
  const statuses = writes.answers.map((a) => a.status)
  t.same(
    [...new Set(statuses)].filter((s) => s !== 200 && s !== 503),
    [],
    `logins during the switch: only 200 or 503 (${statuses.length} tried)`,
  )
  t.equal(statuses.at(-1), 200, 'logins work again')
  const refused = writes.answers.filter((a) => a.at > switchedAt && a.status !== 200)
  const servedAgain = writes.answers.find((a) => a.at > promotedAt && a.status === 200)
  t.comment(
    `logins: ${refused.length} answered 503 from the switch to ${servedAgain ? servedAgain.at - switchedAt : '?'} ms ` +
      `after it; the replica was writable ${promotedAt - switchedAt} ms after it, ` +
      `logins served again ${servedAgain ? servedAgain.at - promotedAt : '?'} ms later`,
  )
  t.ok(server.alive() && server.child.pid === pid, 'the same process serves, no restart')

  // Served from the new primary: a login now is written there.
  const after = await login(server, ADMIN)
  const onReplica = postgres(pg.replicaUrl, { max: 1, onnotice: () => {} })
  t.teardown(() => onReplica.end({ timeout: 1 }))
  const [{ n }] = await onReplica`select count(*)::int as n from sessions`
  t.ok(n >= 7, `the new primary holds every session (${n})`)
  t.equal(await testAuth(server, after.access), 200, 'a token issued after the switch works')

  // Redis restarted empty: the revocations come back from PostgreSQL, the new primary.
  await redis.restartEmpty()
  const seen = new Set<number>()
  const until = Date.now() + 30_000
  for (;;) {
    const statuses = await Promise.all(revoked.map((tokens) => testAuth(server, tokens.access)))
    for (const s of statuses) seen.add(s)
    const liveStatus = await testAuth(server, live.access)
    if (statuses.every((s) => s === 401) && liveStatus === 200) break
    if (Date.now() > until) break
    await sleep(50)
  }
  t.notOk(seen.has(200), `no revoked token let through (answers: ${[...seen].join(', ')})`)
  for (const [i, tokens] of revoked.entries()) {
    t.equal(await testAuth(server, tokens.access), 401, `logout ${i + 1} still holds after the switch`)
  }
  const steady = await Promise.all(Array.from({ length: 20 }, () => testAuth(server, live.access)))
  t.same([...new Set(steady)], [200], 'once the new primary is up, nothing answers 503')
}

t.test('the primary crashes, the replica is promoted', (t) =>
  failover(t, async (pg) => {
    pg.crashPrimary()
    // The operator's (or Patroni's) detection time.
    await sleep(1000)
    await pg.promoteReplica()
  }),
)

t.test('the primary is fenced read-only, the replica is promoted', (t) =>
  failover(t, async (pg) => {
    await pg.fencePrimary()
    await sleep(1000)
    await pg.promoteReplica()
  }),
)
