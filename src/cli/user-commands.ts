import { createUser, passwordProblem, TakenError } from '../accounts/create-user.js'
import { FieldErrors } from '../http/errors.js'
import { hashProblem } from '../django/hash-limits.js'
import { hashFormat, LEGACY_FORMATS } from '../django/hashes.js'
import { type Command, CommandError, PASSWORD_OPTIONS, recordCommand, UsageError } from './command.js'

/** The commands that create, change and list users. */
export const userCommands: Record<string, Command> = {
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
