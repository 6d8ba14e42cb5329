import fp from 'fastify-plugin'
import { MemoryRevocationStore } from '../src/revocation/memory-store.js'
import { RedisRevocationStore } from '../src/revocation/redis-store.js'
import type { RevocationStore } from '../src/revocation/store.js'
import './types.js'

export interface StorePluginOptions {
  store?: RevocationStore
}

/** ioredis when REDIS_URL is set, an in-process map with TTLs otherwise. */
export default fp<StorePluginOptions>(
  async (app, opts) => {
    let store = opts.store
    if (!store) {
      if (app.config.redisUrl) {
        const redis = new RedisRevocationStore(app.config.redisUrl, {
          prefix: app.config.redisPrefix,
          commandTimeoutMs: app.config.redisCommandTimeoutMs,
        })
        await redis.connect()
        store = redis
      } else {
        store = new MemoryRevocationStore()
      }
      const owned = store
      app.addHook('onClose', () => owned.close())
    }
    app.decorate('revocationStore', store)
  },
  { name: 'revocation-store', dependencies: ['config'] },
)
