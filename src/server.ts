import { buildApp } from './app.js'
import { ensureAdmin } from './bootstrap.js'
import { startCluster } from './cluster.js'
import { ConfigError, loadConfig } from './config.js'

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(78)
    }
    throw err
  }
  // WORKERS > 1: this process only supervises the workers (src/cluster.ts).
  if (startCluster(config)) return
  const app = await buildApp(config)
  await app.ready()
  const admin = await ensureAdmin(app)
  if (admin === 'created')
    app.log.info({ username: config.adminUsername }, 'created the ADMIN_USERNAME superuser')

  const address = await app.listen({ port: config.port, host: config.host })
  const base = address.replace('://0.0.0.0', '://127.0.0.1')
  app.log.info(
    {
      database: app.database.kind,
      revocationStore: app.revocationStore.kind,
      docs: `${base}/api/v1/schema/swagger-ui/`,
      redoc: `${base}/api/v1/schema/redoc/`,
    },
    `auth service listening on ${base}`,
  )
  if (app.database.kind === 'pglite' || app.revocationStore.kind === 'memory') {
    app.log.info(
      `embedded defaults in use (${app.database.kind}, ${app.revocationStore.kind} revocation store, data in ${config.dataDir}); set DATABASE_URL and REDIS_URL for production`,
    )
  }
  if (admin !== 'exists' && !(await app.repos.users.list({ limit: 1, offset: 0 })).count) {
    app.log.info(
      'no users yet: create one with `npm run cli -- create-user --username admin --email admin@example.com --password <password> --staff --superuser`, or start with ADMIN_USERNAME and ADMIN_PASSWORD set',
    )
  }

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => process.exit(1), 10_000)
    timer.unref()
    await app.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
