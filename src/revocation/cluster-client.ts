import { Cluster, type Redis, type RedisOptions } from 'ioredis'
import { serverStamp } from './redis-scripts.js'
import type { ClusterLayout } from './cluster-layout.js'
import { keys, StoreUnavailableError } from './store.js'
import type { RevocationLookup } from './verdict.js'

export interface ClusterStoreOptions {
  prefix?: string
  commandTimeoutMs?: number
  /** Credentials and TLS for every node (from REDIS_URL). */
  redisOptions?: RedisOptions
}

/** A cluster client as the store and the reader use it (ioredis' Cluster). */
export function openCluster(nodes: { host: string; port: number }[], options: ClusterStoreOptions): Cluster {
  return new Cluster(nodes, {
    enableAutoPipelining: true,
    // Fail closed at once while the cluster is unreachable, instead of queueing requests.
    enableOfflineQueue: false,
    // Replicas lag: every read goes to the master of its slot.
    scaleReads: 'master',
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 1000,
    // Notices a failover within seconds even when no command is redirected.
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
    redisOptions: {
      ...options.redisOptions,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
    },
  })
}

/** Resolves once the cluster is ready, or rejects with StoreUnavailableError. */
export async function clusterReady(client: Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(new StoreUnavailableError(new Error(`Redis Cluster not ready after ${timeoutMs} ms`)))
    }, timeoutMs)
    const onReady = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
}

/**
 * One lookup: an MGET to the user's bucket and one to the token's, sent together. Answers the
 * completeness mark each bucket held (null: gone) with what they say of the token.
 */
export async function readBuckets(
  client: Cluster,
  layout: ClusterLayout,
  jti: string,
  sid: number | undefined,
  userId: number,
): Promise<{ marks: [string | null, string | null]; found: RevocationLookup }> {
  const u = layout.tags[layout.userBucket(userId)]!
  const t = layout.tags[layout.tokenBucket(jti)]!
  const userKeys = [keys.complete(u), keys.global(u), keys.user(u, userId)]
  if (sid !== undefined) userKeys.push(keys.session(u, sid))
  let users: (string | null)[]
  let tokens: (string | null)[]
  try {
    ;[users, tokens] = await Promise.all([
      client.mget(userKeys),
      client.mget(keys.complete(t), keys.jti(t, jti)),
    ])
  } catch (err) {
    throw new StoreUnavailableError(err)
  }
  return {
    marks: [users[0] ?? null, tokens[0] ?? null],
    found: {
      jtiDenied: tokens[1] !== null,
      sessionDenied: sid !== undefined && users[3] !== null,
      user: users[2] ?? null,
      globalValidAfter: users[1] ?? null,
    },
  }
}

/** Each master's clock ("host:port" → stamp), read before the rebuild reads the database. */
export async function masterClocks(
  client: Cluster,
  masters: Set<string | undefined>,
): Promise<Map<string, string>> {
  const clocks = new Map<string, string>()
  await Promise.all(
    client.nodes('master').map(async (node) => {
      const name = `${node.options.host}:${node.options.port}`
      if (masters.has(name)) clocks.set(name, await serverStamp(node))
    }),
  )
  return clocks
}

/** Calls `reconnected` ("host:port") each time a node is ready again after its first time (it may have restarted). */
export function onNodeReconnected(client: Cluster, reconnected: (node: string) => void): void {
  client.on('+node', (node: Redis) => {
    let readies = 0
    node.on('ready', () => {
      readies += 1
      if (readies > 1) reconnected(`${node.options.host}:${node.options.port}`)
    })
  })
}
