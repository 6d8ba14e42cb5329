import { execFileSync } from 'node:child_process'
import postgres from 'postgres'
import type { Test } from 'tap'
import { freePort } from './private-servers.js'

/**
 * A PostgreSQL primary and a streaming replica of a test's own (pg_createcluster, pg_basebackup),
 * with synchronous replication: a commit is acknowledged once the replica has it. Both dropped
 * when the test ends.
 */
export interface PrimaryAndReplica {
  /** The failover URL: both hosts, target_session_attrs=read-write. */
  url: string
  primaryUrl: string
  replicaUrl: string
  /** Stops the primary as a crash would (pg_ctl stop -m immediate). */
  crashPrimary(): void
  /** Makes the primary refuse writes from now on, its connections open: a fenced old primary. */
  fencePrimary(): Promise<void>
  /** Promotes the replica and waits until it accepts writes. */
  promoteReplica(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function query<T>(url: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    return await run(sql)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`)
    await sleep(100)
  }
}

export async function primaryAndReplica(t: Test): Promise<PrimaryAndReplica> {
  const version = execFileSync('ls', ['/etc/postgresql']).toString().trim().split('\n').sort().pop()!
  const [primaryPort, replicaPort] = [await freePort(), await freePort()]
  const primary = `authjwt_primary_${primaryPort}`
  const replica = `authjwt_replica_${replicaPort}`
  const quiet = { stdio: 'ignore' as const }
  const ctl = (name: string, ...args: string[]) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, ...args], quiet)
  t.teardown(() => {
    for (const name of [replica, primary]) {
      try {
        execFileSync('pg_dropcluster', [version, name, '--stop'], quiet)
      } catch {
        // Never created.
      }
    }
  })
  execFileSync(
    'pg_createcluster',
    [version, primary, '-p', String(primaryPort), '--start', '--', '--auth=trust'],
    quiet,
  )
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`
  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`
  await until('primary start', () => query(primaryUrl, async (sql) => (await sql`select 1`).length === 1))

  // The replica: a cluster's configuration, its data replaced by a base backup of the primary.
  execFileSync('pg_createcluster', [version, replica, '-p', String(replicaPort), '--', '--auth=trust'], quiet)
  const dataDir = `/var/lib/postgresql/${version}/${replica}`
  execFileSync('rm', ['-rf', dataDir])
  execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '700', dataDir])
  execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'pg_basebackup',
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      dataDir,
      '-R',
      '-X',
      'stream',
      '--checkpoint=fast',
    ],
    quiet,
  )
  ctl(replica, 'start')
  await until('replica streaming', () =>
    query(
      primaryUrl,
      async (sql) => (await sql`select 1 from pg_stat_replication where state = 'streaming'`).length === 1,
    ),
  )
  await query(primaryUrl, async (sql) => {
    await sql`alter system set synchronous_standby_names = '*'`
    await sql`select pg_reload_conf()`
  })
  await until('synchronous replication', () =>
    query(
      primaryUrl,
      async (sql) => (await sql`select 1 from pg_stat_replication where sync_state = 'sync'`).length === 1,
    ),
  )
  return {
    url: `postgres://postgres@127.0.0.1:${primaryPort},127.0.0.1:${replicaPort}/postgres?target_session_attrs=read-write`,
    primaryUrl,
    replicaUrl,
    crashPrimary: () => ctl(primary, 'stop', '-m', 'immediate'),
    async fencePrimary() {
      await query(primaryUrl, async (sql) => {
        await sql`alter system set default_transaction_read_only = on`
        await sql`select pg_reload_conf()`
      })
    },
    async promoteReplica() {
      ctl(replica, 'promote')
      await until('replica promoted', () =>
        query(replicaUrl, async (sql) => (await sql`select pg_is_in_recovery() as r`)[0]!.r === false),
      )
    },
  }
}
