import { execSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type autocannon from 'autocannon'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { loadConfig } from '../src/config.js'
import { BENCH_PASSWORD } from './argon2.js'
import {
  badBanner,
  badOf,
  benchEnv,
  type Child,
  fmtInt,
  fmtMs,
  fmtX,
  freshDatabase,
  json,
  loadAverage,
  machineInfo,
  type Measured,
  measureGroup,
  median,
  nonOk,
  REDIS_URL,
  root,
  run,
  serverArgv,
  sliceArgs,
  sliceOptions,
  startChild,
  stopChild,
  stopChildren,
  writeReport,
} from './compare.js'
import { deletePrefix, freePort } from './infra.js'
import { type LoadResult, type LoadSample, loadSample, processTree, summarizeLoad } from './load.js'
import { type Seed, seed } from './seed.js'

/**
 * `npm run bench -- --scale [--rows 1000000 --rounds 2 --seconds 4 --slices 4 --warmup 1 --no-build]`
 *
 * Does a request cost more when the tables are big? Two servers of one build, each on a database
 * of its own: "empty" (the bench's 200 users and their sessions) and "big" (the same, plus `rows`
 * users, `rows` sessions of which half are revoked, and `rows` denied tokens; the revocation
 * store is rebuilt from them when "big" starts). Each route is measured on both in interleaved
 * slices; the figure is big/empty. Then Redis bytes per revoked session and per denied token, and
 * PostgreSQL bytes per session; then `flush-expired` on `rows` expired sessions while logins run.
 * Writes bench/results/scale.md.
 */
const { values: args } = parseArgs({
  options: {
    ...sliceArgs({ rounds: '2', seconds: '4', warmup: '1', slices: '4', connections: '32' }),
    scale: { type: 'boolean', default: true },
    rows: { type: 'string', default: '1000000' },
    'login-connections': { type: 'string', default: '8' },
  },
})
const opts = {
  ...sliceOptions(args),
  rows: Number(args.rows),
  loginConnections: Number(args['login-connections']),
}
const SIGNING_KEY = 'bench-signing-key-0123456789abcdef-0123456789abcdef'
const CHUNK = 100_000

/** `rows` more users, sessions (every other one revoked) and denied tokens, in chunks, with progress. */
async function grow(url: string, rows: number): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [{ hash }] = await sql`select password_hash as hash from users order by id limit 1`
    const steps: [string, (from: number, to: number) => Promise<unknown>][] = [
      [
        'users',
        (a, b) => sql`insert into users (username, email, password_hash)
          select 'scale' || g, 'scale' || g || '@example.com', ${hash} from generate_series(${a}::int, ${b}::int) g`,
      ],
      [
        'sessions',
        (
          a,
          b,
        ) => sql`insert into sessions (user_id, refresh_jti, access_jti, client_type, expires_at, is_active, revoked_at, revoked_reason)
          select u.id, md5('r' || g), md5('a' || g), 'web', now() + interval '1 day', g % 2 = 0,
                 case when g % 2 = 1 then now() end, case when g % 2 = 1 then 'logout' end
          from generate_series(${a}::int, ${b}::int) g join users u on u.username = 'scale' || g`,
      ],
      [
        'denied tokens',
        (a, b) => sql`insert into denied_tokens (jti, expires_at)
          select md5('d' || g), now() + interval '1 day' from generate_series(${a}::int, ${b}::int) g`,
      ],
    ]
    for (const [what, step] of steps) {
      const started = performance.now()
      for (let from = 1; from <= rows; from += CHUNK) {
        await step(from, Math.min(rows, from + CHUNK - 1))
        const done = Math.min(rows, from + CHUNK - 1)
        const bar = '#'.repeat(Math.round((20 * done) / rows)).padEnd(20, '.')
        process.stdout.write(`\r  ${what.padEnd(14)} [${bar}] ${fmtInt(done)}/${fmtInt(rows)}`)
      }
      console.log(` in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    }
    await sql`analyze`
  } finally {
    await sql.end({ timeout: 2 })
  }
}

async function scalar(url: string, query: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql.unsafe(query)
    return Number(Object.values(row!)[0])
  } finally {
    await sql.end({ timeout: 2 })
  }
}

/** Mean MEMORY USAGE of up to `n` keys matching `pattern`. */
async function bytesPerKey(redis: Redis, pattern: string, n = 500): Promise<{ mean: number; keys: number }> {
  const sizes: number[] = []
  let cursor = '0'
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000)
    for (const key of found) {
      if (sizes.length >= n) break
      sizes.push(Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')))
    }
    cursor = next
  } while (cursor !== '0' && sizes.length < n)
  return { mean: sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length), keys: sizes.length }
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1])

interface Server {
  side: 'empty' | 'big'
  child: Child
  seed: Seed
  readyS: number
}

function routes(
  s: Server,
): Record<string, { label: string; connections: number; requests: () => autocannon.Request[] }> {
  const queue = s.seed.refreshChains.map((p) => p.refresh)
  return {
    live: {
      label: 'GET /health/live (A/A)',
      connections: opts.connections,
      requests: () => [{ method: 'GET', path: '/health/live' }],
    },
    verify: {
      label: 'POST /api/token/verify/',
      connections: opts.connections,
      requests: () =>
        s.seed.sessions.map((x) => ({
          method: 'POST',
          path: '/api/token/verify/',
          headers: json,
          body: JSON.stringify({ token: x.access }),
        })),
    },
    user: {
      label: 'GET /api/v1/auth/users/me/',
      connections: opts.connections,
      requests: () =>
        s.seed.sessions.map((x) => ({
          method: 'GET',
          path: '/api/v1/auth/users/me/',
          headers: { authorization: `Bearer ${x.access}` },
        })),
    },
    refresh: {
      label: 'POST /api/token/refresh/ (rotation)',
      connections: opts.connections,
      requests: () => [
        {
          method: 'POST',
          path: '/api/token/refresh/',
          headers: json,
          setupRequest: (req) => {
            const token = queue.shift()
            if (!token) throw new Error('refresh token queue ran dry')
            return { ...req, body: JSON.stringify({ refresh: token }) }
          },
          onResponse: (status, body) => {
            if (status === 200) queue.push((JSON.parse(body) as { refresh: string }).refresh)
          },
        },
      ],
    },
  }
}

async function start(side: Server['side'], url: string, prefix: string, seeded: Seed): Promise<Server> {
  const port = await freePort()
  const started = performance.now()
  const child = startChild(
    side,
    serverArgv(),
    benchEnv({ PORT: String(port), DATABASE_URL: url, REDIS_URL, REDIS_PREFIX: prefix, SIGNING_KEY }),
    port,
  )
  // The big server rebuilds its deny-list before it is ready: that time is a figure too.
  const until = Date.now() + 15 * 60_000
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${side} exited:\n${child.stderr()}`)
    const status = await fetch(`${child.base}/health/ready`).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) break
    if (Date.now() > until) throw new Error(`${side} not ready after 15 min:\n${child.stderr()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const readyS = (performance.now() - started) / 1000
  console.log(`server ${side}: ready in ${readyS.toFixed(1)} s on ${child.base}`)
  return { side, child, seed: seeded, readyS }
}

async function main() {
  const began = performance.now()
  if (!args['no-build']) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' })
  const machine = machineInfo()
  const id = randomBytes(4).toString('hex')
  const config = loadConfig({ SIGNING_KEY })
  const dbs = {
    empty: await freshDatabase(`authjwt_scale_${id}_empty`),
    big: await freshDatabase(`authjwt_scale_${id}_big`),
  }
  const prefixes = { empty: `scale:${id}:empty:`, big: `scale:${id}:big:` }
  const redis = new Redis(REDIS_URL)
  try {
    const seeds: Record<string, Seed> = {}
    for (const side of ['empty', 'big'] as const) {
      seeds[side] = await seed({
        databaseUrl: dbs[side].url,
        config,
        users: 200,
        refreshChains: opts.connections * 32,
        logoutPool: 0,
      })
    }
    console.log(`growing "big" by ${fmtInt(opts.rows)} users, sessions and denied tokens`)
    const grown = performance.now()
    await grow(dbs.big.url, opts.rows)
    const growS = (performance.now() - grown) / 1000
    const memoryBefore = await usedMemory(redis)
    const empty = await start('empty', dbs.empty.url, prefixes.empty, seeds.empty!)
    const memoryEmpty = await usedMemory(redis)
    const big = await start('big', dbs.big.url, prefixes.big, seeds.big!)
    const memoryBig = await usedMemory(redis)

    const names = ['live', 'verify', 'user', 'refresh'] as const
    const results: Record<string, { empty: Measured; big: Measured }[]> = {}
    const r = { empty: routes(empty), big: routes(big) }
    for (let round = 0; round < opts.rounds; round++) {
      console.log(`round ${round + 1}/${opts.rounds} (load ${loadAverage()})`)
      for (const name of names) {
        const [e, b] = await measureGroup(
          round,
          [
            { name: `empty ${name.padEnd(8)}`, child: empty.child, ...r.empty[name] },
            { name: `big   ${name.padEnd(8)}`, child: big.child, ...r.big[name] },
          ],
          { seconds: opts.seconds, warmup: opts.warmup, slices: opts.slices },
        )
        results[name] = [...(results[name] ?? []), { empty: e!, big: b! }]
      }
    }

    const sessions = await scalar(dbs.big.url, 'select count(*) from sessions')
    const sessionBytes = await scalar(dbs.big.url, "select pg_total_relation_size('sessions')")
    const deniedBytes = await scalar(dbs.big.url, "select pg_total_relation_size('denied_tokens')")
    const userBytes = await scalar(dbs.big.url, "select pg_total_relation_size('users')")
    const sessionKey = await bytesPerKey(redis, `${prefixes.big}s:*`)
    const tokenKey = await bytesPerKey(redis, `${prefixes.big}j:*`)

    // flush-expired on `rows` expired sessions while logins run on "big".
    console.log(`flush-expired: adding ${fmtInt(opts.rows)} expired sessions to "big"`)
    const sql = postgres(dbs.big.url, { max: 1, onnotice: () => {} })
    for (let from = 1; from <= opts.rows; from += CHUNK) {
      await sql`insert into sessions (user_id, refresh_jti, client_type, expires_at)
        select u.id, md5('x' || g), 'web', now() - interval '1 minute'
        from generate_series(${from}::int, ${Math.min(opts.rows, from + CHUNK - 1)}::int) g join users u on u.username = 'scale' || g`
    }
    await sql.end({ timeout: 2 })
    const login = (): autocannon.Request[] =>
      big.seed.usernames.map((username) => ({
        method: 'POST' as const,
        path: '/api/auth/token/',
        headers: json,
        body: JSON.stringify({ username, password: BENCH_PASSWORD }),
      }))
    const loginLoad = (seconds: number) =>
      loadSample({
        url: big.child.base,
        connections: opts.loginConnections,
        seconds,
        requests: login(),
        pids: () => processTree(big.child.process.pid!),
      })
    const before = summarizeLoad([await loginLoad(6)])
    const flushStarted = performance.now()
    const cli = spawn(process.execPath, [join(root, 'dist', 'src', 'cli.js'), 'flush-expired'], {
      cwd: root,
      env: benchEnv({ DATABASE_URL: dbs.big.url, REDIS_URL, REDIS_PREFIX: prefixes.big, SIGNING_KEY }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let cliOut = ''
    cli.stdout.on('data', (d) => {
      cliOut += d
    })
    cli.stderr.on('data', (d) => {
      cliOut += d
    })
    const exited = new Promise<number | null>((resolve) => cli.once('exit', resolve))
    let running = true
    void exited.then(() => {
      running = false
    })
    const slices: LoadSample[] = []
    while (running) slices.push(await loginLoad(2))
    const flushCode = await exited
    const flushS = (performance.now() - flushStarted) / 1000
    const during = summarizeLoad(slices)
    const after = summarizeLoad([await loginLoad(6)])
    const badLoad = (x: LoadResult) => x.errors + nonOk(x.statuses)
    await stopChild(empty.child)
    await stopChild(big.child)

    // The report.
    const ratio = (name: string, f: (m: Measured) => number) =>
      median(results[name]!.map((x) => f(x.big) / f(x.empty)))
    const bad = Object.values(results)
      .flat()
      .reduce((n, x) => n + badOf(x.empty) + badOf(x.big), 0)
    const lines = [
      '# Cost at scale (bench/scale.ts, `npm run bench -- --scale`)',
      '',
      ...badBanner(bad),
      `Machine: nproc ${machine.nproc}, ${machine.cpuModel}, node ${machine.node}, ${machine.date}; load average before ${machine.loadBefore}; PostgreSQL and Redis on the same machine.`,
      '',
      `"empty": 200 users with their sessions. "big": the same plus ${fmtInt(opts.rows)} users, ${fmtInt(opts.rows)} sessions (half revoked, none expired) and ${fmtInt(opts.rows)} denied tokens, written in ${growS.toFixed(0)} s (batched INSERT ... SELECT, ${fmtInt(CHUNK)} rows a statement). Both servers of the same build run at once; each (server, route) pair is measured for ${opts.seconds} s in ${opts.slices} slices taken in turn after a ${opts.warmup} s warm-up, ${opts.connections} connections, ${opts.rounds} rounds; ratios are medians of per-round ratios.`,
      '',
      '| route | empty req/s | big req/s | **big/empty req/s** | rounds | empty p99 ms | big p99 ms | big/empty p99 | CPU µs/req empty / big | bad |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...names.map((name) => {
        const rs = results[name]!
        const m = (side: 'empty' | 'big', f: (x: Measured) => number) => median(rs.map((x) => f(x[side])))
        return `| ${r.empty[name].label} | ${fmtInt(m('empty', (x) => x.rps))} | ${fmtInt(m('big', (x) => x.rps))} | **${fmtX(ratio(name, (x) => x.rps))}** | ${rs.map((x) => (x.big.rps / x.empty.rps).toFixed(2)).join(', ')} | ${fmtMs(m('empty', (x) => x.p99))} | ${fmtMs(m('big', (x) => x.p99))} | ${fmtX(ratio(name, (x) => x.p99))} | ${fmtInt(m('empty', (x) => x.cpuUsPerRequest))} / ${fmtInt(m('big', (x) => x.cpuUsPerRequest))} | ${rs.reduce((n, x) => n + badOf(x.empty) + badOf(x.big), 0)} |`
      }),
      '',
      'The A/A row (`/health/live`, the same code on both) is the noise band: a ratio within it is no measured difference.',
      '',
      '## Sizes',
      '',
      `- Start-up, deny-list rebuilt from PostgreSQL into Redis: "empty" ready in ${empty.readyS.toFixed(1)} s, "big" in ${big.readyS.toFixed(1)} s (${fmtInt(opts.rows / 2)} revoked sessions and ${fmtInt(opts.rows)} denied tokens written).`,
      `- Redis, per revoked session (key \`s:<sid>\`): ${sessionKey.mean.toFixed(0)} bytes (MEMORY USAGE, mean of ${sessionKey.keys} keys); per denied token (\`j:<jti>\`): ${tokenKey.mean.toFixed(0)} bytes (${tokenKey.keys} keys). used_memory grew by ${fmtInt(memoryBig - memoryEmpty)} bytes when "big" started, ${((memoryBig - memoryEmpty) / (opts.rows * 1.5)).toFixed(0)} bytes per key written (allocator and dict overhead included); "empty" added ${fmtInt(memoryEmpty - memoryBefore)}.`,
      `- PostgreSQL: sessions ${fmtInt(sessionBytes)} bytes for ${fmtInt(sessions)} rows, ${(sessionBytes / sessions).toFixed(0)} bytes per session (table, indexes, TOAST); denied_tokens ${(deniedBytes / (opts.rows + 0)).toFixed(0)} bytes per token; users ${(userBytes / (opts.rows + 200)).toFixed(0)} bytes per user.`,
      '',
      '## flush-expired under logins',
      '',
      `${fmtInt(opts.rows)} expired sessions added to "big"; \`flush-expired\` (the CLI, its own process) ran while ${opts.loginConnections} connections logged in (argon2id at the default cost). Exit ${flushCode}, ${flushS.toFixed(1)} s; it said: ${cliOut.trim().replace(/\n/g, ' ')}`,
      '',
      '| logins | req/s | p99 ms | bad |',
      '|---|---|---|---|',
      `| 6 s before | ${fmtInt(before.rps)} | ${fmtMs(before.p99)} | ${badLoad(before)} |`,
      `| during flush-expired (${slices.length} runs of 2 s) | ${fmtInt(during.rps)} | ${fmtMs(during.p99)} | ${badLoad(during)} |`,
      `| 6 s after | ${fmtInt(after.rps)} | ${fmtMs(after.p99)} | ${badLoad(after)} |`,
      '',
    ]
    writeReport('scale.md', lines.join('\n'), (performance.now() - began) / 1000, bad)
  } finally {
    await stopChildren()
    redis.disconnect()
    for (const side of ['empty', 'big'] as const) {
      await dbs[side].drop().catch(() => {})
      await deletePrefix(REDIS_URL, prefixes[side]).catch(() => {})
    }
  }
}

run(main)
