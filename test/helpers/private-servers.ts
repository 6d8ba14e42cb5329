import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import type { Test } from 'tap'

/**
 * Servers of a test's own, for tests that stop, pause or empty them: never the shared ones.
 * Each is stopped by its pid when the test ends. Missing binaries fail the test (the machine
 * kinds this project runs on have both), never skip it.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name)
    } catch (err) {
      // Exited since it was listed (a backend ending after a cut): nothing left to pause or resume.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`)
    await sleep(100)
  }
}

export interface PrivateRedis {
  url: string
  pid(): number
  pause(): void
  resume(): void
  /** Kills the server (SIGKILL) and starts an empty one on the same port. */
  restartEmpty(): Promise<void>
  /** FLUSHALL through a connection of its own: the service's connection stays up. */
  flushAll(): Promise<void>
}

/** A redis-server on a free port, keeping nothing on disk. */
export async function privateRedis(t: Test): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    )
    await until('redis-server start', async () => {
      const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      probe.on('error', () => {})
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG'
      } catch {
        return false
      } finally {
        probe.disconnect()
      }
    })
  }
  await start()
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await once(child, 'exit')
  }
  t.teardown(kill)
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: () => child.pid!,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async restartEmpty() {
      await kill()
      await start()
    },
    async flushAll() {
      const client = new Redis({ port })
      await client.flushall()
      client.disconnect()
    },
  }
}

export interface PrivatePostgres {
  url: string
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers. */
  pause(): void
  resume(): void
  /** Terminates every other connection to the database, as a failover or an operator would. */
  terminateConnections(): Promise<number>
  stop(): void
  start(): Promise<void>
}

/**
 * A PostgreSQL cluster of its own (pg_createcluster, trust auth) on a free port, dropped when the
 * test ends.
 */
export async function privatePostgres(t: Test): Promise<PrivatePostgres> {
  const version = execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n').sort().pop()!
  const port = await freePort()
  const name = `authjwt_fault_${port}`
  execFileSync('pg_createcluster', [version, name, '-p', String(port), '--start', '--', '--auth=trust'], {
    stdio: 'ignore',
  })
  t.teardown(() => {
    try {
      signal(pids(), 'SIGCONT')
    } catch {
      // Not running.
    }
    execFileSync('pg_dropcluster', [version, name, '--stop'], { stdio: 'ignore' })
  })
  const dataDir = `/var/lib/postgresql/${version}/${name}`
  const postmaster = () => Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0])
  const pids = () => {
    const main = postmaster()
    const children = execFileSync('pgrep', ['-P', String(main)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
    return [main, ...children]
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const admin = () => postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  const ready = () =>
    until('PostgreSQL start', async () => {
      const sql = admin()
      try {
        await sql`select 1`
        return true
      } catch {
        return false
      } finally {
        await sql.end({ timeout: 1 })
      }
    })
  await ready()
  return {
    url,
    pause: () => signal(pids(), 'SIGSTOP'),
    resume: () => signal(pids(), 'SIGCONT'),
    async terminateConnections() {
      const sql = admin()
      try {
        const [row] = await sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where pid <> pg_backend_pid() and datname = 'postgres'`
        return row!.n as number
      } finally {
        await sql.end({ timeout: 1 })
      }
    },
    stop: () =>
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'stop', '-m', 'immediate'], {
        stdio: 'ignore',
      }),
    async start() {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start'], {
        stdio: 'ignore',
      })
      await ready()
    },
  }
}

export interface PrivatePgBouncer {
  /** postgres://postgres@127.0.0.1:port/postgres, through the pooler; any database name works. */
  url: string
}

/**
 * Debian's PgBouncer in transaction mode on a free port, in front of `server` (every database on
 * it), as the README's example configures it; killed when the test ends. PgBouncer refuses to run
 * as root, so it runs as the postgres user.
 */
export async function privatePgBouncer(t: Test, server: { url: string }): Promise<PrivatePgBouncer> {
  const port = await freePort()
  const target = new URL(server.url)
  const dir = mkdtempSync(join(tmpdir(), 'authjwt-pgbouncer-'))
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n')
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=127.0.0.1 port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 1000',
      'default_pool_size = 20',
      // A log of its own: it writes a line per connection, which would fill a pipe nobody reads.
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  )
  execFileSync('chown', ['-R', `${uid}:${gid}`, dir])
  const child = spawn('pgbouncer', ['--quiet', join(dir, 'pgbouncer.ini')], { uid, gid, stdio: 'ignore' })
  const log = () => {
    try {
      return readFileSync(join(dir, 'pgbouncer.log'), 'utf8').slice(-2000)
    } catch {
      return ''
    }
  }
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  await until('PgBouncer start', async () => {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${log()}`)
    const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2, prepare: false })
    try {
      await sql`select 1`
      return true
    } catch {
      return false
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
  return { url }
}
