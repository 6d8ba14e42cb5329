import { execSync, spawn } from 'node:child_process'
import { deletePrefix, freePort } from './infra.js'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { loadConfig } from '../src/config.js'
import { type Argon2Ceiling, argon2Ceilings, nodeRsCeiling } from './argon2.js'
import { processTree } from './load.js'
import { type RunResult, renderMarkdown, type Summary, summarize } from './report.js'
import { runScenarios } from './scenarios.js'
import { seed } from './seed.js'

/**
 * `npm run bench [-- --runs 3 --embedded --seconds 5 --connections 32 --workers 2 --profile --prepare-off]`
 * Builds the app, and per run: seeds a fresh database, starts `node dist/src/server.js`, measures
 * every scenario between two runs of the bare route, and stops it. Writes bench/results/.
 * `--prepare-off` (PostgreSQL): each run measures the server twice, with prepared statements and
 * with DB_POOLER=transaction (what a transaction-mode pooler needs: no prepared statements, SET LOCAL
 * per transaction), and the table gets both, side by side.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args } = parseArgs({
  options: {
    embedded: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1.5' },
    connections: { type: 'string', default: '32' },
    'login-connections': { type: 'string', default: '8' },
    workers: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'prepare-off': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    // `--scale` runs bench/scale.ts instead (its own options follow it).
    scale: { type: 'boolean', default: false },
    rows: { type: 'string' },
    rounds: { type: 'string' },
    slices: { type: 'string' },
  },
})

const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SIGNING_KEY = 'bench-signing-key-0123456789abcdef-0123456789abcdef'

const opts = {
  embedded: args.embedded === true,
  runs: Number(args.runs),
  seconds: Number(args.seconds),
  warmup: Number(args.warmup),
  connections: Number(args.connections),
  loginConnections: Number(args['login-connections']),
  workers: Number(args.workers),
}

async function waitReady(
  base: string,
  child: { exitCode: number | null },
  stderr: () => string,
  path = '/health/ready',
) {
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${stderr()}`)
    try {
      const res = await fetch(`${base}${path}`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`server not ready after 60 s:\n${stderr()}`)
}

async function oneRun(
  index: number,
  ceilings: Argon2Ceiling[],
  variant: Record<string, string> = {},
): Promise<RunResult> {
  const id = randomBytes(4).toString('hex')
  const port = await freePort()
  const prefix = `bench:${id}:`
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    SIGNING_KEY,
    // Production requires both.
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    KEY_ENCRYPTION_KEY: 'bench-key-encryption-key-0123456789abcdef-01234567',
    // Huge limits rather than 0 (off): the counters' cost stays in the login figures.
    LOGIN_RATE_LIMIT: '1000000',
    LOGIN_ACCOUNT_RATE_LIMIT: '1000000',
    WORKERS: String(opts.workers),
    ...variant,
    // Sized for the machine rather than the default 10: refresh and logout wait on commits, and
    // PostgreSQL groups concurrent commits into one WAL flush (bench/README.md has the figures).
  }
  let cleanup = async () => {}
  let databaseUrl: string | undefined
  let embeddedDir: string | undefined
  if (opts.embedded) {
    const dataDir = mkdtempSync(join(os.tmpdir(), 'authjwt-bench-'))
    env.DATA_DIR = dataDir
    embeddedDir = join(dataDir, 'pglite')
    delete env.DATABASE_URL
    delete env.REDIS_URL
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true })
  } else {
    const name = `authjwt_bench_${id}`
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    const url = new URL(PG_ADMIN_URL)
    url.pathname = `/${name}`
    databaseUrl = url.toString()
    env.DATABASE_URL = databaseUrl
    env.REDIS_URL = REDIS_URL
    env.REDIS_PREFIX = prefix
    cleanup = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 2 })
      await deletePrefix(REDIS_URL, prefix)
    }
  }
  const config = loadConfig(env)
  try {
    const seeded = await seed({
      databaseUrl,
      embeddedDir,
      config,
      users: 200,
      refreshChains: opts.connections * 8,
      // Each logout spends one session: 6.5 s (run and warm-up) at up to ~20,000 req/s. A faster
      // machine (bare route ~60,000 req/s) emptied a pool of 60,000.
      logoutPool: 150_000,
    })
    // The server runs with the node flags of `npm start`, so the bench measures what ships.
    const startFlags = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string)
      .split(/\s+/)
      .filter((a) => a.startsWith('--'))
    const nodeArgs = args.profile
      ? [...startFlags, '--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'results', 'profiles')}`]
      : startFlags
    const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist', 'src', 'server.js')], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000)
      // BENCH_ECHO=1 passes the server's stderr through (ad-hoc instrumentation while profiling).
      if (process.env.BENCH_ECHO) process.stderr.write(d)
    })
    const base = `http://127.0.0.1:${port}`
    // The reference login (hash and sign only), idle while the server is measured.
    const referencePort = await freePort()
    const reference = spawn(
      process.execPath,
      [...startFlags, '--import', 'tsx', join(root, 'bench', 'reference-login.ts')],
      { env: { ...env, PORT: String(referencePort) }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let referenceErr = ''
    reference.stderr.on('data', (d: Buffer) => {
      referenceErr = (referenceErr + d.toString()).slice(-5000)
    })
    const referenceBase = `http://127.0.0.1:${referencePort}`
    try {
      await waitReady(base, child, () => stderr)
      await waitReady(referenceBase, reference, () => referenceErr, '/health/live')
      console.log(`run ${index + 1}/${opts.runs}: server pid ${child.pid} on ${base}`)
      const scenarios = await runScenarios({
        base,
        seed: seeded,
        connections: opts.connections,
        loginConnections: opts.loginConnections,
        seconds: opts.seconds,
        warmup: opts.warmup,
        only: args.only?.split(','),
        pids: () => processTree(child.pid!),
        log: (line) => console.log(`  ${line}`),
        ceiling: await nodeRsCeiling(config.argon2),
        reference: { base: referenceBase, pids: () => processTree(reference.pid!) },
      })
      return { index, ceilings, scenarios }
    } finally {
      reference.kill('SIGTERM')
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
      if (stderr.trim()) console.log(`server stderr (run ${index + 1}):\n${stderr.trim().slice(-3000)}`)
    }
  } finally {
    await cleanup()
  }
}

async function main() {
  if (args.scale) {
    await import('./scale.js')
    return
  }
  if (!args['no-build']) execSync('npm run build --silent', { cwd: root, stdio: 'inherit' })
  const config = loadConfig({ SIGNING_KEY })
  const runs: RunResult[] = []
  const prepareOff = args['prepare-off'] === true && !opts.embedded
  const runsOff: RunResult[] = []
  for (let i = 0; i < opts.runs; i++) {
    // The hashing ceiling is measured in each run, on an idle machine, right before the load.
    console.log(
      `run ${i + 1}/${opts.runs}: measuring argon2id verifications/s (m=${config.argon2.memoryKiB}, t=${config.argon2.timeCost}, p=${config.argon2.parallelism})`,
    )
    const ceilings = await argon2Ceilings(config.argon2)
    for (const c of ceilings) console.log(`  ${c.library}: ${c.verifiesPerSecond.toFixed(1)}/s`)
    runs.push(await oneRun(i, ceilings))
    if (prepareOff) {
      console.log(`run ${i + 1}/${opts.runs}: prepared statements off (DB_POOLER=transaction)`)
      runsOff.push(await oneRun(i, ceilings, { DB_POOLER: 'transaction' }))
    }
  }
  // A partial run (profiling one scenario) has no table to compare against the targets.
  if (args.only) return
  const meta = (backend: string) => ({
    backend,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
    },
    options: opts,
    argon2: config.argon2,
    date: new Date().toISOString(),
  })
  const summary = summarize(
    runs,
    meta(opts.embedded ? 'embedded (PGlite + in-process store)' : 'PostgreSQL + Redis'),
  )
  let md = renderMarkdown(summary)
  if (prepareOff) {
    const off = summarize(
      runsOff,
      meta('PostgreSQL + Redis, prepared statements off (DB_POOLER=transaction)'),
    )
    md += `\n${renderPrepareComparison(summary, off)}\n\n${renderMarkdown(off)}`
  }
  console.log(`\n${md}`)
  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const name = args.out ?? (opts.embedded ? 'latest-embedded' : 'latest')
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join(outDir, `${name}.md`), md)
  console.log(`written bench/results/${name}.json and bench/results/${name}.md`)
  // Missed targets are reported in the table; only a broken run (errors, wrong statuses) fails the command.
  if (summary.rows.some((r) => r.errors > 0 || r.non2xx > 0)) process.exitCode = 1
}

/** Prepare-on beside prepare-off, per scenario: what a transaction-mode pooler's driver settings cost. */
function renderPrepareComparison(on: Summary, off: Summary): string {
  const f = (n: number, d = 0) => n.toFixed(d)
  const lines = [
    '## Prepared statements on and off (DB_POOLER=transaction), same runs',
    '',
    '| scenario | req/s on | req/s off | change | p50 ms on | p50 ms off | p99 ms on | p99 ms off |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for (const r of on.rows) {
    const o = off.rows.find((x) => x.name === r.name)
    if (!o) continue
    const change = r.rps > 0 ? `${f(((o.rps - r.rps) / r.rps) * 100, 1)}%` : '-'
    lines.push(
      `| ${r.label} | ${f(r.rps)} | ${f(o.rps)} | ${change} | ${f(r.p50, 2)} | ${f(o.p50, 2)} | ${f(r.p99, 2)} | ${f(o.p99, 2)} |`,
    )
  }
  return lines.join('\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
