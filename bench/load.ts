import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

export interface LoadResult {
  requests: number
  rps: number
  p50: number
  p99: number
  errors: number
  non2xx: number
  statuses: Record<string, number>
  rssMaxMB: number
  /** Server CPU time (user + system, all its processes) per request, in microseconds. */
  cpuUsPerRequest: number
  /** Share of one core the server used during the run. */
  cpuCores: number
}

/** A run's raw figures, kept so that several short runs can be summed into one result. */
export interface LoadSample {
  latencies: Float64Array
  statuses: Record<string, number>
  errors: number
  non2xx: number
  seconds: number
  rssMax: number
  cpuUs: number
}

export interface LoadOptions {
  url: string
  connections: number
  seconds: number
  /** autocannon request definitions (method, path, headers, body, setupRequest, onResponse). */
  requests: autocannon.Request[]
  /** PIDs whose resident memory is sampled during the run (the server, and its workers). */
  pids: () => number[]
}

/** Resident set size of a process, in MB, from /proc (Linux). */
export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : 0
  } catch {
    return 0
  }
}

const TICK_US = 1e6 / 100 // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used, in microseconds. */
export function cpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_US
  } catch {
    return 0
  }
}

/** The process and its direct children (cluster workers). */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return [pid, ...(children ? children.split(/\s+/).map(Number) : [])]
  } catch {
    return [pid]
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** The figures of one or more runs taken together (login's slices between its ceiling slices). */
export function summarizeLoad(samples: LoadSample[]): LoadResult {
  const n = samples.reduce((sum, s) => sum + s.latencies.length, 0)
  const sorted = new Float64Array(n)
  let at = 0
  const statuses: Record<string, number> = {}
  for (const s of samples) {
    sorted.set(s.latencies, at)
    at += s.latencies.length
    for (const [k, v] of Object.entries(s.statuses)) statuses[k] = (statuses[k] ?? 0) + v
  }
  sorted.sort()
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0)
  const cpu = samples.reduce((sum, s) => sum + s.cpuUs, 0)
  return {
    requests: n,
    rps: n / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
    non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
    statuses,
    rssMaxMB: Math.round(Math.max(...samples.map((s) => s.rssMax))),
    cpuUsPerRequest: n ? cpu / n : 0,
    cpuCores: cpu / 1e6 / seconds,
  }
}

/** One autocannon run, summarised. */
export async function load(o: LoadOptions): Promise<LoadResult> {
  return summarizeLoad([await loadSample(o)])
}

/**
 * One autocannon run. Latencies are kept from autocannon's per-response event at full precision
 * (its own histogram has whole milliseconds, too coarse for a sub-millisecond bare route).
 */
export async function loadSample(o: LoadOptions): Promise<LoadSample> {
  let latencies = new Float64Array(1 << 16)
  let n = 0
  let rssMax = 0
  const sampler = setInterval(() => {
    const total = o.pids().reduce((sum, pid) => sum + rssMB(pid), 0)
    if (total > rssMax) rssMax = total
  }, 200)
  const statuses: Record<string, number> = {}
  const cpuBefore = o.pids().reduce((sum, pid) => sum + cpuUs(pid), 0)
  // Without a callback autocannon returns its tracker, an event emitter that is also a promise.
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    requests: o.requests,
    timeout: 10,
  }) as unknown as Promise<autocannon.Result> & autocannon.Instance
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (n === latencies.length) {
      const bigger = new Float64Array(n * 2)
      bigger.set(latencies)
      latencies = bigger
    }
    latencies[n++] = ms
    statuses[status] = (statuses[status] ?? 0) + 1
  })
  const result = await instance
  clearInterval(sampler)
  const cpu = o.pids().reduce((sum, pid) => sum + cpuUs(pid), 0) - cpuBefore
  return {
    latencies: latencies.subarray(0, n),
    statuses,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    seconds: result.duration || o.seconds,
    rssMax,
    cpuUs: cpu,
  }
}
