import fp from 'fastify-plugin'
import { join } from 'node:path'
import { type Database, openDatabase } from '../../src/database/database.js'
import { databaseStartError } from '../../src/startup-errors.js'
import { createRepositories, type Repositories } from '../../src/repositories.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    /** Every table's repository (src/accounts/repositories.ts). */
    repos: Repositories
  }
}

export interface DatabasePluginOptions {
  /** An already-open database (tests, the CLI); otherwise one is opened from the config. */
  database?: Database
  migrate?: boolean
}

/** Drizzle over postgres.js when DATABASE_URL is set, PGlite in the data folder otherwise. */
export default fp<DatabasePluginOptions>(
  async (app, opts) => {
    const { config } = app
    let database = opts.database
    try {
      database ??= await openDatabase({
        url: config.databaseUrl,
        embeddedDir: join(config.dataDir, 'pglite'),
        poolSize: config.dbPoolSize,
        queryTimeoutMs: config.dbQueryTimeoutMs,
        connectTimeoutMs: config.dbConnectTimeoutMs,
        pooler: config.dbPooler,
      })
      if (opts.migrate !== false) await database.migrate()
    } catch (err) {
      if (!opts.database) await database?.close().catch(() => {})
      // PostgreSQL missing, unreachable or refusing us: one sentence naming DATABASE_URL (src/server.ts).
      if (config.databaseUrl) throw databaseStartError(err, config.databaseUrl)
      throw err
    }
    app.decorate('database', database)
    app.decorate('repos', createRepositories(database.db, { recentUserMs: config.userCacheMs }))
    if (!opts.database) app.addHook('onClose', () => database.close())
  },
  { name: 'database', dependencies: ['config'] },
)
