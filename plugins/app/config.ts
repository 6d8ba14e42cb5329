import fp from 'fastify-plugin'
import type { Config } from '../../src/config/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated environment, every section (src/config/). */
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
