import cluster, { type Worker } from 'node:cluster'
import type { ServerConfig } from './config/server.js'

function log(message: string): void {
  console.error(JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: message }))
}

/**
 * WORKERS=n runs n server processes sharing one port (node:cluster): one per core is the usual
 * choice (WORKERS=auto). They share nothing in memory, which is why they need the shared
 * backends: PostgreSQL and Redis, where revocations live (loadConfig insists).
 *
 * In the primary process with WORKERS > 1: forks the workers, replaces any that dies, and on
 * SIGTERM/SIGINT asks every worker to shut down gracefully, then exits. Returns false when this
 * process should serve requests itself (a worker, or WORKERS=1).
 */
export function startCluster(config: Pick<ServerConfig, 'workers'>): boolean {
  if (!cluster.isPrimary) return false
  const { workers } = config
  if (workers <= 1) return false
  let stopping = false
  const started = new Map<number, number>()
  let quickDeaths = 0

  const fork = (): Worker => {
    const worker = cluster.fork()
    started.set(worker.id, Date.now())
    return worker
  }

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker.id) ?? 0)
    started.delete(worker.id)
    if (stopping) {
      if (started.size === 0) process.exit(0)
      return
    }
    // A worker that keeps dying at start (bad configuration, database down) is retried slower.
    quickDeaths = lived < 5000 ? quickDeaths + 1 : 0
    const delay = Math.min(30_000, quickDeaths * 1000)
    log(`worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${delay} ms`)
    setTimeout(() => {
      if (!stopping) fork()
    }, delay).unref()
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log(`${signal}: stopping ${started.size} worker(s)`)
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
    if (started.size === 0) process.exit(0)
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
      process.exit(1)
    }, 15_000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  // The first worker migrates the database and creates the admin alone; the others follow.
  const first = fork()
  first.once('listening', () => {
    for (let i = 1; i < workers; i++) fork()
  })
  log(`primary ${process.pid} starting ${workers} workers`)
  return true
}
