import fp from 'fastify-plugin'
import type { Config } from '../../src/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated environment (src/config.ts). */
    config: Config
  }
}

/** The configuration, for every plugin and route that depends on 'config'. */
export default fp<{ config: Config }>(
  async (app, opts) => {
    app.decorate('config', opts.config)
  },
  { name: 'config' },
)
