import type { Config } from '../config.js'
import { MemoryRevocationStore } from './memory-store.js'
import { RedisRevocationStore } from './redis-store.js'
import type { RevocationStore } from './store.js'

/**
 * The configured revocation store, connected: Redis when REDIS_URL is set (shared by every
 * instance), else the in-process map. The server and the CLI open it the same way. Rejects with
 * StoreUnavailableError when Redis cannot be reached within a few seconds.
 */
export async function openStore(
  config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'redisCommandTimeoutMs'>,
): Promise<RevocationStore> {
  if (!config.redisUrl) return new MemoryRevocationStore()
  const store = new RedisRevocationStore(config.redisUrl, {
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
