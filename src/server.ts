import { existsSync } from 'node:fs'
import type { Server } from 'node:net'
import { buildApp } from './app.js'
import { ensureAdmin } from './accounts/bootstrap.js'
import { ControlFolderError, controlSocketPath, serveControl } from './cli/control.js'
import { startCluster } from './cluster.js'
import { ConfigError, loadConfig } from './config.js'
import { dataDirOf } from './config/server.js'
import { FolderInUseError } from './database/embedded-lock.js'
import { FolderNotPrivateError, restrictToOwner } from './lib/owner-only.js'
import { safeError } from './log.js'
import { isBackendUnavailable } from './unavailable.js'
import { featuresOff, productionWarnings } from './features.js'
import { EXIT_CODES, listenStartError, StartupError } from './startup-errors.js'

async function main(): Promise<void> {
  // DATA_DIR holds the embedded database, generated keys, mail and the control socket: the
  // server's user's alone. Closed before anything (the configuration's keys first) is read there.
  const dataDir = dataDirOf()
  const opened = restrictToOwner(dataDir, `DATA_DIR ${dataDir}`)
  const fixed =
    opened.files || opened.folders
      ? `DATA_DIR ${dataDir}: ${count(opened.files, 'file')} and ${count(opened.folders, 'folder')} were ` +
        'open to other users; made them owner-only (files 0600, folders 0700)'
      : undefined
  const config = loadConfig()
  // WORKERS > 1: this process only supervises the workers (src/cluster.ts).
  if (startCluster(config)) {
    if (fixed) console.error(JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, msg: fixed }))
    return
  }
  const app = await buildApp(config)
  if (fixed) app.log.warn(fixed)
  // A driver may reject a promise nobody awaits when a backend drops a connection; that costs the
  // requests using it a 503, never the process. Any other stray rejection is a bug: crash loudly.
  process.on('unhandledRejection', (reason) => {
    if (isBackendUnavailable(reason)) {
      app.log.error({ err: reason }, 'a backend connection failed outside any request')
      return
    }
    app.log.fatal({ err: reason }, 'unhandled rejection')
    process.exit(1)
  })
  await app.ready()
  const admin = await ensureAdmin(app, config)
  if (admin === 'created')
    app.log.info({ username: config.adminUsername }, 'created the ADMIN_USERNAME superuser')

  const address = await app.listen({ port: config.port, host: config.host }).catch(async (err: unknown) => {
    const failure = listenStartError(err, config.host, config.port)
    if (!failure) throw err
    await app.close().catch(() => {})
    throw failure
  })
  const base = address.replace('://0.0.0.0', '://127.0.0.1')
  // PORT=0 (a free port) is known only now: the links default to where this server listens.
  if (!process.env.PUBLIC_URL && config.port === 0) config.publicUrl = base
  const storeName = app.revocationStore.shared ? 'redis' : 'in-process'
  app.log.info(
    {
      database: app.database.kind,
      revocationStore: storeName,
      console: `${base}/admin/`,
      docs: `${base}/api/v1/schema/swagger-ui/`,
      redoc: `${base}/api/v1/schema/redoc/`,
    },
    `auth service listening on ${base} (console: ${base}/admin/, API docs: ${base}/api/v1/schema/swagger-ui/)`,
  )
  const off = featuresOff(config)
  if (off.length) app.log.info({ featuresOff: off }, `features off: ${off.join('; ')}`)
  for (const warning of productionWarnings(config)) app.log.warn(warning)

  // On an embedded backend no other process can write what this one reads: operator commands
  // come in through this process (src/cli/control.ts).
  let control: Server | undefined
  if (app.database.kind === 'pglite' || !app.revocationStore.shared) {
    app.log.info(
      `embedded defaults in use (${app.database.kind}, ${storeName} revocation store, data in ${config.dataDir}); set DATABASE_URL and REDIS_URL for production`,
    )
    const where = `${app.database.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}, through the running server`
    const socket = controlSocketPath(config.dataDir)
    let refused = false
    control = await serveControl(
      socket,
      {
        config,
        repos: app.repos,
        revocations: app.revocations,
        hasher: app.hasher,
        store: app.revocationStore,
        where,
        inServer: true,
        keyring: app.keyring,
      },
      (err) => app.log.error({ err }, 'operator command failed'),
    ).catch((err: unknown) => {
      // Someone else's folder: serving there would hand them the commands. This server runs on,
      // without operator commands, and says why.
      if (!(err instanceof ControlFolderError)) throw err
      refused = true
      app.log.error(
        `${err.message}, so this server does not listen on its control socket and operator commands ` +
          `cannot reach it: ${err.remedy}`,
      )
      return undefined
    })
    if (!control && !refused && existsSync(socket)) {
      app.log.warn(
        `another server of this user answers on the control socket ${socket}: operator commands go to it`,
      )
    }
  }
  if (admin !== 'exists' && !(await app.repos.users.list({ limit: 1, offset: 0 })).count) {
    app.log.info(
      // Paste-able as it stands: no placeholder a shell would read as a redirection, and no password
      // on the command line (npm would echo it back); the CLI asks for it, hidden.
      'no users yet: create one with `npm run cli -- create-user --username admin --email admin@example.com --staff --superuser` (it asks for the password, hidden; it works while this server runs), or start with ADMIN_USERNAME and ADMIN_PASSWORD set',
    )
  }

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => process.exit(1), 10_000)
    timer.unref()
    control?.close()
    await app.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

main().catch((err) => {
  // A bad configuration (environment, an ADMIN_USERNAME the rules refuse, a DATA_DIR other users
  // can reach) exits 78, with its sentences and never a secret.
  if (err instanceof ConfigError || err instanceof FolderNotPrivateError) {
    console.error(err.message)
    process.exit(EXIT_CODES.configuration)
  }
  // DATABASE_URL, REDIS_URL, PORT: one sentence and its own exit code (src/startup-errors.ts).
  if (err instanceof StartupError) {
    console.error(err.message)
    process.exit(err.exitCode)
  }
  if (err instanceof FolderInUseError) {
    console.error(`${err.message} Stop it, or set DATA_DIR to another folder.`)
  } else {
    console.error(safeError(err).stack)
  }
  process.exit(1)
})
