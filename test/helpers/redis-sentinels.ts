import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort } from './private-servers.js'
import { ask, redisProcesses, until } from './redis-probe.js'

/**
 * A Redis master, one replica and three Sentinels (quorum 2) of a test's own, each a redis-server
 * on a free port keeping nothing on disk, stopped by its pid when the test ends. The Sentinels
 * judge a master down after 1 s, so a failover takes a few seconds.
 */
export interface PrivateSentinels {
  master: string
  sentinels: { host: string; port: number }[]
  /** The service's environment for this set. */
  env: Record<string, string>
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>
  /**
   * SIGSTOPs the replica and cuts its link from the master's side: it hears no more writes.
   * Answers a function that sends SIGCONT.
   */
  pauseReplica(): Promise<() => void>
  /** SIGKILLs the current master; answers its port. */
  killMaster(): Promise<number>
  /** Waits until the Sentinels name a master other than `oldPort`; answers the new port. */
  failedOver(oldPort: number, ms?: number): Promise<number>
}

const MASTER = 'authjwt-test'
export async function privateSentinels(t: Test): Promise<PrivateSentinels> {
  const { dir, children, start } = redisProcesses(t, 'sentinel')
  // --dir: a replica writes the master's snapshot to its folder on a full sync.
  const plain = (port: number) => [
    ...['--port', String(port), '--bind', '127.0.0.1'],
    ...['--save', '', '--appendonly', 'no', '--dir', dir],
  ]

  const masterPort = await freePort()
  await start(masterPort, plain(masterPort))
  const replicaPort = await freePort()
  await start(replicaPort, [...plain(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)])
  await until('the replica in sync', async () =>
    (await ask(replicaPort, (r) => r.info('replication'))).includes('master_link_status:up')
      ? true
      : undefined,
  )
  const sentinels: { host: string; port: number }[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${MASTER} 1000`,
        `sentinel failover-timeout ${MASTER} 10000`,
        `sentinel parallel-syncs ${MASTER} 1`,
        '',
      ].join('\n'),
    )
    await start(port, [conf, '--sentinel'])
    sentinels.push({ host: '127.0.0.1', port })
  }
  // A failover needs each Sentinel to know the replica and the two other Sentinels.
  for (const s of sentinels) {
    await until('the Sentinels to know each other and the replica', async () => {
      const peers = (await ask(s.port, (r) => r.call('SENTINEL', 'SENTINELS', MASTER))) as unknown[]
      const replicas = (await ask(s.port, (r) => r.call('SENTINEL', 'REPLICAS', MASTER))) as unknown[]
      return peers.length >= 2 && replicas.length >= 1 ? true : undefined
    })
  }

  const current = async () => {
    const [, port] = (await ask(sentinels[0]!.port, (r) =>
      r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER),
    )) as [string, string]
    return Number(port)
  }
  return {
    master: MASTER,
    sentinels,
    env: {
      REDIS_SENTINELS: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_SENTINEL_MASTER: MASTER,
    },
    masterPort: current,
    async pauseReplica() {
      const master = await current()
      const replica = children.get(master === masterPort ? replicaPort : masterPort)!
      replica.kill('SIGSTOP')
      // Data the master already sent would still reach it from its socket when it resumes.
      await ask(master, (r) => r.call('CLIENT', 'KILL', 'TYPE', 'replica'))
      return () => replica.kill('SIGCONT')
    },
    async killMaster() {
      const port = await current()
      const child = children.get(port)!
      child.kill('SIGKILL')
      await once(child, 'exit')
      return port
    },
    failedOver: (oldPort, ms = 30_000) =>
      until(
        'a failover',
        async () => {
          const port = await current()
          return port !== oldPort ? port : undefined
        },
        ms,
      ),
  }
}
