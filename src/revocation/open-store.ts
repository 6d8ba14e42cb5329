import type { RedisConfig } from '../config/redis.js'
import { MemoryRevocationStore } from './memory-store.js'
import { RedisRevocationStore } from './redis-store.js'
import { ClusterRevocationStore } from './cluster-store.js'
import { clusterConnection, redisConnection } from './redis-target.js'
import type { RevocationStore } from './store.js'

/**
 * The configured revocation store, connected: Redis when REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES is set (shared by every
 * instance), else the in-process map. The server and the CLI open it the same way. Rejects with
 * StoreUnavailableError when Redis cannot be reached within a few seconds.
 */
export async function openStore(config: RedisConfig): Promise<RevocationStore> {
  const options = { prefix: config.redisPrefix, commandTimeoutMs: config.redisCommandTimeoutMs }
  const cluster = clusterConnection(config)
  const target = redisConnection(config)
  if (!cluster && !target) return new MemoryRevocationStore()
  const store = cluster
    ? new ClusterRevocationStore(cluster.nodes, { ...options, redisOptions: cluster.redisOptions })
    : new RedisRevocationStore(target!, options)
  try {
    await store.connect()
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}
