import { type ChildProcess, execFileSync, execSync, spawn } from 'node:child_process'
import { deletePrefix, freePort } from './infra.js'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type autocannon from 'autocannon'
import Fastify from 'fastify'
import postgres from 'postgres'
import type { KeyPairAlgorithm } from '../src/config.js'
import { Keyring } from '../src/keys/keyring.js'
import { generatePrivateKey } from '../src/keys/material.js'
import type { Claims } from '../src/tokens/claims.js'
import { type LoadResult, type LoadSample, loadSample, processTree, summarizeLoad } from './load.js'

/**
 * `npx tsx bench/keys.ts [-- --rounds 3 --seconds 5 --slices 5 --warmup 1.5 --connections 32 --logins 20 --no-build]`
 *
 * In one run: four servers (`node dist/src/server.js`, the node flags of `npm start`) on one fresh
 * database and one Redis prefix, signing with HS256, RS256, ES256 and EdDSA, all started before the
 * first measurement and idle while another is measured; and a second Fastify app in a child process
 * of its own with the resource-server kit (src/kit/fastify.ts, compiled) pointed at the ES256
 * server's JWKS and the same Redis prefix. Per round, every (server, route) pair is measured once:
 * the pairs compared with each other (one route on the four servers; the kit's two routes) are each
 * warmed up, then measured in turn in `slices` slices that add up to `seconds`. Each figure is the
 * median over the rounds of the ratio taken within a round (to HS256 for the algorithms, to the same
 * app's bare route for the kit). Writes bench/results/keys.md; exits 1 on any non-200 or error.
 *
 * `--kit-app` (internal): runs the kit's app, configured by KIT_* variables.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1.5' },
    slices: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    logins: { type: 'string', default: '20' },
    'no-build': { type: 'boolean', default: false },
    'kit-app': { type: 'boolean', default: false },
  },
})

const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const
type Algorithm = (typeof ALGORITHMS)[number]
/** The server whose JWKS the kit reads. */
const KIT_ALGORITHM: KeyPairAlgorithm = 'ES256'

const opts = {
  rounds: Number(args.rounds),
  seconds: Number(args.seconds),
  warmup: Number(args.warmup),
  slices: Number(args.slices),
  connections: Number(args.connections),
  logins: Number(args.logins),
}

// ---------------------------------------------------------------------------------------------
// The resource server: a second app with the kit, in a process of its own.

async function kitApp(): Promise<void> {
  const env = process.env
  // The compiled kit, as a service installing the package would run it.
  const kitModule = pathToFileURL(join(root, 'dist', 'src', 'kit', 'fastify.js')).href
  const { default: authjwt } = (await import(kitModule)) as typeof import('../src/kit/fastify.js')
  const app = Fastify({ logger: false })
  await app.register(authjwt, {
    jwksUrl: env.KIT_JWKS_URL!,
    redisUrl: env.KIT_REDIS_URL!,
    redisPrefix: env.KIT_REDIS_PREFIX!,
  })
  app.get('/bare', async () => ({ ok: true, orders: [] }))
  app.get('/orders', { config: { authjwt: true } }, async (request) => ({
    ok: true,
    user: request.principal?.user_id,
    orders: [],
  }))
  await app.listen({ port: Number(env.KIT_PORT), host: '127.0.0.1' })
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}

// ---------------------------------------------------------------------------------------------
// Processes, ports, readiness.

interface Child {
  name: string
  process: ChildProcess
  base: string
  stderr: () => string
}

const children: Child[] = []

function startChild(name: string, argv: string[], env: NodeJS.ProcessEnv, port: number): Child {
  const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000)
  })
  const c = { name, process: child, base: `http://127.0.0.1:${port}`, stderr: () => stderr }
  children.push(c)
  return c
}

async function waitReady(c: Child, path: string): Promise<void> {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    if (c.process.exitCode !== null) {
      throw new Error(`${c.name} exited (${c.process.exitCode}):\n${c.stderr()}`)
    }
    try {
      const res = await fetch(`${c.base}${path}`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${c.name} not ready after 60 s:\n${c.stderr()}`)
}

async function stopChildren(): Promise<void> {
  const stopping = children.splice(0)
  await Promise.all(
    stopping.map(async (c) => {
      if (c.process.exitCode === null && c.process.signalCode === null) {
        const exited = new Promise((r) => c.process.once('exit', r))
        c.process.kill('SIGTERM')
        const timer = setTimeout(() => c.process.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      const err = c.stderr().trim()
      if (err) console.log(`${c.name} stderr:\n${err.slice(-3000)}`)
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Requests and checks.

const json = { 'content-type': 'application/json' }

async function post(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null }
}

async function get(base: string, path: string, authorization?: string) {
  const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} })
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null }
}

function expectStatus(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`)
}

type RouteName = 'verify' | 'user' | 'live' | 'kit-bare' | 'kit-orders'

const ROUTE_LABELS: Record<RouteName, string> = {
  verify: 'POST /api/token/verify/',
  user: 'GET /api/user/ (Bearer)',
  live: 'GET /health/live',
  'kit-bare': 'GET /bare (kit app, no auth)',
  'kit-orders': 'GET /orders (kit app, config.authjwt)',
}

function requestsFor(route: RouteName, tokens: string[]): autocannon.Request[] {
  switch (route) {
    case 'verify':
      return tokens.map((token) => ({
        method: 'POST',
        path: '/api/token/verify/',
        headers: json,
        body: JSON.stringify({ token }),
      }))
    case 'user':
      return tokens.map((token) => ({
        method: 'GET',
        path: '/api/user/',
        headers: { authorization: `Bearer ${token}` },
      }))
    case 'kit-orders':
      return tokens.map((token) => ({
        method: 'GET',
        path: '/orders',
        headers: { authorization: `Bearer ${token}` },
      }))
    case 'live':
      return [{ method: 'GET', path: '/health/live' }]
    case 'kit-bare':
      return [{ method: 'GET', path: '/bare' }]
  }
}

interface Measurement extends LoadResult {
  round: number
  target: Algorithm | 'kit'
  route: RouteName
  /** Responses other than 200 and errors during the warm-up (not part of the figures, still a failure). */
  warmupBad: number
}

/** Any status but 200, in the measured run or its warm-up, and connection errors or timeouts. */
function badOf(m: Measurement): number {
  const non200 = Object.entries(m.statuses).reduce(
    (n, [status, count]) => n + (status === '200' ? 0 : count),
    0,
  )
  return non200 + m.errors + m.warmupBad
}

let interrupted = false

interface Pair {
  target: Algorithm | 'kit'
  route: RouteName
  child: Child
  tokens: string[]
}

const nonOk = (statuses: Record<string, number>) =>
  Object.entries(statuses).reduce((n, [status, count]) => n + (status === '200' ? 0 : count), 0)

/**
 * One round of a group of pairs compared with each other (one route on every server, or the kit's
 * two routes): a warm-up of each, then each pair's measurement time cut into slices, taken in turn
 * (the first pair of each turn rotating), so that the machine's drift falls on all of them alike.
 */
async function measureGroup(round: number, pairs: Pair[]): Promise<Measurement[]> {
  const defs = pairs.map((p) => ({
    url: p.child.base,
    connections: opts.connections,
    requests: requestsFor(p.route, p.tokens),
    pids: () => processTree(p.child.process.pid!),
  }))
  const warmupBad: number[] = []
  for (const def of defs) {
    if (interrupted) throw new Error('interrupted')
    const warm = await loadSample({ ...def, seconds: opts.warmup })
    warmupBad.push(nonOk(warm.statuses) + warm.errors)
  }
  const samples: LoadSample[][] = pairs.map(() => [])
  for (let slice = 0; slice < opts.slices; slice++) {
    for (let k = 0; k < pairs.length; k++) {
      if (interrupted) throw new Error('interrupted')
      const j = (k + slice + round) % pairs.length
      samples[j]!.push(await loadSample({ ...defs[j]!, seconds: opts.seconds / opts.slices }))
    }
  }
  return pairs.map((p, j) => {
    const r = summarizeLoad(samples[j]!)
    const m: Measurement = { ...r, round, target: p.target, route: p.route, warmupBad: warmupBad[j]! }
    const bad = badOf(m)
    console.log(
      `  ${p.target.padEnd(5)} ${ROUTE_LABELS[p.route].padEnd(38)} ${Math.round(r.rps).toString().padStart(6)} req/s` +
        `  p99 ${r.p99.toFixed(2).padStart(6)} ms  ${Math.round(r.cpuUsPerRequest).toString().padStart(4)} µs CPU/req` +
        (bad
          ? `  !!! ${bad} BAD: statuses ${JSON.stringify(r.statuses)}, errors ${r.errors}, warm-up ${warmupBad[j]}`
          : ''),
    )
    return m
  })
}

// ---------------------------------------------------------------------------------------------
// In-process cost of one signature and one verification (what a fast-jwt cache miss costs).

interface CryptoCost {
  alg: Algorithm
  signUs: number
  verifyUncachedUs: number
  verifyCachedUs: number
  tokenBytes: number
}

function timeOp(op: () => unknown, ms = 400): number {
  for (let i = 0; i < 20; i++) op()
  let n = 0
  const start = process.hrtime.bigint()
  const until = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < until) {
    for (let i = 0; i < 10; i++) op()
    n += 10
    now = process.hrtime.bigint()
  }
  return Number(now - start) / 1000 / n
}

function cryptoCost(alg: Algorithm, secret: { signingKey: string; privateKey?: string }, sample: string) {
  const keyring = new Keyring({ algorithm: alg, lifetimeSeconds: 86400, ...secret })
  const payload = JSON.parse(Buffer.from(sample.split('.')[1]!, 'base64url').toString('utf8')) as Claims
  const token = keyring.sign(payload)
  keyring.verifyUncached(token)
  return {
    alg,
    signUs: timeOp(() => keyring.sign(payload)),
    verifyUncachedUs: timeOp(() => keyring.verifyUncached(token)),
    verifyCachedUs: timeOp(() => keyring.verify(token)),
    tokenBytes: token.length,
  }
}

// ---------------------------------------------------------------------------------------------
// Summary.

const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
const fmtInt = (x: number) => Math.round(x).toLocaleString('en-US')
const fmtX = (x: number) => `${x.toFixed(2)}x`
const fmtMs = (x: number) => x.toFixed(2)

interface Machine {
  nproc: string
  cpuModel: string
  node: string
  date: string
  loadBefore: string
}

function machineInfo(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  return {
    nproc: execSync('nproc').toString().trim(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    date: new Date().toISOString(),
    loadBefore: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', '),
  }
}

function render(all: Measurement[], costs: CryptoCost[], machine: Machine, runtimeS: number): string {
  const find = (round: number, target: Algorithm | 'kit', route: RouteName) =>
    all.find((m) => m.round === round && m.target === target && m.route === route)!
  const rounds = [...new Set(all.map((m) => m.round))]
  const ratiosOf = (target: Algorithm | 'kit', route: RouteName, vs: Algorithm | 'kit', vsRoute: RouteName) =>
    rounds.map((r) => ({
      rps: find(r, target, route).rps / find(r, vs, vsRoute).rps,
      p99: find(r, target, route).p99 / find(r, vs, vsRoute).p99,
    }))
  const of = (target: Algorithm | 'kit', route: RouteName) =>
    all.filter((m) => m.target === target && m.route === route)
  const totalBad = all.reduce((n, m) => n + badOf(m), 0)

  const lines: string[] = []
  lines.push('# Signing algorithms and the resource-server kit (bench/keys.ts)', '')
  if (totalBad > 0) {
    lines.push(
      `> **THIS RUN HAD ${totalBad} BAD RESPONSES (non-200 statuses or errors): its figures are not valid.** See the "bad" column.`,
      '',
    )
  }
  lines.push(
    `Machine: nproc ${machine.nproc}, ${machine.cpuModel}, node ${machine.node}, ${machine.date}; load average before the run ${machine.loadBefore}.`,
    `Run: ${opts.rounds} rounds; in each, every (server, route) pair measured for ${opts.seconds} s after a ${opts.warmup} s warm-up, ` +
      `in ${opts.slices} slices taken in turn with the pairs it is compared with (one route on the four servers; the kit\u2019s two routes); ` +
      `${opts.connections} connections (autocannon), ${opts.logins} access tokens per server cycled; ` +
      `all servers up at once, idle while another is measured; PostgreSQL + Redis; total runtime ${Math.round(runtimeS)} s.`,
    'Ratios are medians over the rounds of the ratio taken within each round; req/s, p99 and CPU are medians over the rounds. ' +
      'CPU is the measured process\u2019s own CPU time per request (not PostgreSQL\u2019s, Redis\u2019s or the load generator\u2019s).',
    '',
    '## Token routes per signing algorithm, against HS256 in the same round',
    '',
    '| route | alg | req/s | req/s vs HS256 | p99 ms | p99 vs HS256 | CPU µs/req | req/s vs own /health/live | rounds (req/s vs HS256) | bad |',
    '|---|---|---|---|---|---|---|---|---|---|',
  )
  for (const route of ['verify', 'user', 'live'] as const) {
    for (const alg of ALGORITHMS) {
      const ms = of(alg, route)
      const vsHs = ratiosOf(alg, route, 'HS256', route)
      const vsLive = ratiosOf(alg, route, alg, 'live')
      lines.push(
        `| ${ROUTE_LABELS[route]} | ${alg} | ${fmtInt(median(ms.map((m) => m.rps)))} | **${fmtX(median(vsHs.map((x) => x.rps)))}** | ` +
          `${fmtMs(median(ms.map((m) => m.p99)))} | ${fmtX(median(vsHs.map((x) => x.p99)))} | ` +
          `${fmtInt(median(ms.map((m) => m.cpuUsPerRequest)))} | ${route === 'live' ? '' : fmtX(median(vsLive.map((x) => x.rps)))} | ` +
          `${vsHs.map((x) => x.rps.toFixed(2)).join(', ')} | ${ms.reduce((n, m) => n + badOf(m), 0)} |`,
      )
    }
  }
  // The bare route runs the same code on every server: its ratios to HS256 are an A/A comparison.
  const aa = ALGORITHMS.filter((a) => a !== 'HS256').flatMap((a) => ratiosOf(a, 'live', 'HS256', 'live'))
  lines.push(
    '',
    `The /health/live rows compare identical code (the algorithm plays no part in that route), so their spread is this run\u2019s ` +
      `noise: per-round ratios ${Math.min(...aa.map((x) => x.rps)).toFixed(2)}-${Math.max(...aa.map((x) => x.rps)).toFixed(2)}x ` +
      `for req/s and ${Math.min(...aa.map((x) => x.p99)).toFixed(2)}-${Math.max(...aa.map((x) => x.p99)).toFixed(2)}x for p99. ` +
      'A token-route ratio inside that band is no measured difference.',
  )
  const kitVs = ratiosOf('kit', 'kit-orders', 'kit', 'kit-bare')
  lines.push(
    '',
    `## The resource-server kit (own process, JWKS of the ${KIT_ALGORITHM} server, same Redis prefix)`,
    '',
    '| route | req/s | p99 ms | CPU µs/req | bad |',
    '|---|---|---|---|---|',
  )
  for (const route of ['kit-bare', 'kit-orders'] as const) {
    const ms = of('kit', route)
    lines.push(
      `| ${ROUTE_LABELS[route]} | ${fmtInt(median(ms.map((m) => m.rps)))} | ${fmtMs(median(ms.map((m) => m.p99)))} | ` +
        `${fmtInt(median(ms.map((m) => m.cpuUsPerRequest)))} | ${ms.reduce((n, m) => n + badOf(m), 0)} |`,
    )
  }
  lines.push(
    '',
    `Kit-protected route vs the same app\u2019s bare route: req/s **${fmtX(median(kitVs.map((x) => x.rps)))}** ` +
      `(rounds ${kitVs.map((x) => x.rps.toFixed(2)).join(', ')}), p99 ${fmtX(median(kitVs.map((x) => x.p99)))} ` +
      `(rounds ${kitVs.map((x) => x.p99.toFixed(2)).join(', ')}).`,
    '',
    '## For context: one signature and one verification in-process (src/keys/keyring.ts, fast-jwt)',
    '',
    'The servers and the kit verify through fast-jwt\u2019s cache (keyed on the whole token), so with a few tokens cycled ' +
      'the HTTP figures above pay the signature check once per token; a token seen for the first time costs the uncached verification.',
    '',
    '| alg | sign µs | verify µs (uncached) | verify µs (cache hit) | token bytes |',
    '|---|---|---|---|---|',
  )
  for (const c of costs) {
    lines.push(
      `| ${c.alg} | ${c.signUs.toFixed(1)} | ${c.verifyUncachedUs.toFixed(1)} | ${c.verifyCachedUs.toFixed(1)} | ${c.tokenBytes} |`,
    )
  }
  lines.push('', `Bad responses (non-200 or errors, warm-ups included): ${totalBad}.`, '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now()
  process.once('SIGINT', () => {
    interrupted = true
    console.log('interrupted: stopping after the current measurement')
  })
  if (!args['no-build']) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' })
  const machine = machineInfo()

  const id = randomBytes(4).toString('hex')
  const dbName = `authjwt_bench_keys_${id}`
  const prefix = `bench:keys:${id}:`
  const tmp = mkdtempSync(join(os.tmpdir(), 'authjwt-bench-keys-'))
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${dbName}`)
  const dbUrl = new URL(PG_ADMIN_URL)
  dbUrl.pathname = `/${dbName}`
  const password = randomBytes(18).toString('base64url')
  const signingKey = randomBytes(36).toString('base64url') // 48 characters

  const common: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['SIGNING_KEY', 'JWT_PRIVATE_KEY', 'JWT_PRIVATE_KEY_FILE', 'KEY_ENCRYPTION_KEY']) {
    delete common[name]
  }
  Object.assign(common, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WORKERS: '1',
    DATA_DIR: join(tmp, 'data'),
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_PREFIX: prefix,
    LOGIN_RATE_LIMIT: '1000000',
    LOGIN_ACCOUNT_RATE_LIMIT: '1000000',
    // Login speed is not measured here: cheap hashes make the setup logins quick.
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
  })

  const measurements: Measurement[] = []
  const costs: CryptoCost[] = []
  try {
    console.log(`database ${dbName}, Redis prefix ${prefix}`)
    execFileSync(
      'npm',
      [
        'run',
        'cli',
        '--silent',
        '--',
        'create-user',
        '--username',
        'bench',
        '--email',
        'bench@example.com',
        '--password',
        password,
      ],
      { cwd: root, env: { ...common, JWT_ALGORITHM: 'HS256', SIGNING_KEY: signingKey }, stdio: 'inherit' },
    )

    // The servers run with the node flags of `npm start`, so the bench measures what ships.
    const startFlags = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string)
      .split(/\s+/)
      .filter((a) => a.startsWith('--'))
    const servers = new Map<
      Algorithm,
      { child: Child; tokens: string[]; secret: { signingKey: string; privateKey?: string } }
    >()
    for (const alg of ALGORITHMS) {
      const port = await freePort()
      const env: NodeJS.ProcessEnv = { ...common, PORT: String(port), JWT_ALGORITHM: alg }
      let secret: { signingKey: string; privateKey?: string }
      if (alg === 'HS256') {
        env.SIGNING_KEY = signingKey
        secret = { signingKey }
      } else {
        const pem = generatePrivateKey(alg)
        const file = join(tmp, `${alg.toLowerCase()}.pem`)
        writeFileSync(file, pem, { mode: 0o600 })
        env.JWT_PRIVATE_KEY_FILE = file
        secret = { signingKey: '', privateKey: pem }
      }
      const child = startChild(
        `server ${alg}`,
        [...startFlags, join(root, 'dist', 'src', 'server.js')],
        env,
        port,
      )
      await waitReady(child, '/health/ready')
      const tokens: string[] = []
      for (let i = 0; i < opts.logins; i++) {
        const r = await post(child.base, '/api/token/', { username: 'bench', password })
        expectStatus(`${alg} login`, r.status, 200)
        tokens.push(r.body!.access as string)
      }
      const header = JSON.parse(Buffer.from(tokens[0]!.split('.')[0]!, 'base64url').toString('utf8'))
      if (header.alg !== alg) throw new Error(`${alg} server signed with ${header.alg}`)
      expectStatus(
        `${alg} verify`,
        (await post(child.base, '/api/token/verify/', { token: tokens[0] })).status,
        200,
      )
      const me = await get(child.base, '/api/user/', `Bearer ${tokens[0]}`)
      expectStatus(`${alg} /api/user/`, me.status, 200)
      if (me.body?.username !== 'bench')
        throw new Error(`${alg} /api/user/ answered ${JSON.stringify(me.body)}`)
      servers.set(alg, { child, tokens, secret })
      console.log(`server ${alg}: pid ${child.process.pid} on ${child.base}, ${tokens.length} access tokens`)
    }

    const kitServer = servers.get(KIT_ALGORITHM)!
    const kitPort = await freePort()
    const kit = startChild(
      'kit app',
      [...process.execArgv, fileURLToPath(import.meta.url), '--kit-app'],
      {
        ...process.env,
        NODE_ENV: 'production',
        KIT_PORT: String(kitPort),
        KIT_JWKS_URL: `${kitServer.child.base}/.well-known/jwks.json`,
        KIT_REDIS_URL: REDIS_URL,
        KIT_REDIS_PREFIX: prefix,
      },
      kitPort,
    )
    await waitReady(kit, '/bare')
    const kitToken = kitServer.tokens[0]!
    expectStatus(
      'kit /orders with our token',
      (await get(kit.base, '/orders', `Bearer ${kitToken}`)).status,
      200,
    )
    expectStatus('kit /orders without a token', (await get(kit.base, '/orders')).status, 401)
    const hsToken = servers.get('HS256')!.tokens[0]!
    expectStatus(
      'kit /orders with an HMAC token',
      (await get(kit.base, '/orders', `Bearer ${hsToken}`)).status,
      401,
    )
    console.log(`kit app: pid ${kit.process.pid} on ${kit.base}, JWKS of the ${KIT_ALGORITHM} server`)

    // While everything is idle: what one signature and one verification cost in-process.
    for (const alg of ALGORITHMS) {
      const s = servers.get(alg)!
      costs.push(cryptoCost(alg, s.secret, s.tokens[0]!))
    }
    for (const c of costs) {
      console.log(
        `  ${c.alg.padEnd(5)} sign ${c.signUs.toFixed(1)} µs, verify uncached ${c.verifyUncachedUs.toFixed(1)} µs, cache hit ${c.verifyCachedUs.toFixed(1)} µs`,
      )
    }

    const perRound = 3 * ALGORITHMS.length + 2
    console.log(
      `measuring: ${opts.rounds} rounds of ${perRound} runs, about ${Math.round((opts.rounds * perRound * (opts.seconds + opts.warmup)) / 60)} min`,
    )
    for (let round = 0; round < opts.rounds; round++) {
      console.log(`round ${round + 1}/${opts.rounds}`)
      for (const route of ['verify', 'user', 'live'] as const) {
        const pairs = ALGORITHMS.map((alg) => ({ target: alg, route, ...servers.get(alg)! }))
        measurements.push(...(await measureGroup(round, pairs)))
      }
      const kitPairs = (['kit-bare', 'kit-orders'] as const).map((route) => ({
        target: 'kit' as const,
        route,
        child: kit,
        tokens: kitServer.tokens,
      }))
      measurements.push(...(await measureGroup(round, kitPairs)))
    }
  } finally {
    await stopChildren()
    await admin.unsafe(`drop database if exists ${dbName} with (force)`)
    await admin.end({ timeout: 2 })
    await deletePrefix(REDIS_URL, prefix)
    rmSync(tmp, { recursive: true, force: true })
  }

  const runtimeS = (Date.now() - started) / 1000
  const md = render(measurements, costs, machine, runtimeS)
  console.log(`\n${md}`)
  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'keys.md'), md)
  console.log(`written bench/results/keys.md (${Math.round(runtimeS)} s)`)
  const bad = measurements.reduce((n, m) => n + badOf(m), 0)
  if (bad > 0) {
    console.error(`\n!!! ${bad} BAD RESPONSES (non-200 or errors): this run's figures are not valid !!!\n`)
    process.exitCode = 1
  }
}

const entry = args['kit-app'] ? kitApp : main
entry().catch(async (err) => {
  console.error(err)
  await stopChildren().catch(() => {})
  process.exit(1)
})
