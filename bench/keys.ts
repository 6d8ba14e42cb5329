import { execFileSync, execSync } from 'node:child_process'
import { deletePrefix, freePort } from './infra.js'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type autocannon from 'autocannon'
import Fastify from 'fastify'
import type { KeyPairAlgorithm } from '../src/config/tokens.js'
import { Keyring } from '../src/keys/keyring.js'
import { generatePrivateKey } from '../src/keys/material.js'
import type { Claims } from '../src/tokens/claims.js'
import {
  badBanner,
  badOf,
  benchEnv,
  type Child,
  expectStatus,
  fmtInt,
  fmtMs,
  fmtX,
  freshDatabase,
  get,
  interruptFlag,
  json,
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
  stopChildren,
  waitReady,
  writeReport,
} from './compare.js'

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
const { values: args } = parseArgs({
  options: {
    ...sliceArgs({ rounds: '3', seconds: '5', warmup: '1.5', slices: '5', connections: '32' }),
    logins: { type: 'string', default: '20' },
    'kit-app': { type: 'boolean', default: false },
  },
})

const ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const
type Algorithm = (typeof ALGORITHMS)[number]
/** The server whose JWKS the kit reads. */
const KIT_ALGORITHM: KeyPairAlgorithm = 'ES256'

const opts = { ...sliceOptions(args), logins: Number(args.logins) }

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
// Requests and checks.

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

interface Measurement extends Measured {
  round: number
  target: Algorithm | 'kit'
  route: RouteName
}

let interrupted = () => false

interface Pair {
  target: Algorithm | 'kit'
  route: RouteName
  child: Child
  tokens: string[]
}

/** One round of a group of pairs compared with each other (bench/compare.ts, interleaved slices). */
async function measurePairs(round: number, pairs: Pair[]): Promise<Measurement[]> {
  const contenders = pairs.map((p) => ({
    name: `${p.target.padEnd(5)} ${ROUTE_LABELS[p.route].padEnd(38)}`,
    child: p.child,
    requests: () => requestsFor(p.route, p.tokens),
    connections: opts.connections,
  }))
  const measured = await measureGroup(round, contenders, { ...opts, interrupted })
  return measured.map((m, j) => ({ ...m, round, target: pairs[j]!.target, route: pairs[j]!.route }))
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
  lines.push(...badBanner(totalBad))
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
  interrupted = interruptFlag()
  if (!args['no-build']) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' })
  const machine = machineInfo()

  const id = randomBytes(4).toString('hex')
  const database = await freshDatabase(`authjwt_bench_keys_${id}`)
  const prefix = `bench:keys:${id}:`
  const tmp = mkdtempSync(join(os.tmpdir(), 'authjwt-bench-keys-'))
  const password = randomBytes(18).toString('base64url')
  const signingKey = randomBytes(36).toString('base64url') // 48 characters

  const common = benchEnv({
    DATA_DIR: join(tmp, 'data'),
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    // Login speed is not measured here: cheap hashes make the setup logins quick.
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
  })

  const measurements: Measurement[] = []
  const costs: CryptoCost[] = []
  try {
    console.log(`database ${database.name}, Redis prefix ${prefix}`)
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
        serverArgv(), // the node flags of `npm start`: the bench measures what ships
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
        measurements.push(...(await measurePairs(round, pairs)))
      }
      const kitPairs = (['kit-bare', 'kit-orders'] as const).map((route) => ({
        target: 'kit' as const,
        route,
        child: kit,
        tokens: kitServer.tokens,
      }))
      measurements.push(...(await measurePairs(round, kitPairs)))
    }
  } finally {
    await stopChildren()
    await database.drop()
    await deletePrefix(REDIS_URL, prefix)
    rmSync(tmp, { recursive: true, force: true })
  }

  const runtimeS = (Date.now() - started) / 1000
  const md = render(measurements, costs, machine, runtimeS)
  writeReport(
    'keys.md',
    md,
    runtimeS,
    measurements.reduce((n, m) => n + badOf(m), 0),
  )
}

run(args['kit-app'] ? kitApp : main)
