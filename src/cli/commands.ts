import type { Config } from '../config.js'
import type { PasswordHasher } from '../accounts/passwords.js'
import { createUser, TakenError } from '../accounts/create-user.js'
import type { Repositories } from '../database/repositories.js'
import { FieldErrors } from '../http/errors.js'
import type { RevocationService } from '../revocation/service.js'
import type { RevocationStore } from '../revocation/store.js'

/**
 * Operator commands. Each runs against a context: the CLI's own connections to the configured
 * database and store, or, while a server holds the embedded ones, that server's (src/cli/control.ts).
 * Either way the same code writes, so a command reports success only for what was written where
 * the server reads it.
 */
export interface CommandContext {
  config: Config
  repos: Repositories
  revocations: RevocationService
  hasher: PasswordHasher
  store: RevocationStore
  /** Where the command ran, for its report: "PostgreSQL", "embedded PGlite, through the running server". */
  where: string
  /** True inside the running server: the revocation store written is the one it reads. */
  inServer: boolean
  print(line: string): void
}

export type Values = Record<string, string | boolean | undefined>
type OptionSpec = { type: 'string' | 'boolean'; help: string; required?: boolean }

export interface Command {
  summary: string
  usage: string
  options: Record<string, OptionSpec>
  run(values: Values, ctx: CommandContext): Promise<void>
}

/** Wrong usage: exit 2, nothing done. */
export class UsageError extends Error {}
/** The command could not do its work: exit 1. */
export class CommandError extends Error {}

export const commands: Record<string, Command> = {
  migrate: {
    summary: 'apply the database migrations (the server also applies them at start)',
    usage: 'migrate',
    options: {},
    async run(_values, ctx) {
      ctx.print(`Migrations applied (${ctx.where}).`)
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
    async run(values, ctx) {
      const clientName = typeof values.client === 'string' ? values.client.trim() : ''
      const client = clientName ? await ctx.repos.clients.findOrCreate(clientName) : undefined
      try {
        const user = await createUser(ctx, {
          username: String(values.username),
          email: String(values.email),
          password: String(values.password),
          firstName: typeof values['first-name'] === 'string' ? values['first-name'] : undefined,
          lastName: typeof values['last-name'] === 'string' ? values['last-name'] : undefined,
          // A superuser is staff too, as Django's createsuperuser makes them.
          isStaff: values.staff === true || values.superuser === true,
          isSuperuser: values.superuser === true,
          clientId: client?.id ?? null,
        })
        const roles = [user.isSuperuser && 'superuser', user.isStaff && 'staff'].filter(Boolean)
        ctx.print(
          `Created user "${user.username}" (id ${user.id}${roles.length ? `, ${roles.join(', ')}` : ''}${
            client ? `, client "${client.name}"` : ''
          }) in ${ctx.where}.`,
        )
      } catch (err) {
        if (!(err instanceof FieldErrors)) throw err
        const [field, [sentence] = []] = Object.entries(err.fields)[0] ?? []
        const flag = `--${String(field).replace(/_/g, '-')}`
        if (err instanceof TakenError) throw new CommandError(`${sentence} Nothing was created.`)
        throw new UsageError(`${flag}: ${sentence}`)
      }
    },
  },

  'invalidate-all-tokens': {
    summary: 'stop every access and refresh token issued until now, for every user',
    usage: 'invalidate-all-tokens --confirm',
    options: {
      confirm: { type: 'boolean', help: 'required: says you mean it (every user must log in again)' },
    },
    async run(values, ctx) {
      if (values.confirm !== true) {
        throw new UsageError(
          'This logs out every user of every client. Run it again with --confirm to proceed; nothing was changed.',
        )
      }
      const revoked = await ctx.revocations.invalidateAll('invalidate_all_cli')
      ctx.print(`All tokens issued until now are invalid; ${revoked} active session(s) revoked.`)
      if (ctx.inServer) {
        ctx.print('Applied by the running server: it rejects the old tokens from now on.')
      } else if (ctx.store.shared) {
        ctx.print('Written to Redis: every running instance rejects the old tokens from now on.')
      } else {
        ctx.print('No server is running: the mark is in the database, and a server reads it when it starts.')
      }
    },
  },

  'flush-expired': {
    summary: 'delete sessions and token denials whose lifetime has ended (their tokens are dead)',
    usage: 'flush-expired',
    options: {},
    async run(_values, ctx) {
      const now = new Date()
      const sessions = await ctx.repos.sessions.deleteExpired(now)
      const denials = await ctx.repos.deniedTokens.deleteExpired(now)
      ctx.print(`Deleted ${sessions} expired session(s).`)
      ctx.print(`Deleted ${denials} expired token denial(s).`)
    },
  },
}
