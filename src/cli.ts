import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Command, CommandError, commands, type Values } from './cli/commands.js'
import { PasswordInputError, passwordFor } from './cli/password-input.js'
import { ControlFolderError, controlSocketPath, runCommand, sendCommand } from './cli/control.js'
import { type Config, ConfigError, loadConfig } from './config.js'
import { type Database, openDatabase } from './database/database.js'
import { FolderInUseError } from './database/embedded-lock.js'
import { safeError } from './log.js'
import { PasswordHasher } from './accounts/passwords.js'
import { createRepositories } from './repositories.js'
import { RevocationService } from './revocation/service.js'
import { openStore } from './revocation/open-store.js'
import { usesRedis } from './config/redis.js'
import { databaseStartError, redisStartError } from './startup-errors.js'
import type { RevocationStore } from './revocation/store.js'

/**
 * `npm run cli -- <command>`: the operator commands of src/cli/commands.ts, on the same
 * configuration (the environment) as the server. Exit codes: 0 done, 1 the command failed,
 * 2 wrong usage, 78 bad configuration.
 */

function mainHelp(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length))
  return [
    'Usage: npm run cli -- <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `npm run cli -- <command> --help` for the options of one command.',
    'Configuration comes from the environment, as for the server (DATABASE_URL, REDIS_URL, DATA_DIR, ...).',
  ].join('\n')
}

function commandHelp(name: string, command: Command): string {
  const entries = Object.entries(command.options)
  const width = Math.max(4, ...entries.map(([o, s]) => o.length + (s.type === 'string' ? 8 : 0)))
  const lines = entries.map(([o, s]) => {
    const flag = s.type === 'string' ? `${o} <value>` : o
    return `  --${flag.padEnd(width)}  ${s.help}${s.required ? ' (required)' : ''}`
  })
  return [
    `Usage: npm run cli -- ${command.usage}`,
    '',
    `${name}: ${command.summary}.`,
    '',
    'Options:',
    ...lines,
    `  --${'help'.padEnd(width)}  show this help`,
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    console.error(mainHelp())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp())
    return 0
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) {
    console.error(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}.`)
    console.error('Run `npm run cli -- --help` for usage.')
    return 2
  }

  let values: Values
  try {
    const options = Object.fromEntries(Object.entries(command.options).map(([o, s]) => [o, { type: s.type }]))
    ;({ values } = parseArgs({
      args: rest,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    if (!String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw err
    // A stray value could be a password: name the problem, never echo the value.
    const message =
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
        ? 'unexpected argument; every value must follow its --option.'
        : (err as Error).message.split('. ')[0]
    console.error(`${name}: ${message}`)
    console.error(`Run \`npm run cli -- ${name} --help\` for usage.`)
    return 2
  }
  if (values.help) {
    console.log(commandHelp(name, command))
    return 0
  }
  const missing = Object.entries(command.options)
    .filter(([o, s]) => s.required && (values[o] === undefined || values[o] === ''))
    .map(([o]) => `--${o}`)
  if (missing.length) {
    console.error(`${name}: missing ${missing.join(', ')}. Usage: npm run cli -- ${command.usage}`)
    return 2
  }

  let config: Config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      return 78
    }
    throw err
  }
  if (Object.hasOwn(command.options, 'password-stdin')) {
    try {
      values.password = await passwordFor(name, values)
    } catch (err) {
      if (!(err instanceof PasswordInputError)) throw err
      console.error(err.message)
      return 2
    }
  }
  return execute(name, values, config)
}

/**
 * Runs the command through the running server when it holds an embedded backend (so the write
 * lands where it reads), else on connections of our own to the configured backends.
 */
async function execute(name: string, values: Values, config: Config): Promise<number> {
  const out = { print: (line: string) => console.log(line), error: (line: string) => console.error(line) }
  if (!config.databaseUrl || !usesRedis(config)) {
    const exit = await sendCommand(controlSocketPath(config.dataDir), name, values, out).catch(
      (err: Error) => {
        if (err instanceof ControlFolderError) {
          out.error(
            `${name}: ${err.message}, so nothing was sent there (someone else could be listening): ` +
              `${err.remedy}.`,
          )
        } else out.error(`${name}: the running server stopped answering (${err.message}); check its log.`)
        return 1
      },
    )
    if (exit !== undefined) return exit
  }
  let local: Awaited<ReturnType<typeof openLocal>>
  try {
    local = await openLocal(config)
  } catch (err) {
    if (err instanceof FolderInUseError) {
      out.error(
        `${name}: ${err.message} It does not answer on ${controlSocketPath(config.dataDir)}: ` +
          'stop that process, then run the command again. Nothing was changed.',
      )
      return 1
    }
    out.error(`${name}: ${safeError(err).message}`)
    return 1
  }
  try {
    return await runCommand(name, values, local.context, (message) => {
      if ('out' in message) out.print(message.out)
      if ('err' in message) out.error(message.err)
    })
  } finally {
    await local.close()
  }
}

/** The configured database (migrated) and store, opened by this process. */
async function openLocal(config: Config) {
  let database: Database
  try {
    database = await openDatabase({
      url: config.databaseUrl,
      embeddedDir: join(config.dataDir, 'pglite'),
      poolSize: 2,
      queryTimeoutMs: config.dbQueryTimeoutMs,
      connectTimeoutMs: config.dbConnectTimeoutMs,
      pooler: config.dbPooler,
    })
    await database.migrate()
  } catch (err) {
    if (err instanceof FolderInUseError) throw err
    // The sentence names host and port, never the URL (which may hold a password).
    if (config.databaseUrl) throw new CommandError(databaseStartError(err, config.databaseUrl).message)
    throw new CommandError(`Cannot open the database: ${safeError(err).message}`)
  }
  let store: RevocationStore
  try {
    store = await openStore(config)
  } catch (err) {
    await database.close()
    throw new CommandError(redisStartError(err, config).message)
  }
  const repos = createRepositories(database.db)
  return {
    context: {
      config,
      repos,
      hasher: new PasswordHasher(config.argon2, undefined, config.legacyPasswordHashes),
      revocations: new RevocationService({ db: database.db, repos, store, config }),
      store,
      where: database.kind === 'postgres' ? 'PostgreSQL' : 'embedded PGlite',
      inServer: false,
      progress: process.stderr.isTTY ? progressBar(Date.now()) : undefined,
    },
    async close() {
      await store.close()
      await database.close()
    },
  }
}

/** A bar redrawn in place on the terminal, with the rate so far; ends its line when done. */
function progressBar(startedMs: number) {
  return (done: number, total: number) => {
    const width = 30
    const filled = total > 0 ? Math.round((done / total) * width) : width
    const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000)
    const rate = Math.round(done / seconds).toLocaleString('en')
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} rows, ${rate} rows/s`
    process.stderr.write(`\r${line}${done >= total ? '\n' : ''}`)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error(safeError(err).message)
    process.exitCode = 1
  },
)
