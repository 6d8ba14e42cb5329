import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type autocannon from 'autocannon'
import postgres from 'postgres'
import { type LoadResult, type LoadSample, loadSample, processTree, summarizeLoad } from './load.js'

/**
 * What the comparing benches share (bench/keys.ts, bench/audit.ts): several servers of one build
 * started at once, each idle while another is measured; the pairs compared with each other measured
 * in interleaved slices; medians of per-round ratios; the machine they ran on.
 */

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
export const json = { 'content-type': 'application/json' }

// ---------------------------------------------------------------------------------------------
// Processes, ports, readiness.

export interface Child {
  name: string
  process: ChildProcess
  base: string
  stderr: () => string
}

const children: Child[] = []

export function startChild(name: string, argv: string[], env: NodeJS.ProcessEnv, port: number): Child {
  const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000)
  })
  const c = { name, process: child, base: `http://127.0.0.1:${port}`, stderr: () => stderr }
  children.push(c)
  return c
}

/** `node <the flags of npm start> dist/src/server.js`: the benches measure what ships. */
export function serverArgv(): string[] {
  const startFlags = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string)
    .split(/\s+/)
    .filter((a) => a.startsWith('--'))
  return [...startFlags, join(root, 'dist', 'src', 'server.js')]
}

/**
 * The server's environment for a bench: production mode, logs at warn, one process, login limits
 * never reached (their counters still kept), and none of the caller's key settings.
 */
export function benchEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of ['SIGNING_KEY', 'JWT_PRIVATE_KEY', 'JWT_PRIVATE_KEY_FILE', 'KEY_ENCRYPTION_KEY']) {
    delete env[name]
  }
  return {
    ...env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WORKERS: '1',
    LOGIN_RATE_LIMIT: '1000000',
    LOGIN_ACCOUNT_RATE_LIMIT: '1000000',
    // Production requires both; the bench's own, never the caller's.
    PUBLIC_URL: 'http://127.0.0.1',
    KEY_ENCRYPTION_KEY: BENCH_KEY_ENCRYPTION_KEY,
    ...extra,
  }
}

export const BENCH_KEY_ENCRYPTION_KEY = 'bench-key-encryption-key-0123456789abcdef-01234567'

export async function waitReady(c: Child, path: string): Promise<void> {
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

/** Stops one child (SIGTERM, SIGKILL after 10 s) and prints what it wrote to stderr. */
export async function stopChild(c: Child): Promise<void> {
  const at = children.indexOf(c)
  if (at >= 0) children.splice(at, 1)
  if (c.process.exitCode === null && c.process.signalCode === null) {
    const exited = new Promise((r) => c.process.once('exit', r))
    c.process.kill('SIGTERM')
    const timer = setTimeout(() => c.process.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(timer)
  }
  const err = c.stderr().trim()
  if (err) console.log(`${c.name} stderr:\n${err.slice(-3000)}`)
}

export async function stopChildren(): Promise<void> {
  await Promise.all([...children].map(stopChild))
}

// ---------------------------------------------------------------------------------------------
// Databases.

export interface BenchDatabase {
  name: string
  url: string
  drop: () => Promise<void>
}

/** A fresh PostgreSQL database on the bench's server; `drop` removes it (connections cut). */
export async function freshDatabase(name: string): Promise<BenchDatabase> {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 2 })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Requests and checks.

export async function post(base: string, path: string, body: unknown, authorization?: string) {
  const headers: Record<string, string> = { ...json }
  if (authorization) headers.authorization = authorization
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null }
}

export async function get(base: string, path: string, authorization?: string) {
  const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} })
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null }
}

export function expectStatus(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: expected ${want}, got ${got}`)
}

/** Responses other than 200. */
export const nonOk = (statuses: Record<string, number>) =>
  Object.entries(statuses).reduce((n, [status, count]) => n + (status === '200' ? 0 : count), 0)

// ---------------------------------------------------------------------------------------------
// Interleaved measurement.

/** One (server, route) pair of a group compared with each other. */
export interface Contender {
  /** How the console line names it (padded by the caller). */
  name: string
  child: Child
  /** Request definitions for one autocannon run; pools (refresh tokens) are shared across runs. */
  requests: () => autocannon.Request[]
  connections: number
  /** The processes whose CPU (and memory) is counted; by default the server and its workers. */
  pids?: () => number[]
}

export interface SliceOptions {
  seconds: number
  warmup: number
  slices: number
  /** Set by a SIGINT: stops before the next run. */
  interrupted?: () => boolean
  /** Called before each autocannon run (warm-ups included) with the pair about to be loaded. */
  before?: (index: number) => Promise<void>
}

export interface Measured extends LoadResult {
  /** Statuses of the warm-up (not part of the figures; anything but 200 is still a failure). */
  warmupStatuses: Record<string, number>
  /** Responses other than 200 and errors during the warm-up. */
  warmupBad: number
}

/** Any status but 200, in the measured run or its warm-up, and connection errors or timeouts. */
export function badOf(m: Measured): number {
  return nonOk(m.statuses) + m.errors + m.warmupBad
}

/**
 * One round of a group of pairs compared with each other: a warm-up of each, then each pair's
 * measurement time cut into slices, taken in turn (the first pair of each turn rotating with the
 * slice and the round), so that the machine's drift falls on all of them alike.
 */
export async function measureGroup(round: number, pairs: Contender[], o: SliceOptions): Promise<Measured[]> {
  const defs = pairs.map((p) => ({
    url: p.child.base,
    connections: p.connections,
    pids: p.pids ?? (() => processTree(p.child.process.pid!)),
  }))
  const check = () => {
    if (o.interrupted?.()) throw new Error('interrupted')
  }
  const warmups: LoadSample[] = []
  for (const [j, def] of defs.entries()) {
    check()
    await o.before?.(j)
    warmups.push(await loadSample({ ...def, requests: pairs[j]!.requests(), seconds: o.warmup }))
  }
  const samples: LoadSample[][] = pairs.map(() => [])
  for (let slice = 0; slice < o.slices; slice++) {
    for (let k = 0; k < pairs.length; k++) {
      check()
      const j = (k + slice + round) % pairs.length
      await o.before?.(j)
      samples[j]!.push(
        await loadSample({ ...defs[j]!, requests: pairs[j]!.requests(), seconds: o.seconds / o.slices }),
      )
    }
  }
  return pairs.map((p, j) => {
    const r = summarizeLoad(samples[j]!)
    const warm = warmups[j]!
    const m: Measured = {
      ...r,
      warmupStatuses: warm.statuses,
      warmupBad: nonOk(warm.statuses) + warm.errors,
    }
    const bad = badOf(m)
    console.log(
      `  ${p.name} ${Math.round(r.rps).toString().padStart(6)} req/s` +
        `  p99 ${r.p99.toFixed(2).padStart(6)} ms  ${Math.round(r.cpuUsPerRequest).toString().padStart(4)} µs CPU/req` +
        (bad
          ? `  !!! ${bad} BAD: statuses ${JSON.stringify(r.statuses)}, errors ${r.errors}, warm-up ${m.warmupBad}`
          : ''),
    )
    return m
  })
}

// ---------------------------------------------------------------------------------------------
// Summary.

export const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
export const fmtInt = (x: number) => Math.round(x).toLocaleString('en-US')
export const fmtX = (x: number) => `${x.toFixed(2)}x`
export const fmtMs = (x: number) => x.toFixed(2)

export interface Machine {
  nproc: string
  cpuModel: string
  node: string
  date: string
  loadBefore: string
}

export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')

export function machineInfo(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  return {
    nproc: execSync('nproc').toString().trim(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    node: process.version,
    date: new Date().toISOString(),
    loadBefore: loadAverage(),
  }
}

/** The first SIGINT lets the current measurement end, then the run stops (servers stopped, databases dropped). */
export function interruptFlag(): () => boolean {
  let interrupted = false
  process.once('SIGINT', () => {
    interrupted = true
    console.log('interrupted: stopping after the current measurement')
  })
  return () => interrupted
}

// ---------------------------------------------------------------------------------------------
// Command line, results, exit.

/** The options every comparing bench takes, with its own defaults (for parseArgs). */
export function sliceArgs(d: {
  rounds: string
  seconds: string
  warmup: string
  slices: string
  connections: string
}) {
  return {
    rounds: { type: 'string', default: d.rounds },
    seconds: { type: 'string', default: d.seconds },
    warmup: { type: 'string', default: d.warmup },
    slices: { type: 'string', default: d.slices },
    connections: { type: 'string', default: d.connections },
    'no-build': { type: 'boolean', default: false },
  } as const
}

/** Those options as numbers. */
export function sliceOptions(v: {
  rounds?: string
  seconds?: string
  warmup?: string
  slices?: string
  connections?: string
}) {
  return {
    rounds: Number(v.rounds),
    seconds: Number(v.seconds),
    warmup: Number(v.warmup),
    slices: Number(v.slices),
    connections: Number(v.connections),
  }
}

/** The first lines of a report whose run had bad responses. */
export function badBanner(totalBad: number): string[] {
  if (totalBad === 0) return []
  return [
    `> **THIS RUN HAD ${totalBad} BAD RESPONSES (non-200 statuses or errors): its figures are not valid.** See the "bad" column.`,
    '',
  ]
}

/** Prints the report and writes it to bench/results/<file>; a run with bad responses exits 1. */
export function writeReport(file: string, md: string, runtimeS: number, bad: number): void {
  console.log(`\n${md}`)
  const outDir = join(root, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, file), md)
  console.log(`written bench/results/${file} (${Math.round(runtimeS)} s)`)
  if (bad > 0) {
    console.error(`\n!!! ${bad} BAD RESPONSES (non-200 or errors): this run's figures are not valid !!!\n`)
    process.exitCode = 1
  }
}

/** Runs the bench's entry point; on an error, stops the children and exits 1. */
export function run(entry: () => Promise<void>): void {
  entry().catch(async (err) => {
    console.error(err)
    await stopChildren().catch(() => {})
    process.exit(1)
  })
}
