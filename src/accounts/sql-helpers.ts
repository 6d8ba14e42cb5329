import { eq, type SQL, sql } from 'drizzle-orm'
import { users } from '../../schema/db.js'
import type { Reach } from './scope.js'

/**
 * What another account already holds: its username, its e-mail, or (src/accounts/usernames.ts)
 * the new username is another's e-mail, or the new e-mail another's username.
 */
export type Conflict = 'username' | 'email' | 'usernameIsEmail' | 'emailIsUsername'

/** A unique constraint said no; `field` is the conflict it reports. */
export class DuplicateError extends Error {
  constructor(readonly field: Conflict) {
    super(`duplicate ${field}`)
    this.name = 'DuplicateError'
  }
}

/** The constraints (and trigger, migration 0010) of the users table, by what they refuse. */
const CONSTRAINTS: Record<string, Conflict> = {
  users_username_login_name: 'usernameIsEmail',
  users_email_login_name: 'emailIsUsername',
}

/** A LIKE pattern's wildcards, taken literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/** A unique violation of the users table as the field it concerns; any other error as it is. */
export function translateUniqueViolation(err: unknown): unknown {
  const e = (err as { cause?: { code?: string; constraint?: string; message?: string } })?.cause ?? err
  const pg = e as { code?: string; constraint?: string; constraint_name?: string; message?: string }
  if (pg?.code !== '23505') return err
  const constraint = pg.constraint ?? pg.constraint_name ?? ''
  if (CONSTRAINTS[constraint]) return new DuplicateError(CONSTRAINTS[constraint])
  const name = `${constraint} ${pg.message ?? ''}`
  if (name.includes('email')) return new DuplicateError('email')
  if (name.includes('username')) return new DuplicateError('username')
  return err
}

/** Users of one tenant; null: the users without one. */
export function inTenant(tenantId: number | null): SQL {
  return tenantId === null ? sql`${users.clientId} is null` : eq(users.clientId, tenantId)
}

/** The users an operator's lists show (src/accounts/scope.ts `manageable`, as a filter on `users`). */
export function inReach(reach: Reach): SQL | undefined {
  const tenant = reach.tenant === undefined ? undefined : inTenant(reach.tenant)
  const superusers = reach.superusers ? undefined : eq(users.isSuperuser, false)
  return tenant && superusers ? sql`${tenant} and ${superusers}` : (tenant ?? superusers)
}
