import { keyEncryptionKeyOf } from '../keys/development.js'
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../config/tokens.js'
import { rotateKey } from '../keys/rotate.js'
import { safeError } from '../log.js'
import { type DjangoSource, readDjangoDatabase, readDumpdata, tableName } from '../django/import-source.js'
import { importDjango } from '../django/import-users.js'
import { type Command, CommandError, recordCommand, UsageError } from './command.js'

/** The commands that keep the database, the store and the keys. */
export const operatorCommands: Record<string, Command> = {
  migrate: {
    summary: 'apply the database migrations (the server also applies them at start)',
    usage: 'migrate',
    options: {},
    async run(_values, ctx) {
      ctx.print(`Migrations applied (${ctx.where}).`)
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
}
