import type { Config } from '../config.js'
import { MemoryRevocationStore } from './memory-store.js'
import { RedisRevocationStore } from './redis-store.js'
import { redisConnection } from './redis-target.js'
import type { RevocationStore } from './store.js'

/**
 * The configured revocation store, connected: Redis when REDIS_URL or REDIS_SENTINELS is set (shared by every
 * instance), else the in-process map. The server and the CLI open it the same way. Rejects with
 * StoreUnavailableError when Redis cannot be reached within a few seconds.
 */
export async function openStore(
  config: Pick<
    Config,
    | 'redisUrl'
    | 'redisSentinels'
    | 'redisSentinelMaster'
    | 'redisSentinelPassword'
    | 'redisPrefix'
    | 'redisCommandTimeoutMs'
  >,
): Promise<RevocationStore> {
  const target = redisConnection(config)
  if (!target) return new MemoryRevocationStore()
  const store = new RedisRevocationStore(target, {
    prefix: config.redisPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  })
  try {
    await store.connect()
  } catch (err) {
    await store.close()
    throw err
  }
  return store
}
