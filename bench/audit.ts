import { execSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import postgres from 'postgres'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { loadConfig } from '../src/config.js'
import { openDatabase } from '../src/database/database.js'
import { createRepositories } from '../src/repositories.js'
import { BENCH_PASSWORD } from './argon2.js'
import {
  type BenchDatabase,
  badBanner,
  badOf,
  benchEnv,
  type Child,
  type Contender,
  expectStatus,
  fmtInt,
  fmtMs,
  fmtX,
  freshDatabase,
  get,
  interruptFlag,
  json,
  loadAverage,
  type Machine,
  type Measured,
  machineInfo,
  measureGroup,
  median,
  post,
  REDIS_URL,
  root,
  run,
  serverArgv,
  sliceArgs,
  sliceOptions,
  startChild,
  stopChild,
  stopChildren,
  waitReady,
  writeReport,
} from './compare.js'
import { deletePrefix, freePort } from './infra.js'
import { cpuUs, processTree } from './load.js'
import { seed } from './seed.js'

/**
 * `npm run bench:audit [-- --rounds 3 --seconds 4 --slices 4 --warmup 1 --connections 32
 *   --login-connections 8 --settle-max 20 --drain-max 60 --crash-seconds 3 --crash-kills 3
 *   --crash-flush 200,50 --no-build --no-crash --no-compare --sides on,off --routes login,refresh,user,live]`
 *
 * Part 1, the cost of the audit trail and webhooks on the hot paths. Two servers of one build
 * (`node dist/src/server.js` with the flags of `npm start`), started at once, each on a fresh
 * database of its own and a Redis prefix of its own: "on" (AUDIT_ENABLED=true and one webhook
 * endpoint for every event type, pointing to a receiver this script runs in a child process) and
 * "off" (AUDIT_ENABLED=false, no endpoint). Separate databases because the "off" server's deliverer
 * would otherwise send the "on" server's outbox, and so that each server's rows can be counted.
 * Login (real argon2id users), refresh (rotation, token queue), GET /api/user/ (Bearer) and
 * GET /health/live (identical code on both: the A/A noise band) are measured on both in interleaved
 * slices (bench/compare.ts); ratios on/off per round, medians over rounds. Before each run that
 * follows one on the "on" server, the script waits (at most --settle-max s) for that server's
 * outbox to empty, so its deferred work does not fall into the "off" server's slice; the CPU it
 * spends meanwhile is reported. At the end: audit rows and webhook deliveries against the
 * requests answered. `--sides on,audit,off` adds a diagnosis: a third server with the audit trail
 * and no endpoint. CPU figures are the server's and its PostgreSQL backends'.
 *
 * Part 2 (skipped with --no-crash), what a crash loses: a server with AUDIT_ENABLED=true on a fresh
 * database under refresh load is killed (SIGKILL, --crash-kills times; then once SIGTERM) after
 * --crash-seconds, for AUDIT_FLUSH_MS 200 (the default) and 50. The 200 answers the load generator
 * got, per session, against the `token.refreshed` rows in PostgreSQL: the difference is what was
 * lost, also as a time window at the observed rate.
 *
 * Writes bench/results/audit.md; exits 1 on any non-200 answer or error in part 1, or a loss on SIGTERM.
 *
 * `--receiver` (internal): the webhook receiver, on RECEIVER_PORT.
 */
const { values: args } = parseArgs({
  options: {
    ...sliceArgs({ rounds: '3', seconds: '4', warmup: '1', slices: '4', connections: '32' }),
    'login-connections': { type: 'string', default: '8' },
    'settle-max': { type: 'string', default: '20' },
    'drain-max': { type: 'string', default: '60' },
    'crash-seconds': { type: 'string', default: '3' },
    'crash-kills': { type: 'string', default: '3' },
    'crash-flush': { type: 'string', default: '200,50' },
    sides: { type: 'string', default: 'on,off' },
    routes: { type: 'string', default: 'login,refresh,user,live' },
    'no-crash': { type: 'boolean', default: false },
    'no-compare': { type: 'boolean', default: false },
    receiver: { type: 'boolean', default: false },
  },
})

const opts = {
  ...sliceOptions(args),
  loginConnections: Number(args['login-connections']),
  settleMaxS: Number(args['settle-max']),
  drainMaxS: Number(args['drain-max']),
  crashSeconds: Number(args['crash-seconds']),
  crashKills: Number(args['crash-kills']),
  crashFlush: args['crash-flush']!.split(',').map(Number),
}

const SIGNING_KEY = randomBytes(36).toString('base64url')
const KEY_ENCRYPTION_KEY = randomBytes(36).toString('base64url')
const ADMIN = { username: 'bench-admin', password: randomBytes(18).toString('base64url') }

// ---------------------------------------------------------------------------------------------
// The webhook receiver: answers 204 at once, counts what it got.

async function receiver(): Promise<void> {
  let requests = 0
  const ids = new Set<string>()
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, json).end(JSON.stringify({ requests, unique: ids.size }))
      return
    }
    requests++
    const id = req.headers['webhook-id']
    if (typeof id === 'string') ids.add(id)
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  })
  server.keepAliveTimeout = 60_000
  server.listen(Number(process.env.RECEIVER_PORT), '127.0.0.1')
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
}

// ---------------------------------------------------------------------------------------------
// Part 1: on against off.

/** on: audit and a webhook endpoint; audit: audit without endpoint (a diagnosis, --sides); off: neither. */
type Side = 'on' | 'audit' | 'off'
type RouteName = 'login' | 'refresh' | 'user' | 'live'
const ROUTES = args.routes!.split(',') as RouteName[]
const SIDES = args.sides!.split(',') as Side[]
if (!SIDES.includes('off') || SIDES.some((x) => !['on', 'audit', 'off'].includes(x))) {
  throw new Error('--sides: a list of on, audit and off, with off')
}
const ROUTE_LABELS: Record<RouteName, string> = {
  login: 'POST /api/v1/auth/token/ (argon2id)',
  refresh: 'POST /api/v1/auth/token/refresh/',
  user: 'GET /api/user/ (Bearer)',
  live: 'GET /health/live',
}

interface Server {
  side: Side
  child: Child
  database: BenchDatabase
  prefix: string
  /** The database, read by the bench (outbox backlog, row counts). */
  sql: postgres.Sql
  usernames: string[]
  access: string[]
  refreshQueue: string[]
  /** 200 answers per route, warm-ups and setup included (what the audit rows are compared with). */
  ok: Record<RouteName, number>
  /** Its PostgreSQL backends (their CPU is counted with the server's), read before each run. */
  pgPids: number[]
  deferred: Record<RouteName, Deferred>
}

async function refreshPgPids(s: Server): Promise<void> {
  const rows = await s.sql`select pid from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()`
  s.pgPids = rows.map((r) => r.pid as number)
}

interface Measurement extends Measured {
  round: number
  side: Side
  route: RouteName
}

function requestsFor(s: Server, route: RouteName): autocannon.Request[] {
  switch (route) {
    case 'login':
      return s.usernames.map((username) => ({
        method: 'POST',
        path: '/api/v1/auth/token/',
        headers: json,
        body: JSON.stringify({ username, password: BENCH_PASSWORD }),
      }))
    case 'refresh':
      // Each request presents a refresh token never used before; its answer puts back the next.
      return [
        {
          method: 'POST',
          path: '/api/v1/auth/token/refresh/',
          headers: json,
          setupRequest: (req) => {
            const token = s.refreshQueue.shift()
            if (!token) throw new Error('refresh token queue ran dry')
            return { ...req, body: JSON.stringify({ refresh: token }) }
          },
          onResponse: (status, body) => {
            if (status === 200) s.refreshQueue.push((JSON.parse(body) as { refresh: string }).refresh)
          },
        },
      ]
    case 'user':
      return s.access.map((token) => ({
        method: 'GET',
        path: '/api/user/',
        headers: { authorization: `Bearer ${token}` },
      }))
    case 'live':
      return [{ method: 'GET', path: '/health/live' }]
  }
}

async function backlog(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select count(*)::int as n from webhook_deliveries where status = 'pending'`
  return row!.n as number
}

/** Work the "on" server did after a run of its own, before the next run started (per route). */
interface Deferred {
  waits: number
  seconds: number
  cpuUs: number
  /** Waits that ended at --settle-max with deliveries still pending. */
  timedOut: number
  maxLeft: number
}

async function startServer(
  side: string,
  id: string,
  tmp: string,
  extra: NodeJS.ProcessEnv,
  seedOptions: { users: number; refreshChains: number },
): Promise<{
  child: Child
  database: BenchDatabase
  prefix: string
  env: NodeJS.ProcessEnv
  seeded: Awaited<ReturnType<typeof seed>>
}> {
  const database = await freshDatabase(`authjwt_bench_audit_${id}_${side}`)
  const prefix = `bench:audit:${id}:${side}:`
  const port = await freePort()
  const env = benchEnv({
    PORT: String(port),
    DATA_DIR: join(tmp, side),
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    SIGNING_KEY,
    KEY_ENCRYPTION_KEY,
    WEBHOOKS_ALLOW_PRIVATE: 'true',
    ...extra,
  })
  try {
    const config = loadConfig(env)
    const seeded = await seed({ databaseUrl: database.url, config, ...seedOptions, logoutPool: 0 })
    const child = startChild(`server ${side}`, serverArgv(), env, port)
    await waitReady(child, '/health/ready')
    return { child, database, prefix, env, seeded }
  } catch (err) {
    await database.drop()
    throw err
  }
}

async function createAdmin(databaseUrl: string, env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env)
  const database = await openDatabase({ url: databaseUrl, poolSize: 1 })
  try {
    const repos = createRepositories(database.db)
    await repos.users.create({
      username: ADMIN.username,
      email: 'bench-admin@example.com',
      passwordHash: await new PasswordHasher(config.argon2).hash(ADMIN.password),
      isStaff: true,
      isSuperuser: true,
    })
  } finally {
    await database.close()
  }
}

async function compare(id: string, tmp: string, receiverBase: string, interrupted: () => boolean) {
  const servers = new Map<Side, Server>()
  const cleanups: (() => Promise<void>)[] = []
  const measurements: Measurement[] = []
  try {
    for (const side of SIDES) {
      const s = await startServer(
        side,
        id,
        tmp,
        { AUDIT_ENABLED: side === 'off' ? 'false' : 'true' },
        // Each autocannon run drops the tokens whose answers it cut off (up to one per connection).
        { users: 200, refreshChains: Math.max(2000, opts.connections * (opts.slices + 1) * opts.rounds * 2) },
      )
      const sql = postgres(s.database.url, { max: 1, onnotice: () => {} })
      cleanups.push(async () => {
        await sql.end({ timeout: 2 })
        await stopChild(s.child)
        await s.database.drop()
        await deletePrefix(REDIS_URL, s.prefix)
      })
      const server: Server = {
        side,
        child: s.child,
        database: s.database,
        prefix: s.prefix,
        sql,
        usernames: s.seeded.usernames,
        access: s.seeded.sessions.map((p) => p.access),
        refreshQueue: s.seeded.refreshChains.map((p) => p.refresh),
        ok: { login: 0, refresh: 0, user: 0, live: 0 },
        pgPids: [],
        deferred: Object.fromEntries(
          (['login', 'refresh', 'user', 'live'] as const).map((r) => [
            r,
            { waits: 0, seconds: 0, cpuUs: 0, timedOut: 0, maxLeft: 0 },
          ]),
        ) as Record<RouteName, Deferred>,
      }
      servers.set(side, server)
      // The same checks on both sides: a login, a refresh, the protected route.
      const login = await post(s.child.base, '/api/v1/auth/token/', {
        username: 'bench0',
        password: BENCH_PASSWORD,
      })
      expectStatus(`${side} login`, login.status, 200)
      const refreshed = await post(s.child.base, '/api/v1/auth/token/refresh/', {
        refresh: login.body!.refresh,
      })
      expectStatus(`${side} refresh`, refreshed.status, 200)
      const me = await get(s.child.base, '/api/user/', `Bearer ${server.access[0]}`)
      expectStatus(`${side} /api/user/`, me.status, 200)
      server.ok.login++
      server.ok.refresh++
      if (side === 'on') {
        await createAdmin(s.database.url, s.env)
        const admin = await post(s.child.base, '/api/v1/auth/token/', ADMIN)
        expectStatus('admin login', admin.status, 200)
        server.ok.login++
        const endpoint = await post(
          s.child.base,
          '/api/v1/auth/admin/webhooks/',
          { url: `${receiverBase}/hook`, event_types: [], description: 'bench/audit.ts' },
          `Bearer ${admin.body!.access}`,
        )
        expectStatus('register the webhook endpoint', endpoint.status, 201)
        console.log(
          `server on: webhook endpoint ${endpoint.body!.id} -> ${receiverBase}/hook (every event type)`,
        )
      }
      console.log(
        `server ${side}: pid ${s.child.process.pid} on ${s.child.base}, database ${s.database.name}`,
      )
    }
    const sides = SIDES.map((side) => servers.get(side)!)
    // The setup's events written and delivered before measuring.
    for (const x of sides) if (x.side !== 'off') await settle(x, 30, undefined)

    const perRound = ROUTES.length * sides.length * (1 + opts.slices)
    console.log(
      `measuring: ${opts.rounds} rounds, about ${Math.round((opts.rounds * ROUTES.length * sides.length * (opts.warmup + opts.seconds)) / 60)} min plus waits for the outbox (${perRound} runs a round)`,
    )
    for (let round = 0; round < opts.rounds; round++) {
      console.log(`round ${round + 1}/${opts.rounds} (load ${loadAverage()})`)
      for (const route of ROUTES) {
        const contenders: Contender[] = sides.map((s) => ({
          name: `${s.side.padEnd(5)} ${ROUTE_LABELS[route].padEnd(36)}`,
          child: s.child,
          requests: () => requestsFor(s, route),
          connections: route === 'login' ? opts.loginConnections : opts.connections,
          pids: () => [...processTree(s.child.process.pid!), ...s.pgPids],
        }))
        // A server that records events finishes its work (batch, outbox) before another is loaded.
        let last: Server | undefined
        const finish = async () => {
          if (last && last.side !== 'off' && opts.settleMaxS > 0) {
            await settle(last, opts.settleMaxS, last.deferred[route])
          }
        }
        const measured = await measureGroup(round, contenders, {
          ...opts,
          interrupted,
          before: async (j) => {
            await finish()
            last = sides[j]!
            await refreshPgPids(last)
          },
        })
        await finish()
        measured.forEach((m, j) => {
          const s = sides[j]!
          s.ok[route] += (m.statuses['200'] ?? 0) + (m.warmupStatuses['200'] ?? 0)
          measurements.push({ ...m, round, side: s.side, route })
        })
      }
    }

    // The end: everything the "on" server queued, delivered?
    const on = servers.get('on') ?? servers.get('audit') ?? servers.get('off')!
    const atEnd = await backlog(on.sql)
    const drainStart = Date.now()
    const cpuBefore = cpuUs(on.child.process.pid!)
    let left = atEnd
    while (left > 0 && Date.now() - drainStart < opts.drainMaxS * 1000) {
      await new Promise((r) => setTimeout(r, 250))
      left = await backlog(on.sql)
    }
    const drain = {
      atEnd,
      left,
      seconds: (Date.now() - drainStart) / 1000,
      cpuUs: cpuUs(on.child.process.pid!) - cpuBefore,
    }
    const counts = await countRows(on, servers.get('off')!, receiverBase)
    return {
      measurements,
      drain,
      counts,
      sides: sides.map((x) => ({ side: x.side, ok: x.ok, deferred: x.deferred })),
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err) => console.error(err))
  }
}

/**
 * Waits until the "on" server's audit batch has been written (a flush interval and a bit) and its
 * outbox holds nothing pending, at most `maxS`; the server's CPU meanwhile goes to `into`.
 */
async function settle(s: Server, maxS: number, into: Deferred | undefined): Promise<void> {
  const start = Date.now()
  const pids = [...processTree(s.child.process.pid!), ...s.pgPids]
  const cpuBefore = pids.reduce((n, p) => n + cpuUs(p), 0)
  await new Promise((r) => setTimeout(r, 300))
  let left = await backlog(s.sql)
  while (left > 0 && Date.now() - start < maxS * 1000) {
    await new Promise((r) => setTimeout(r, 100))
    left = await backlog(s.sql)
  }
  if (!into) return
  into.waits++
  into.seconds += (Date.now() - start) / 1000
  into.cpuUs += pids.reduce((n, p) => n + cpuUs(p), 0) - cpuBefore
  if (left > 0) into.timedOut++
  into.maxLeft = Math.max(into.maxLeft, left)
}

async function countRows(on: Server, off: Server, receiverBase: string) {
  const byType = async (sql: postgres.Sql) =>
    Object.fromEntries(
      (await sql`select type, count(*)::int as n from audit_events group by type order by type`).map((r) => [
        r.type as string,
        r.n as number,
      ]),
    ) as Record<string, number>
  const deliveries = Object.fromEntries(
    (await on.sql`select status, count(*)::int as n from webhook_deliveries group by status`).map((r) => [
      r.status as string,
      r.n as number,
    ]),
  ) as Record<string, number>
  const [attempts] = await on.sql`select count(*)::int as n from webhook_attempts`
  const [size] = await on.sql`select pg_total_relation_size('audit_events')::bigint as audit,
    pg_total_relation_size('webhook_deliveries')::bigint as deliveries,
    pg_total_relation_size('webhook_attempts')::bigint as attempts`
  const received = (await (await fetch(`${receiverBase}/count`)).json()) as {
    requests: number
    unique: number
  }
  return {
    on: await byType(on.sql),
    off: await byType(off.sql),
    deliveries,
    attempts: attempts!.n as number,
    received,
    bytes: {
      audit: Number(size!.audit),
      deliveries: Number(size!.deliveries),
      attempts: Number(size!.attempts),
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Part 2: what a crash loses.

interface CrashTrial {
  flushMs: number
  signal: 'SIGKILL' | 'SIGTERM'
  trial: number
  /** 200 answers the load generator got. */
  answered: number
  loadSeconds: number
  rows: number
  /** Answered refreshes without their row: Σ over sessions of max(0, answers − rows). */
  lost: number
  /** Rows of refreshes whose answer never arrived (cut off by the kill). */
  unanswered: number
  /** The kill's time minus the newest surviving row's time. */
  newestRowMs: number
  exit: string
}

function sidOf(token: string): number {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sid: number }).sid
}

async function crashTrial(
  id: string,
  tmp: string,
  flushMs: number,
  signal: 'SIGKILL' | 'SIGTERM',
  trial: number,
): Promise<CrashTrial> {
  const tag = `crash${flushMs}${signal === 'SIGKILL' ? 'k' : 't'}${trial}`
  const s = await startServer(
    tag,
    id,
    tmp,
    { AUDIT_ENABLED: 'true', AUDIT_FLUSH_MS: String(flushMs) },
    { users: 32, refreshChains: opts.connections * 8 },
  )
  const sql = postgres(s.database.url, { max: 1, onnotice: () => {} })
  try {
    const queue = s.seeded.refreshChains.map((p) => p.refresh)
    const answered = new Map<number, number>()
    let total = 0
    const instance = autocannon({
      url: s.child.base,
      connections: opts.connections,
      duration: opts.crashSeconds + 30,
      timeout: 5,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/auth/token/refresh/',
          headers: json,
          setupRequest: (req, context) => {
            // After the kill the generator keeps trying: an empty body then, never a token lost.
            const token = queue.shift()
            ;(context as { sid?: number }).sid = token ? sidOf(token) : undefined
            return { ...req, body: JSON.stringify({ refresh: token ?? '' }) }
          },
          onResponse: (status, body, context) => {
            if (status !== 200) return
            const sid = (context as { sid?: number }).sid!
            answered.set(sid, (answered.get(sid) ?? 0) + 1)
            total++
            queue.push((JSON.parse(body) as { refresh: string }).refresh)
          },
        },
      ],
    }) as unknown as Promise<autocannon.Result> & autocannon.Instance
    const started = Date.now()
    await new Promise((r) => setTimeout(r, opts.crashSeconds * 1000))
    const exited = new Promise<string>((r) =>
      s.child.process.once('exit', (code, sig) => r(sig ? `signal ${sig}` : `exit ${code}`)),
    )
    const killedAt = Date.now()
    const answeredAtSignal = total
    s.child.process.kill(signal)
    const exit = await exited
    instance.stop()
    await instance
    const loadSeconds = (killedAt - started) / 1000
    const rows = await sql`select session_id, count(*)::int as n from audit_events
      where type = 'token.refreshed' group by session_id`
    const rowsBySid = new Map(rows.map((r) => [r.session_id as number, r.n as number]))
    let lost = 0
    let unanswered = 0
    for (const sid of new Set([...answered.keys(), ...rowsBySid.keys()])) {
      const diff = (answered.get(sid) ?? 0) - (rowsBySid.get(sid) ?? 0)
      if (diff > 0) lost += diff
      else unanswered -= diff
    }
    const [newest] = await sql`select max(at) as at from audit_events where type = 'token.refreshed'`
    const newestAt = newest?.at ? new Date(newest.at as Date).getTime() : started
    const t: CrashTrial = {
      flushMs,
      signal,
      trial,
      answered: total,
      loadSeconds,
      rows: rows.reduce((n, r) => n + (r.n as number), 0),
      lost,
      unanswered,
      newestRowMs: killedAt - newestAt,
      exit,
    }
    console.log(
      `  AUDIT_FLUSH_MS=${flushMs} ${signal} #${trial}: ${t.answered} answered (${answeredAtSignal} by the signal), ` +
        `${t.rows} rows, lost ${t.lost} (${((t.lost / (t.answered / loadSeconds)) * 1000).toFixed(0)} ms at ` +
        `${Math.round(t.answered / loadSeconds)}/s), newest row ${t.newestRowMs} ms before the signal, ${exit}`,
    )
    return t
  } finally {
    await sql.end({ timeout: 2 })
    await stopChild(s.child)
    await s.database.drop()
    await deletePrefix(REDIS_URL, s.prefix)
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

type CompareResult = Awaited<ReturnType<typeof compare>>

function render(
  machine: Machine,
  loadAfter: string,
  runtimeS: number,
  c: CompareResult | undefined,
  crashes: CrashTrial[],
): string {
  const lines: string[] = ['# Audit trail and webhooks on the hot paths (bench/audit.ts)', '']
  const totalBad = c ? c.measurements.reduce((n, m) => n + badOf(m), 0) : 0
  lines.push(...badBanner(totalBad))
  lines.push(
    `Machine: nproc ${machine.nproc}, ${machine.cpuModel}, node ${machine.node}, ${machine.date}; ` +
      `load average before the run ${machine.loadBefore}, after ${loadAfter}; total runtime ${Math.round(runtimeS)} s.`,
    '',
  )
  if (c) {
    const find = (round: number, side: Side, route: RouteName) =>
      c.measurements.find((m) => m.round === round && m.side === side && m.route === route)
    const rounds = [...new Set(c.measurements.map((m) => m.round))]
    const routes = ROUTES.filter((route) => c.measurements.some((m) => m.route === route))
    const compared = c.sides.map((x) => x.side).filter((x) => x !== 'off')
    const ratios = (side: Side, route: RouteName) =>
      rounds.flatMap((r) => {
        const a = find(r, side, route)
        const b = find(r, 'off', route)
        return a && b ? [{ rps: a.rps / b.rps, p99: a.p99 / b.p99 }] : []
      })
    const of = (side: Side, route: RouteName) =>
      c.measurements.filter((m) => m.side === side && m.route === route)
    const roundsDone = rounds.length
    lines.push(
      '## With audit and a webhook endpoint ("on") against without ("off"), same build, same run',
      '',
      `"on": AUDIT_ENABLED=true (AUDIT_FLUSH_MS default, 200) and one webhook endpoint for every event type, pointing to a ` +
        `receiver in a child process of the bench (node:http, 204 at once; WEBHOOKS_ALLOW_PRIVATE=true); ` +
        (compared.includes('audit') ? '"audit" (a diagnosis): AUDIT_ENABLED=true, no endpoint; ' : '') +
        `"off": AUDIT_ENABLED=false, no endpoint. ` +
        `Each server on a fresh database of its own (the "off" server's deliverer would otherwise send the "on" server's ` +
        `outbox, and each side's rows are counted), all in the same PostgreSQL, and a Redis prefix of its own; all started ` +
        `before the first measurement, idle while another is measured. ${roundsDone} rounds; in each, every (server, route) ` +
        `pair measured for ${opts.seconds} s after a ${opts.warmup} s warm-up, in ${opts.slices} slices taken in turn with ` +
        `the other server(s); ${opts.connections} connections (${opts.loginConnections} for login: 200 users with a real ` +
        `argon2id hash at the default cost). Ratios are medians over the rounds of the ratio within each round; req/s, p99 ` +
        'and CPU are medians over the rounds. CPU is the server process\u2019s and its PostgreSQL backends\u2019 ' +
        '(not the load generator\u2019s, Redis\u2019s or the webhook receiver\u2019s), per request answered.',
      '',
      '| route | side | off req/s | side req/s | **side/off req/s** | rounds | off p99 ms | side p99 ms | side/off p99 | rounds | CPU µs/req off / side | bad |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    )
    for (const route of routes) {
      for (const side of compared) {
        const r = ratios(side, route)
        const m = (x: Side, f: (x: Measurement) => number) => median(of(x, route).map(f))
        lines.push(
          `| ${ROUTE_LABELS[route]} | ${side} | ${fmtInt(m('off', (x) => x.rps))} | ${fmtInt(m(side, (x) => x.rps))} | ` +
            `**${fmtX(median(r.map((x) => x.rps)))}** | ${r.map((x) => x.rps.toFixed(2)).join(', ')} | ` +
            `${fmtMs(m('off', (x) => x.p99))} | ${fmtMs(m(side, (x) => x.p99))} | ${fmtX(median(r.map((x) => x.p99)))} | ` +
            `${r.map((x) => x.p99.toFixed(2)).join(', ')} | ` +
            `${fmtInt(m('off', (x) => x.cpuUsPerRequest))} / ${fmtInt(m(side, (x) => x.cpuUsPerRequest))} | ` +
            `${[...of(side, route), ...of('off', route)].reduce((n, x) => n + badOf(x), 0)} |`,
        )
      }
    }
    if (routes.includes('live')) {
      const aa = compared.flatMap((side) => ratios(side, 'live'))
      lines.push(
        '',
        `Noise band: GET /health/live runs the same code on every server (A/A): per-round ratios to "off" ` +
          `${Math.min(...aa.map((x) => x.rps)).toFixed(2)}-${Math.max(...aa.map((x) => x.rps)).toFixed(2)}x for req/s, ` +
          `${Math.min(...aa.map((x) => x.p99)).toFixed(2)}-${Math.max(...aa.map((x) => x.p99)).toFixed(2)}x for p99. ` +
          'A ratio inside that band is no measured difference.',
      )
    }
    if (compared.includes('on')) {
      const aim = (route: RouteName, floor: number) => {
        if (!routes.includes(route)) return `${ROUTE_LABELS[route]}: not measured`
        const x = median(ratios('on', route).map((r) => r.rps))
        return `${ROUTE_LABELS[route]} ${fmtX(x)} against >= ${fmtX(floor)}: ${x >= floor ? 'met' : '**missed**'}`
      }
      lines.push('', `Aims (issue 16), "on" against "off": ${aim('user', 0.95)}; ${aim('refresh', 0.9)}.`)
    }
    lines.push(
      '',
      '### Work done after the runs',
      '',
      `Before each run that follows one on a server that records events, the bench waited (at most ${opts.settleMaxS} s) ` +
        "until that server's last audit batch was written (300 ms) and its outbox held nothing pending, so that this work " +
        'does not fall into the next server\u2019s slice. It is not in the figures above; here is what it cost (CPU of the ' +
        'server process and its PostgreSQL backends while waiting).',
      '',
      '| side | after runs of | waits | seconds waited | CPU ms while waiting | per request answered (µs) | waits cut at the limit | most pending left |',
      '|---|---|---|---|---|---|---|---|',
    )
    for (const x of c.sides.filter((x) => x.side !== 'off')) {
      for (const route of routes) {
        const d = x.deferred[route]
        lines.push(
          `| ${x.side} | ${ROUTE_LABELS[route]} | ${d.waits} | ${d.seconds.toFixed(1)} | ${fmtInt(d.cpuUs / 1000)} | ` +
            `${(d.cpuUs / Math.max(1, x.ok[route])).toFixed(0)} | ${d.timedOut} | ${d.maxLeft} |`,
        )
      }
    }
    const k = c.counts
    const first = c.sides.find((x) => x.side === 'on') ?? c.sides.find((x) => x.side === 'audit')
    if (first) {
      const ok = first.ok
      const rowsOn = Object.values(k.on).reduce((a, b) => a + b, 0)
      const rowsOff = Object.values(k.off).reduce((a, b) => a + b, 0)
      const delivered = k.deliveries.delivered ?? 0
      const allDeliveries = Object.values(k.deliveries).reduce((a, b) => a + b, 0)
      lines.push(
        '',
        `### What the "${first.side}" server wrote`,
        '',
        '| what | requests answered 200 (warm-ups and setup included) | audit rows |',
        '|---|---|---|',
        `| logins | ${fmtInt(ok.login)} | ${fmtInt(k.on['login.succeeded'] ?? 0)} login.succeeded, ${fmtInt(k.on['login.failed'] ?? 0)} login.failed |`,
        `| refreshes | ${fmtInt(ok.refresh)} | ${fmtInt(k.on['token.refreshed'] ?? 0)} token.refreshed |`,
        `| GET /api/user/ | ${fmtInt(ok.user)} | (none expected) |`,
        `| every type | | ${fmtInt(rowsOn)}: ${Object.entries(k.on)
          .map(([t, n]) => `${t} ${fmtInt(n)}`)
          .join(', ')} |`,
        '',
        `Rows may exceed answers by up to one per connection per autocannon run: requests cut off at the end of a run are ` +
          `done by the server (and recorded) but their answers are not counted. The "off" server wrote ${rowsOff} audit rows.`,
        '',
      )
      if (first.side === 'on') {
        lines.push(
          `Webhook deliveries (one per audit row written after the endpoint was registered): ${fmtInt(allDeliveries)} in the ` +
            `outbox, ${Object.entries(k.deliveries)
              .map(([st, n]) => `${st} ${fmtInt(n)}`)
              .join(
                ', ',
              )}; ${fmtInt(k.attempts)} attempts recorded; the receiver got ${fmtInt(k.received.requests)} requests ` +
            `(${fmtInt(k.received.unique)} distinct webhook-id). Pending when the last measurement (and its wait) ended: ` +
            `${fmtInt(c.drain.atEnd)}; ` +
            `${c.drain.left === 0 ? `none pending ${c.drain.seconds.toFixed(1)} s later` : `${fmtInt(c.drain.left)} still pending after ${c.drain.seconds.toFixed(1)} s`}. ` +
            `Delivered: ${fmtInt(delivered)} of ${fmtInt(rowsOn)} audit rows. Table sizes (indexes included): audit_events ` +
            `${(k.bytes.audit / 2 ** 20).toFixed(1)} MiB, webhook_deliveries ${(k.bytes.deliveries / 2 ** 20).toFixed(1)} MiB, ` +
            `webhook_attempts ${(k.bytes.attempts / 2 ** 20).toFixed(1)} MiB.`,
          '',
        )
      }
    }
  }
  if (crashes.length > 0) {
    lines.push(
      '## What a crash loses',
      '',
      `A server with AUDIT_ENABLED=true (no webhook endpoint) on a fresh database, under refresh load (${opts.connections} ` +
        `connections, rotation), is sent the signal ${opts.crashSeconds} s into the load. "answered": 200 answers the load ` +
        'generator got; "rows": `token.refreshed` rows in PostgreSQL afterwards; "lost": answered refreshes without a row ' +
        '(per session, Σ max(0, answers − rows)); "unanswered": rows of refreshes whose answer did not arrive; ' +
        '"window": lost / the rate observed before the signal; "newest row": how long before the signal the newest ' +
        'surviving row was recorded.',
      '',
      '| AUDIT_FLUSH_MS | signal | # | answered | answered/s | rows | **lost** | window ms | unanswered | newest row, ms before the signal (negative: after) | exit |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    )
    for (const t of crashes) {
      const rate = t.answered / t.loadSeconds
      lines.push(
        `| ${t.flushMs} | ${t.signal} | ${t.trial} | ${fmtInt(t.answered)} | ${fmtInt(rate)} | ${fmtInt(t.rows)} | ` +
          `**${fmtInt(t.lost)}** | ${((t.lost / rate) * 1000).toFixed(0)} | ${t.unanswered} | ${t.newestRowMs} | ${t.exit} |`,
      )
    }
    lines.push('')
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now()
  const interrupted = interruptFlag()
  if (!args['no-build']) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' })
  const machine = machineInfo()
  console.log(`load average before: ${machine.loadBefore}`)
  const id = randomBytes(4).toString('hex')
  const tmp = mkdtempSync(join(os.tmpdir(), 'authjwt-bench-audit-'))
  let result: CompareResult | undefined
  const crashes: CrashTrial[] = []
  try {
    if (!args['no-compare']) {
      const port = await freePort()
      const rcv = startChild(
        'webhook receiver',
        [...process.execArgv, fileURLToPath(import.meta.url), '--receiver'],
        { ...process.env, RECEIVER_PORT: String(port) },
        port,
      )
      await waitReady(rcv, '/count')
      result = await compare(id, tmp, rcv.base, interrupted)
      await stopChild(rcv)
    }
    if (!args['no-crash']) {
      console.log(`crash loss (load ${loadAverage()})`)
      for (const flushMs of opts.crashFlush) {
        for (let i = 1; i <= opts.crashKills; i++) {
          if (interrupted()) throw new Error('interrupted')
          crashes.push(await crashTrial(id, tmp, flushMs, 'SIGKILL', i))
        }
        crashes.push(await crashTrial(id, tmp, flushMs, 'SIGTERM', 1))
      }
    }
  } finally {
    await stopChildren()
    rmSync(tmp, { recursive: true, force: true })
  }
  const runtimeS = (Date.now() - started) / 1000
  const md = render(machine, loadAverage(), runtimeS, result, crashes)
  writeReport('audit.md', md, runtimeS, result ? result.measurements.reduce((n, m) => n + badOf(m), 0) : 0)
  const lostOnTerm = crashes.filter((t) => t.signal === 'SIGTERM').reduce((n, t) => n + t.lost, 0)
  if (lostOnTerm > 0) {
    console.error(`\n!!! ${lostOnTerm} audit events lost on a clean shutdown (SIGTERM) !!!\n`)
    process.exitCode = 1
  }
}

run(args.receiver ? receiver : main)
