import type { Argon2Params } from '../src/config/accounts.js'
import type { Argon2Ceiling } from './argon2.js'
import type { ScenarioName, ScenarioResult } from './scenarios.js'

export interface RunResult {
  index: number
  ceilings: Argon2Ceiling[]
  scenarios: ScenarioResult[]
}

export interface Meta {
  backend: string
  machine: { cpus: number; cpuModel: string; memoryGB: number; node: string; os: string }
  options: Record<string, unknown>
  argon2: Argon2Params
  date: string
}

export interface Row {
  name: ScenarioName
  label: string
  connections: number
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  ratio: number
  p50Ratio: number
  p99Ratio: number
  rssMaxMB: number
}

export interface Target {
  what: string
  goal: string
  measured: string
  met: boolean
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const LIBRARY_IN_USE = '@node-rs/argon2'

/** Medians over the runs of each figure; error counts are summed, RSS is the worst seen. */
export function summarize(runs: RunResult[], meta: Meta) {
  const names = runs[0]!.scenarios.map((s) => s.name)
  const rows: Row[] = names.map((name) => {
    const all = runs.map((r) => r.scenarios.find((s) => s.name === name)!)
    return {
      name,
      label: all[0]!.label,
      connections: all[0]!.connections,
      rps: median(all.map((s) => s.rps)),
      p50: median(all.map((s) => s.p50)),
      p99: median(all.map((s) => s.p99)),
      errors: all.reduce((n, s) => n + s.errors, 0),
      non2xx: all.reduce((n, s) => n + s.non2xx, 0),
      ratio: median(all.map((s) => s.rps / s.bareRps)),
      p50Ratio: median(all.map((s) => s.p50 / s.bareP50)),
      p99Ratio: median(all.map((s) => s.p99 / s.bareP99)),
      rssMaxMB: Math.max(...all.map((s) => s.rssMaxMB)),
    }
  })
  const ceilings = ['argon2', '@node-rs/argon2'].map((library) => ({
    library,
    verifiesPerSecond: median(
      runs.map((r) => r.ceilings.find((c) => c.library === library)!.verifiesPerSecond),
    ),
  }))
  // The ceiling measured beside the login scenario (in slices between its own) when there is one.
  const loginCeiling = (r: RunResult) =>
    r.scenarios.find((s) => s.name === 'login')!.ceilingRps ??
    r.ceilings.find((c) => c.library === LIBRARY_IN_USE)!.verifiesPerSecond
  const loginOf = (r: RunResult) => r.scenarios.find((s) => s.name === 'login')!
  const loginShare = median(runs.map((r) => loginOf(r).rps / loginCeiling(r)))
  // The reference login (hash and sign only) measured in slices beside the login's.
  const loginShareOfReference = median(runs.map((r) => loginOf(r).rps / loginOf(r).referenceRps!))
  const referenceRps = median(runs.map((r) => loginOf(r).referenceRps!))
  const ceilingBesideLogin = median(runs.map(loginCeiling))
  const row = (name: ScenarioName) => rows.find((r) => r.name === name)!
  const x = (n: number) => `${n.toFixed(2)}x`
  // Issue 17's targets: protected routes against the bare route, login against the ceiling and the
  // reference, each measured in the same run.
  const targets: Target[] = [
    {
      what: 'verify req/s vs bare',
      goal: '>= 0.45x',
      measured: x(row('verify').ratio),
      met: row('verify').ratio >= 0.45,
    },
    ...(['test-auth', 'users-me'] as const).flatMap((n) => [
      { what: `${n} req/s vs bare`, goal: '>= 0.6x', measured: x(row(n).ratio), met: row(n).ratio >= 0.6 },
      { what: `${n} p99 vs bare`, goal: '<= 4x', measured: x(row(n).p99Ratio), met: row(n).p99Ratio <= 4 },
    ]),
    { what: 'login vs argon2id ceiling', goal: '>= 0.8x', measured: x(loginShare), met: loginShare >= 0.8 },
    {
      what: 'login vs reference (hash and sign only)',
      goal: '>= 0.95x',
      measured: x(loginShareOfReference),
      met: loginShareOfReference >= 0.95,
    },
    ...(['refresh', 'logout'] as const).map((n) => ({
      what: `${n} req/s vs bare`,
      goal: '>= 0.15x',
      measured: x(row(n).ratio),
      met: row(n).ratio >= 0.15,
    })),
    {
      what: 'errors and unexpected statuses',
      goal: '0',
      measured: String(rows.reduce((n, r) => n + r.errors + r.non2xx, 0)),
      met: rows.every((r) => r.errors === 0 && r.non2xx === 0),
    },
    {
      what: 'server RSS under load',
      goal: '< 200 MB',
      measured: `${Math.max(...rows.map((r) => r.rssMaxMB))} MB`,
      met: rows.every((r) => r.rssMaxMB < 200),
    },
  ]
  return {
    ...meta,
    runs: runs.length,
    rows,
    ceilings,
    libraryInUse: LIBRARY_IN_USE,
    ceilingBesideLogin,
    loginShareOfCeiling: loginShare,
    loginShareOfReference,
    referenceRps,
    targets,
    allTargetsMet: targets.every((t) => t.met),
    raw: runs,
  }
}

export type Summary = ReturnType<typeof summarize>

export function renderMarkdown(s: Summary): string {
  const f = (n: number, d = 0) => n.toFixed(d)
  const lines = [
    `# Bench results: ${s.backend}`,
    '',
    `${s.date} · ${s.machine.cpus} cores (${s.machine.cpuModel}) · ${s.machine.memoryGB} GB · Node ${s.machine.node} · ${s.machine.os}`,
    '',
    `Medians of ${s.runs} runs, each scenario measured for ${s.options.seconds} s after a ${s.options.warmup} s warm-up and`,
    'between two runs of the bare route in the same server process. **The load generator, the service,',
    `PostgreSQL and Redis share the same ${s.machine.cpus} cores**: absolute figures are this machine's; the ratios travel.`,
    '',
    '| scenario | conns | req/s | p50 ms | p99 ms | errors | non-2xx | vs bare req/s | vs bare p50 | vs bare p99 | RSS MB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...s.rows.map(
      (r) =>
        `| ${r.label} | ${r.connections} | ${f(r.rps)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ${r.errors} | ${r.non2xx} | ${f(r.ratio, 2)}x | ${f(r.p50Ratio, 2)}x | ${f(r.p99Ratio, 2)}x | ${r.rssMaxMB} |`,
    ),
    '',
    `argon2id ceiling (m=${s.argon2.memoryKiB}, t=${s.argon2.timeCost}, p=${s.argon2.parallelism}, ${String(s.raw[0]?.ceilings[0]?.concurrency)} in flight on libuv's pool):`,
    ...s.ceilings.map(
      (c) => `- ${c.library}: ${f(c.verifiesPerSecond, 1)} verifications/s (before the server starts)`,
    ),
    `- in use: ${s.libraryInUse}; measured again in slices between the login slices: ${f(s.ceilingBesideLogin, 1)}/s`,
    `- login throughput is ${f(s.loginShareOfCeiling * 100)}% of that ceiling (median of the runs' shares)`,
    `- the reference login (bench/reference-login.ts: same HTTP stack, hasher and keyring, no database or Redis), in slices beside the login's: ${f(s.referenceRps, 1)}/s; login is ${f(s.loginShareOfReference * 100)}% of it`,
    '',
    '| target | goal | measured | |',
    '|---|---|---|---|',
    ...s.targets.map((t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'met' : '**MISSED**'} |`),
    '',
  ]
  return lines.join('\n')
}
