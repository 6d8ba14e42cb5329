import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from './config.js'
import { type Database, openDatabase } from './db.js'
import { PasswordHasher } from './passwords.js'
import { createRepositories, DuplicateError } from './repositories/index.js'
import { RevocationService } from './services/revocation-service.js'
import { MemoryRevocationStore } from './stores/memory-store.js'
import { RedisRevocationStore } from './stores/redis-store.js'
import type { RevocationStore } from './stores/revocation-store.js'

/**
 * Operator commands. They build the services without Fastify, on the same configuration (the
 * environment) as the server, so they act on the same database and revocation store.
 * Exit codes: 0 done, 1 the command failed, 2 wrong usage, 78 bad configuration.
 */

type OptionSpec = { type: 'string' | 'boolean'; short?: string; help: string; required?: boolean }

interface Command {
  summary: string
  usage: string
  options: Record<string, OptionSpec>
  run(values: Record<string, string | boolean | undefined>, config: Config): Promise<void>
}

class UsageError extends Error {}
class CommandError extends Error {}

const commands: Record<string, Command> = {
  migrate: {
    summary: 'apply the database migrations (the server also applies them at start)',
    usage: 'migrate',
    options: {},
    async run(_values, config) {
      await withDatabase(config, async (database) => {
        console.log(`Migrations applied (${describe(database)}).`)
      })
    },
  },

  'create-user': {
    summary: 'create a user; creates the client (tenant) named by --client if needed',
    usage: 'create-user --username U --email E --password P [--staff] [--superuser] [--client NAME]',
    options: {
      username: { type: 'string', help: 'login name (unique)', required: true },
      email: { type: 'string', help: 'e-mail address (unique, case-insensitively)', required: true },
      password: { type: 'string', help: 'initial password; stored as an argon2id hash', required: true },
      staff: {
        type: 'boolean',
        help: 'may manage users and sessions (of their client only, unless superuser)',
      },
      superuser: { type: 'boolean', help: 'may do everything, including invalidating all tokens' },
      client: { type: 'string', help: 'name of the client (tenant) the user belongs to' },
      'first-name': { type: 'string', help: 'first name' },
      'last-name': { type: 'string', help: 'last name' },
    },
    async run(values, config) {
      const username = String(values.username).trim()
      const email = String(values.email).trim()
      const password = String(values.password)
      if (!username) throw new UsageError('--username may not be blank.')
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError('--email must be an e-mail address.')
      if (!password) throw new UsageError('--password may not be blank.')

      await withDatabase(config, async (database) => {
        const repos = createRepositories(database.db)
        const hasher = new PasswordHasher(config.argon2)
        const clientName = typeof values.client === 'string' ? values.client.trim() : ''
        const client = clientName ? await repos.clients.findOrCreate(clientName) : undefined
        try {
          const user = await repos.users.create({
            username,
            email,
            passwordHash: await hasher.hash(password),
            firstName: typeof values['first-name'] === 'string' ? values['first-name'] : '',
            lastName: typeof values['last-name'] === 'string' ? values['last-name'] : '',
            // A superuser is staff too, as Django's createsuperuser makes them.
            isStaff: values.staff === true || values.superuser === true,
            isSuperuser: values.superuser === true,
            clientId: client?.id ?? null,
          })
          const roles = [user.isSuperuser && 'superuser', user.isStaff && 'staff'].filter(Boolean)
          console.log(
            `Created user "${user.username}" (id ${user.id}${roles.length ? `, ${roles.join(', ')}` : ''}${
              client ? `, client "${client.name}"` : ''
            }).`,
          )
        } catch (err) {
          if (err instanceof DuplicateError) {
            throw new CommandError(`A user with that ${err.field} already exists; nothing was created.`)
          }
          throw err
        }
      })
    },
  },

  'invalidate-all-tokens': {
    summary: 'stop every access and refresh token issued until now, for every user',
    usage: 'invalidate-all-tokens --confirm',
    options: {
      confirm: { type: 'boolean', help: 'required: says you mean it (every user must log in again)' },
    },
    async run(values, config) {
      if (values.confirm !== true) {
        throw new UsageError(
          'This logs out every user of every client. Run it again with --confirm to proceed; nothing was changed.',
        )
      }
      await withDatabase(config, async (database) => {
        const store = await openStore(config)
        try {
          const revocations = new RevocationService(createRepositories(database.db), store, config)
          const revoked = await revocations.invalidateAll('invalidate_all_cli')
          console.log(`All tokens issued until now are invalid; ${revoked} active session(s) revoked.`)
          if (store.kind === 'redis') {
            console.log('Written to Redis: every running instance rejects the old tokens from now on.')
          } else {
            console.log(
              'No REDIS_URL: the mark is in the database only. A running server with the in-process store ' +
                'reads it at start, so restart it for the invalidation to take effect.',
            )
          }
        } finally {
          await store.close()
        }
      })
    },
  },

  'flush-expired': {
    summary: 'delete sessions whose lifetime has ended (their tokens are dead by their own expiry)',
    usage: 'flush-expired',
    options: {},
    async run(_values, config) {
      await withDatabase(config, async (database) => {
        const deleted = await createRepositories(database.db).sessions.deleteExpired(new Date())
        console.log(`Deleted ${deleted} expired session(s).`)
      })
    },
  },
}

function describe(database: Database): string {
  return database.kind === 'postgres' ? 'PostgreSQL' : 'embedded PGlite'
}

/** Opens the configured database with the schema current (migrations are idempotent and locked). */
async function withDatabase(config: Config, fn: (database: Database) => Promise<void>): Promise<void> {
  let database: Database
  try {
    database = await openDatabase({
      url: config.databaseUrl,
      embeddedDir: join(config.dataDir, 'pglite'),
      poolSize: 2,
    })
    await database.migrate()
  } catch (err) {
    // The error names host and port, never the URL (which may hold a password).
    throw new CommandError(`Cannot open the database: ${(err as Error).message}`)
  }
  try {
    await fn(database)
  } finally {
    await database.close()
  }
}

async function openStore(config: Config): Promise<RevocationStore> {
  if (!config.redisUrl) return new MemoryRevocationStore()
  const store = new RedisRevocationStore(config.redisUrl, { prefix: config.redisPrefix })
  try {
    await store.connect()
  } catch (err) {
    await store.close()
    const cause = (err as Error).cause as Error | undefined
    throw new CommandError(`Cannot reach Redis (REDIS_URL): ${cause?.message ?? (err as Error).message}`)
  }
  return store
}

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

  let values: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(
      Object.entries(command.options).map(([o, s]) => [
        o,
        s.short ? { type: s.type, short: s.short } : { type: s.type },
      ]),
    )
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

  try {
    await command.run(values, config)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${name}: ${err.message}`)
      return 2
    }
    if (err instanceof CommandError) {
      console.error(`${name}: ${err.message}`)
      return 1
    }
    console.error(`${name} failed:`, err)
    return 1
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    console.error(err)
    process.exitCode = 1
  },
)
