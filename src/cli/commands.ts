import type { Command } from './command.js'
import { operatorCommands } from './operator-commands.js'
import { userCommands } from './user-commands.js'

export {
  type Command,
  type CommandContext,
  CommandError,
  UsageError,
  type Values,
} from './command.js'

/** Every operator command, in the order `authjwt help` lists them. */
export const commands: Record<string, Command> = {
  migrate: operatorCommands.migrate,
  'create-user': userCommands['create-user'],
  'set-password': userCommands['set-password'],
  'list-users': userCommands['list-users'],
  'invalidate-all-tokens': operatorCommands['invalidate-all-tokens'],
  'flush-expired': operatorCommands['flush-expired'],
  'rotate-key': operatorCommands['rotate-key'],
  'prune-audit': operatorCommands['prune-audit'],
  'import-django': operatorCommands['import-django'],
  'password-report': userCommands['password-report'],
}
