import type autocannon from 'autocannon'
import { BENCH_PASSWORD } from './argon2.js'
import { type LoadResult, type LoadSample, load, loadSample, summarizeLoad } from './load.js'
import type { Seed, TokenPair } from './seed.js'

export type ScenarioName = 'bare' | 'verify' | 'test-auth' | 'users-me' | 'refresh' | 'logout' | 'login'

export interface ScenarioResult extends LoadResult {
  name: ScenarioName
  label: string
  connections: number
  /** Mean requests/s and p50 of the bare route measured right before and right after. */
  bareRps: number
  bareP50: number
  bareP99: number
  /** Login only: argon2id verifications/s of the binding in use, measured between login's slices (mean). */
  ceilingRps?: number
  /** Login only: the reference login (bench/reference-login.ts) in slices beside login's (mean req/s). */
  referenceRps?: number
}

export interface ScenarioContext {
  base: string
  seed: Seed
  connections: number
  loginConnections: number
  seconds: number
  warmup: number
  /** Scenario names to run (profiling); all when absent. */
  only?: string[]
  pids: () => number[]
  log: (line: string) => void
  /** Measures the hashing ceiling for `seconds` on the otherwise idle machine (the server waits meanwhile). */
  ceiling: (seconds: number) => Promise<number>
  /** The reference login (hash and sign only), measured beside the login: its URL and processes. */
  reference: { base: string; pids: () => number[] }
}

const json = { 'content-type': 'application/json' }

interface Scenario {
  name: ScenarioName
  label: string
  connections: number
  /** Fresh request definitions for one autocannon run (pools are shared across warm-up and run). */
  requests: () => autocannon.Request[]
}

function scenarios(c: ScenarioContext): Scenario[] {
  const { seed } = c
  const refreshQueue = seed.refreshChains.map((p) => p.refresh)
  const logoutPool: TokenPair[] = [...seed.logoutPool]
  return [
    {
      name: 'verify',
      label: 'POST /api/token/verify/',
      connections: c.connections,
      requests: () =>
        seed.sessions.map((s) => ({
          method: 'POST',
          path: '/api/token/verify/',
          headers: json,
          body: JSON.stringify({ token: s.access }),
        })),
    },
    {
      name: 'test-auth',
      label: 'GET /api/test-auth/',
      connections: c.connections,
      requests: () =>
        seed.sessions.map((s) => ({
          method: 'GET',
          path: '/api/test-auth/',
          headers: { authorization: `Bearer ${s.access}` },
        })),
    },
    {
      name: 'users-me',
      label: 'GET /api/v1/auth/users/me/',
      connections: c.connections,
      requests: () =>
        seed.sessions.map((s) => ({
          method: 'GET',
          path: '/api/v1/auth/users/me/',
          headers: { authorization: `Bearer ${s.access}` },
        })),
    },
    {
      // Every request presents a refresh token never used before: the one the previous answer
      // of its chain returned. Tokens whose answer was cut off at the end of a run are dropped.
      name: 'refresh',
      label: 'POST /api/token/refresh/ (rotation)',
      connections: c.connections,
      requests: () => [
        {
          method: 'POST',
          path: '/api/token/refresh/',
          headers: json,
          setupRequest: (req, context) => {
            const token = refreshQueue.shift()
            if (!token) throw new Error('refresh token queue ran dry')
            ;(context as { token?: string }).token = token
            return { ...req, body: JSON.stringify({ refresh: token }) }
          },
          onResponse: (status, body) => {
            if (status === 200) refreshQueue.push((JSON.parse(body) as { refresh: string }).refresh)
          },
        },
      ],
    },
    {
      name: 'logout',
      label: 'POST /api/v1/auth/logout/ (refresh + Bearer)',
      connections: c.connections,
      requests: () => [
        {
          method: 'POST',
          path: '/api/v1/auth/logout/',
          setupRequest: (req) => {
            const pair = logoutPool.pop()
            if (!pair) throw new Error('logout pool ran dry: raise logoutPool in bench/run.ts')
            return {
              ...req,
              headers: { ...json, authorization: `Bearer ${pair.access}` },
              body: JSON.stringify({ refresh: pair.refresh }),
            }
          },
        },
      ],
    },
    {
      name: 'login',
      label: 'POST /api/auth/token/ (argon2id)',
      connections: c.loginConnections,
      requests: () =>
        seed.usernames.map((username) => ({
          method: 'POST',
          path: '/api/auth/token/',
          headers: json,
          body: JSON.stringify({ username, password: BENCH_PASSWORD }),
        })),
    },
  ]
}

/** Login slices, and ceiling slices around each, over twice the scenario time. */
const LOGIN_SLICES = 5

/**
 * Login is compared with the hashing ceiling as the others are with the bare route, but more tightly:
 * this machine's speed drifts by 10-20% within seconds (the ceiling alone measured 164-210/s in
 * consecutive runs), so login runs in short slices with a ceiling slice before, between and after
 * them, and each side is the mean over its slices.
 */
async function loginBesideCeiling(
  c: ScenarioContext,
  s: Scenario,
): Promise<{ r: LoadResult; ceilingRps: number; referenceRps: number }> {
  const sliceSeconds = (c.seconds * 2) / LOGIN_SLICES
  const samples: LoadSample[] = []
  const ceilings: number[] = []
  const references: number[] = []
  const referenceCpu: number[] = []
  // Logins cut off at the end of a load run still hash in the server: each ceiling slice waits for them.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300))
  for (let i = 0; i < LOGIN_SLICES; i++) {
    await settle()
    ceilings.push(await c.ceiling(sliceSeconds))
    samples.push(
      await loadSample({
        url: c.base,
        connections: s.connections,
        seconds: sliceSeconds,
        requests: s.requests(),
        pids: c.pids,
      }),
    )
    await settle()
    const reference = await loadSample({
      url: c.reference.base,
      connections: s.connections,
      seconds: sliceSeconds,
      requests: s.requests(),
      pids: c.reference.pids,
    })
    if (reference.errors > 0 || reference.non2xx > 0) throw new Error('the reference login failed')
    references.push(reference.latencies.length / reference.seconds)
    referenceCpu.push(reference.cpuUs / reference.latencies.length)
  }
  await settle()
  ceilings.push(await c.ceiling(sliceSeconds))
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  c.log(`reference login: cpu ${mean(referenceCpu).toFixed(0)} µs/req`)
  return { r: summarizeLoad(samples), ceilingRps: mean(ceilings), referenceRps: mean(references) }
}

const bare = (): autocannon.Request[] => [{ method: 'GET', path: '/health/live' }]

/** bare, then each scenario (after its warm-up) followed by the bare route again. */
export async function runScenarios(c: ScenarioContext): Promise<ScenarioResult[]> {
  const run = (requests: autocannon.Request[], connections: number, seconds: number) =>
    load({ url: c.base, connections, seconds, requests, pids: c.pids })
  const show = (name: string, r: LoadResult) =>
    c.log(
      `${name.padEnd(10)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  non-2xx ${r.non2xx}  rss ${r.rssMaxMB} MB  cpu ${r.cpuUsPerRequest.toFixed(0)} µs/req (${r.cpuCores.toFixed(2)} cores)`,
    )
  await run(bare(), c.connections, c.warmup)
  let before = await run(bare(), c.connections, c.seconds)
  show('bare', before)
  const results: ScenarioResult[] = [
    {
      ...before,
      name: 'bare',
      label: 'GET /health/live',
      connections: c.connections,
      bareRps: before.rps,
      bareP50: before.p50,
      bareP99: before.p99,
    },
  ]
  for (const s of scenarios(c).filter((s) => !c.only || c.only.includes(s.name))) {
    const login = s.name === 'login'
    await run(s.requests(), s.connections, login ? c.warmup * 2 : c.warmup)
    let r: LoadResult
    let ceilingRps: number | undefined
    let referenceRps: number | undefined
    if (login) {
      ;({ r, ceilingRps, referenceRps } = await loginBesideCeiling(c, s))
      c.log(
        `argon2id ceiling beside login: ${ceilingRps.toFixed(1)}/s (login at ${((r.rps / ceilingRps) * 100).toFixed(0)}%); reference login ${referenceRps.toFixed(1)}/s (login at ${((r.rps / referenceRps) * 100).toFixed(0)}%)`,
      )
    } else {
      r = await run(s.requests(), s.connections, c.seconds)
    }
    show(s.name, r)
    const after = await run(bare(), c.connections, c.seconds)
    show('bare', after)
    results.push({
      ...r,
      name: s.name,
      label: s.label,
      connections: s.connections,
      bareRps: (before.rps + after.rps) / 2,
      bareP50: (before.p50 + after.p50) / 2,
      bareP99: (before.p99 + after.p99) / 2,
      ceilingRps,
      referenceRps,
    })
    before = after
  }
  return results
}
