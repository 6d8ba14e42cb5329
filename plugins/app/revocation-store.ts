import fp from 'fastify-plugin'
import { openStore } from '../../src/revocation/open-store.js'
import type { RevocationStore } from '../../src/revocation/store.js'
import { redisStartError } from '../../src/startup-errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The deny-list every protected request reads (src/revocation/store.ts). */
    revocationStore: RevocationStore
  }
}

export interface StorePluginOptions {
  /** A store to use instead of the configured one (tests); its owner closes it. */
  store?: RevocationStore
}

/** ioredis when REDIS_URL is set, an in-process map with TTLs otherwise. */
export default fp<StorePluginOptions>(
  async (app, opts) => {
    let store = opts.store
    if (!store) {
      // Unreachable, or refusing us: one sentence naming the variable (src/server.ts).
      const owned = await openStore(app.config).catch((err: unknown) => {
        throw redisStartError(err, app.config)
      })
      app.addHook('onClose', () => owned.close())
      store = owned
    }
    app.decorate('revocationStore', store)
  },
  { name: 'revocation-store', dependencies: ['config'] },
)
