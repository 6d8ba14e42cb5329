import type { Config } from '../config/index.js'
import { keyEncryptionKeyOf } from '../keys/development.js'
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../config/tokens.js'
import { rotateKey } from '../keys/rotate.js'
import { safeError } from '../log.js'
import type { PasswordHasher } from '../accounts/passwords.js'
import { createUser, passwordProblem, TakenError } from '../accounts/create-user.js'
import type { Repositories } from '../repositories.js'
import { FieldErrors } from '../http/errors.js'
import type { RevocationService } from '../revocation/service.js'
import type { RevocationStore } from '../revocation/store.js'
import { hashProblem } from '../django/hash-limits.js'
import { hashFormat, LEGACY_FORMATS } from '../django/hashes.js'
import { type DjangoSource, readDjangoDatabase, readDumpdata, tableName } from '../django/import-source.js'
import { importDjango } from '../django/import-users.js'
import type { AuditEvent } from '../audit/events.js'

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
  /** Inside the running server: its keyring, told at once of a new key. */
  keyring?: { reload(): Promise<void> }
  print(line: string): void
  /** Work done of the total, for a progress bar on a terminal; absent elsewhere. */
  progress?(done: number, total: number): void
}

export type Values = Record<string, string | boolean | undefined>
type OptionSpec = { type: 'string' | 'boolean'; help: string; required?: boolean }

/**
 * The options of a command that takes a new password. Without --password the CLI asks for it,
 * hidden, on a terminal, or reads it from stdin with --password-stdin (src/cli/password-input.ts),
 * before anything is sent: the command itself always receives `password`.
 */
const PASSWORD_OPTIONS: Record<string, OptionSpec> = {
  password: {
    type: 'string',
    help: 'the password (visible in the shell history and process list: prefer being asked, or --password-stdin)',
  },
  'password-stdin': { type: 'boolean', help: 'read the password from the first line of stdin' },
}

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
    usage:
      'create-user --username U --email E [--password-stdin | --password P] [--staff] [--superuser] [--client NAME]',
    options: {
      username: { type: 'string', help: 'login name (unique)', required: true },
      email: { type: 'string', help: 'e-mail address (unique, case-insensitively)', required: true },
      ...PASSWORD_OPTIONS,
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
          // The operator typed the address: it needs no link to prove it.
          emailVerified: true,
        })
        await recordCommand(ctx, {
          type: 'user.created',
          userId: user.id,
          details: { is_staff: user.isStaff, is_superuser: user.isSuperuser, by: 'cli' },
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

  'set-password': {
    summary: "set a user's password (asked for, hidden, when not given); ends every session of theirs",
    usage: 'set-password --username U [--password-stdin | --password P]',
    options: {
      username: { type: 'string', help: 'the username (or e-mail address) of the user', required: true },
      ...PASSWORD_OPTIONS,
    },
    async run(values, ctx) {
      const login = String(values.username)
      const user = await ctx.repos.users.findByLogin(login)
      if (!user) throw new CommandError(`No user "${login.slice(0, 150)}"; nothing was changed.`)
      const problem = passwordProblem(String(values.password ?? ''))
      if (problem) throw new UsageError(`--password: ${problem}`)
      const hash = await ctx.hasher.hash(String(values.password))
      // As a reset: the old password stops working and so does every session it opened.
      const ids = await ctx.revocations.revokeUser(user, 'password_set', {
        alongside: (tx) => ctx.repos.users.setPasswordHash(user.id, hash, tx),
      })
      await recordCommand(ctx, {
        type: 'password.changed',
        userId: user.id,
        details: { revoked_sessions: ids.length, by: 'cli' },
      })
      ctx.print(
        `Password of "${user.username}" (id ${user.id}) set in ${ctx.where}; ${ids.length} session(s) ended.`,
      )
    },
  },

  'list-users': {
    summary: 'list users: id, username, e-mail, roles, client, active',
    usage: 'list-users [--search TEXT] [--client NAME] [--limit N]',
    options: {
      search: { type: 'string', help: 'only users whose username, e-mail or name contains TEXT' },
      client: { type: 'string', help: 'only the users of this client (tenant)' },
      limit: { type: 'string', help: 'at most N users (default 100, up to 10000)' },
    },
    async run(values, ctx) {
      const limit = values.limit === undefined ? 100 : Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new UsageError('--limit: expected a whole number from 1 to 10000')
      }
      let clientId: number | undefined
      if (typeof values.client === 'string') {
        const client = await ctx.repos.clients.findByName(values.client.trim())
        if (!client) throw new CommandError(`No client "${values.client.slice(0, 150)}".`)
        clientId = client.id
      }
      const search = typeof values.search === 'string' ? values.search.trim() || undefined : undefined
      const { count, rows } = await ctx.repos.users.list({ search, clientId, limit, offset: 0 })
      const table = [
        ['id', 'username', 'email', 'roles', 'client', 'active'],
        ...rows.map((u) => [
          String(u.id),
          u.username,
          u.email,
          [u.isSuperuser && 'superuser', u.isStaff && 'staff'].filter(Boolean).join(',') || '-',
          u.clientName ?? '-',
          u.isActive ? 'yes' : 'no',
        ]),
      ]
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
      for (const row of table)
        ctx.print(
          row
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd(),
        )
      ctx.print(
        count > rows.length
          ? `${rows.length} of ${count} users (raise --limit for more).`
          : `${count} user(s).`,
      )
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
      await recordCommand(ctx, {
        type: 'tokens.invalidated_all',
        details: { revoked_sessions: revoked, by: 'cli' },
      })
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

  'rotate-key': {
    summary: 'make a new signing key; the previous ones keep verifying until their last token has expired',
    usage: 'rotate-key [--algorithm HS256|HS384|HS512|RS256|ES256|EdDSA] [--signs-in SECONDS]',
    options: {
      algorithm: { type: 'string', help: 'algorithm of the new key (default: JWT_ALGORITHM)' },
      'signs-in': {
        type: 'string',
        help: 'signs after this many seconds (default: twice KEYS_POLL_SECONDS, so every instance, which reads the key set every KEYS_POLL_SECONDS, knows it first)',
      },
    },
    async run(values, ctx) {
      const alg = (values.algorithm ?? ctx.config.jwtAlgorithm) as JwtAlgorithm
      if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) {
        throw new UsageError(`--algorithm: expected one of ${JWT_ALGORITHMS.join(', ')}`)
      }
      const delay =
        values['signs-in'] === undefined ? 2 * ctx.config.keysPollSeconds : Number(values['signs-in'])
      if (!Number.isInteger(delay) || delay < 0 || delay > 86400) {
        throw new UsageError('--signs-in: expected a whole number of seconds from 0 to 86400')
      }
      const encryptionKey = keyEncryptionKeyOf(ctx.config)
      if (!encryptionKey)
        throw new CommandError('KEY_ENCRYPTION_KEY: required to store a key (at least 32 bytes).')
      const { config } = ctx
      const rotation = await rotateKey(ctx.repos.signingKeys, {
        alg,
        encryptionKey,
        signsFromMs: Date.now() + delay * 1000,
        lifetimeMs: Math.max(config.refreshTokenLifetime, config.accessTokenLifetime) * 1000,
      }).catch((err: unknown) => {
        // A failed insert's message would carry its parameters, the sealed key among them.
        throw new CommandError(safeError(err).message)
      })
      await ctx.keyring?.reload()
      const at = new Date(rotation.signsFromMs).toISOString()
      await recordCommand(ctx, {
        type: 'key.rotated',
        details: { kid: rotation.kid, algorithm: rotation.alg, signs_from: at, removed: rotation.removed },
      })
      // Instances read the key set every KEYS_POLL_SECONDS: only a server that ran this command
      // itself (ctx.keyring) publishes the key at once; the others within that period.
      const poll = `within ${config.keysPollSeconds} s (KEYS_POLL_SECONDS)`
      const published = ctx.keyring
        ? `in this server's key set (JWKS) now, in every other instance's ${poll}`
        : `in every instance's key set (JWKS) ${poll}`
      ctx.print(`New ${rotation.alg} key ${rotation.kid} (${ctx.where}): ${published}; signs from ${at}.`)
      ctx.print(
        `The keys before it verify until their last token has expired (${Math.max(config.refreshTokenLifetime, config.accessTokenLifetime)} s after ${at}).`,
      )
      if (rotation.removed.length) ctx.print(`Removed expired key(s): ${rotation.removed.join(', ')}.`)
    },
  },

  'prune-audit': {
    summary: 'delete audit events older than AUDIT_RETENTION_DAYS (or --days)',
    usage: 'prune-audit [--days N]',
    options: {
      days: { type: 'string', help: 'keep this many days instead of AUDIT_RETENTION_DAYS' },
    },
    async run(values, ctx) {
      const days = values.days === undefined ? ctx.config.auditRetentionDays : Number(values.days)
      if (!Number.isInteger(days) || days < 0 || days > 36_500) {
        throw new UsageError('--days: expected a whole number of days from 0 to 36500')
      }
      if (days === 0) {
        ctx.print('AUDIT_RETENTION_DAYS is 0: audit events are kept for ever; nothing was deleted.')
        return
      }
      const before = new Date(Date.now() - days * 86_400_000)
      const deleted = await ctx.repos.audit.prune(before)
      ctx.print(`Deleted ${deleted} audit event(s) from before ${before.toISOString()} (${ctx.where}).`)
    },
  },

  'import-django': {
    summary:
      'copy the users (with their Django password hashes) and SimpleJWT blacklist of a Django database',
    usage:
      'import-django (--from <postgres URL> [--table NAME] | --from-json FILE) [--dry-run] [--emails-unverified]',
    options: {
      from: { type: 'string', help: "URL of the Django project's PostgreSQL database (read only)" },
      'from-json': { type: 'string', help: 'output of `manage.py dumpdata auth.user` instead' },
      table: { type: 'string', help: "user table with Django's column names (default auth_user)" },
      'dry-run': { type: 'boolean', help: 'report what would be imported; write nothing' },
      'emails-unverified': {
        type: 'boolean',
        help: 'their e-mail addresses need verifying (default: verified, as they logged in with them)',
      },
    },
    async run(values, ctx) {
      const from = typeof values.from === 'string' ? values.from : undefined
      const json = typeof values['from-json'] === 'string' ? values['from-json'] : undefined
      if ((from === undefined) === (json === undefined)) {
        throw new UsageError('give exactly one of --from <postgres URL> and --from-json <file>')
      }
      if (json !== undefined && values.table !== undefined) throw new UsageError('--table goes with --from')
      const table = typeof values.table === 'string' ? values.table : undefined
      if (table !== undefined) {
        try {
          tableName(table)
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
      }
      const readSource = async (): Promise<DjangoSource> => {
        try {
          return from ? await readDjangoDatabase(from, table) : await readDumpdata(json!)
        } catch (err) {
          // The driver's message names host and port, never the URL (which may hold a password).
          throw new CommandError(`Cannot read the Django users: ${(err as Error).message}`)
        }
      }
      await importDjango(
        {
          imports: ctx.repos.imports,
          repos: ctx.repos,
          revocations: ctx.revocations,
          print: ctx.print,
          progress: ctx.progress,
        },
        readSource,
        { dryRun: values['dry-run'] === true, emailsVerified: values['emails-unverified'] !== true },
      )
    },
  },

  'password-report': {
    summary: 'count users per password hash format (Django formats are replaced by argon2id at login)',
    usage: 'password-report',
    options: {},
    async run(_values, ctx) {
      const counts = new Map<string, number>()
      let beyond = 0
      for (const hash of await ctx.repos.imports.passwordHashes()) {
        const format = hashFormat(hash)
        counts.set(format, (counts.get(format) ?? 0) + 1)
        if (hashProblem(hash, ctx.config.argon2) !== undefined) beyond += 1
      }
      const rows = [...counts].sort((a, b) => b[1] - a[1])
      const width = Math.max(6, ...rows.map(([f]) => f.length))
      ctx.print(`${'format'.padEnd(width)}  users`)
      for (const [format, n] of rows) {
        const label = LEGACY_FORMATS.has(format as never)
          ? '  legacy: refused with LEGACY_PASSWORD_HASHES=refuse'
          : ''
        ctx.print(`${format.padEnd(width)}  ${n}${label}`)
      }
      const legacy = rows.filter(([f]) => LEGACY_FORMATS.has(f as never)).reduce((n, [, c]) => n + c, 0)
      ctx.print(`${[...counts.values()].reduce((a, b) => a + b, 0)} users; ${legacy} with a legacy hash.`)
      // Stored before the bounds existed (an older import): refused at login, never computed.
      if (beyond > 0) {
        ctx.print(
          `${beyond} with a hash beyond the bounds: they cannot log in until their password is reset.`,
        )
      }
    },
  },
}

/**
 * An operator command's event, written at once: a command is not a request (no address, no
 * request id), and its process may end right after.
 */
async function recordCommand(ctx: CommandContext, event: AuditEvent): Promise<void> {
  await ctx.repos.audit.insert([
    { ...event, at: new Date(), ip: null, userAgent: 'authjwt cli', requestId: null, actorId: null },
  ])
}
