import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freePort } from './private-servers.js'
import { ask, redisProcesses, until } from './redis-probe.js'

/**
 * A Redis Cluster of a test's own: six redis-servers on free ports (three masters, three
 * replicas, made with `redis-cli --cluster create`), keeping nothing on disk but their node
 * files, stopped by their pids when the test ends. A node is judged down after 1 s.
 */
export interface PrivateCluster {
  ports: number[]
  /** The service's environment for this cluster. */
  env: Record<string, string>
  /** The masters' ports, as the cluster sees them now. */
  masters(): Promise<number[]>
  /**
   * SIGSTOPs the replica of the master serving `slot` and cuts its link: it hears no more writes.
   * Answers a function that sends SIGCONT.
   */
  pauseReplicaOf(slot: number): Promise<() => void>
  /** SIGKILLs the master serving `slot`; answers its port. */
  killMasterOf(slot: number): Promise<number>
  /** Waits until a master other than `oldPort` serves `slot`, and the cluster is whole; its port. */
  failedOver(slot: number, oldPort: number, ms?: number): Promise<number>
}

/** Which nodes serve each slot range (master first, then replicas), from CLUSTER SLOTS on a live node. */
async function slotRanges(ports: number[], alive: Set<number>): Promise<[number, number, number[]][]> {
  for (const port of ports) {
    if (!alive.has(port)) continue
    const slots = await ask(port, (r) => r.call('CLUSTER', 'SLOTS')).catch(() => undefined)
    if (!slots) continue
    return (slots as [number, number, ...[string, number][]][]).map(([from, to, ...nodes]) => [
      from,
      to,
      nodes.map(([, p]) => p),
    ])
  }
  throw new Error('no cluster node answers')
}

export async function privateCluster(t: Test): Promise<PrivateCluster> {
  const { dir, children, start } = redisProcesses(t, 'cluster')
  const ports: number[] = []
  for (let i = 0; i < 6; i++) ports.push(await freePort())
  for (const port of ports) {
    const args = [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--save', '', '--appendonly', 'no'],
      ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      // A replica may take over however long ago it last heard from its master: the test's
      // replicas are new, and Redis would otherwise refuse a failover as too stale.
      ...['--cluster-node-timeout', '1000', '--cluster-replica-validity-factor', '0'],
    ]
    await start(port, args)
  }
  await promisify(execFile)('redis-cli', [
    '--cluster',
    'create',
    ...ports.map((p) => `127.0.0.1:${p}`),
    ...['--cluster-replicas', '1', '--cluster-yes'],
  ])
  const alive = () =>
    new Set([...children].filter(([, c]) => c.exitCode === null && !c.signalCode).map(([p]) => p))
  const whole = async () => {
    for (const port of alive()) {
      const info = await ask(port, (r) => r.call('CLUSTER', 'INFO'))
      if (!String(info).includes('cluster_state:ok')) return undefined
    }
    return true
  }
  await until('the cluster to be whole', whole)
  await until('every replica in sync', async () => {
    for (const port of ports) {
      const info = await ask(port, (r) => r.info('replication'))
      if (info.includes('role:slave') && !info.includes('master_link_status:up')) return undefined
    }
    return true
  })
  const nodesOf = async (slot: number) => {
    const ranges = await slotRanges(ports, alive())
    return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2] ?? []
  }
  const masterOf = async (slot: number) => (await nodesOf(slot))[0]
  return {
    ports,
    env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') },
    masters: async () => [...new Set((await slotRanges(ports, alive())).map(([, , [p]]) => p!))],
    async pauseReplicaOf(slot) {
      // A new cluster lists a slot's replica only once gossip has spread it.
      const [master, replicaPort] = await until("the slot's replica to be listed", async () => {
        const nodes = await nodesOf(slot)
        return nodes.length > 1 ? nodes : undefined
      })
      const replica = children.get(replicaPort!)!
      replica.kill('SIGSTOP')
      // Data the master already sent would still reach it from its socket when it resumes: cut
      // the link from the master's side, so later writes stay in the master's backlog alone.
      await ask(master!, (r) => r.call('CLIENT', 'KILL', 'TYPE', 'replica'))
      return () => replica.kill('SIGCONT')
    },
    async killMasterOf(slot) {
      const port = (await masterOf(slot))!
      const child = children.get(port)!
      child.kill('SIGKILL')
      await once(child, 'exit')
      return port
    },
    failedOver: (slot, oldPort, ms = 30_000) =>
      until(
        'a failover',
        async () => {
          const port = await masterOf(slot)
          return port !== undefined && port !== oldPort && (await whole()) ? port : undefined
        },
        ms,
      ),
  }
}
