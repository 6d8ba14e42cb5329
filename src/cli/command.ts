import type { AuditEvent } from '../audit/events.js'
import type { PasswordHasher } from '../accounts/passwords.js'
import type { Config } from '../config/index.js'
import type { Repositories } from '../repositories.js'
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
  /** Inside the running server: its keyring, told at once of a new key. */
  keyring?: { reload(): Promise<void> }
  print(line: string): void
  /** Work done of the total, for a progress bar on a terminal; absent elsewhere. */
  progress?(done: number, total: number): void
}

export type Values = Record<string, string | boolean | undefined>
export type OptionSpec = { type: 'string' | 'boolean'; help: string; required?: boolean }

/**
 * The options of a command that takes a new password. Without --password the CLI asks for it,
 * hidden, on a terminal, or reads it from stdin with --password-stdin (src/cli/password-input.ts),
 * before anything is sent: the command itself always receives `password`.
 */
export const PASSWORD_OPTIONS: Record<string, OptionSpec> = {
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

/**
 * An operator command's event, written at once: a command is not a request (no address, no
 * request id), and its process may end right after.
 */
export async function recordCommand(ctx: CommandContext, event: AuditEvent): Promise<void> {
  await ctx.repos.audit.insert([
    { ...event, at: new Date(), ip: null, userAgent: 'authjwt cli', requestId: null, actorId: null },
  ])
}
