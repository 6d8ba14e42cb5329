import { and, count, desc, eq, ilike, or, type SQL } from 'drizzle-orm'
import { type SessionRow, sessions, users } from '../../schema/db.js'
import type { Reach } from '../accounts/scope.js'
import { escapeLike, inReach } from '../accounts/sql-helpers.js'
import type { Db } from '../database/database.js'

/** A session with its user's name, as staff list them. */
export interface AdminSessionRow extends SessionRow {
  username: string
}

export interface AdminListOptions {
  clientType?: string
  isActive?: boolean
  userId?: number
  search?: string
  /** Whose sessions the operator may see (src/accounts/scope.ts). */
  reach: Reach
  limit: number
  offset: number
}

/** Every session an operator may see (their reach), filtered, newest first, one page. */
export async function listAdmin(
  db: Db,
  options: AdminListOptions,
): Promise<{ count: number; rows: AdminSessionRow[] }> {
  const filters: SQL[] = []
  if (options.clientType) filters.push(eq(sessions.clientType, options.clientType))
  if (options.isActive !== undefined) filters.push(eq(sessions.isActive, options.isActive))
  if (options.userId !== undefined) filters.push(eq(sessions.userId, options.userId))
  const reach = inReach(options.reach)
  if (reach) filters.push(reach)
  if (options.search) {
    const like = `%${escapeLike(options.search)}%`
    filters.push(
      or(ilike(users.username, like), ilike(sessions.deviceName, like), ilike(sessions.ipAddress, like))!,
    )
  }
  const where = filters.length ? and(...filters) : undefined
  const [total] = await db
    .select({ n: count() })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(where)
  const rows = await db
    .select({ session: sessions, username: users.username })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(where)
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(options.limit)
    .offset(options.offset)
  return { count: Number(total?.n ?? 0), rows: rows.map((r) => ({ ...r.session, username: r.username })) }
}

/** The tenant and rank of a session's user, for the rule of operator actions (scope.ts). */
export async function findWithUser(
  db: Db,
  id: number,
): Promise<(SessionRow & { clientId: number | null; isSuperuser: boolean; username: string }) | undefined> {
  const [row] = await db
    .select({
      session: sessions,
      clientId: users.clientId,
      isSuperuser: users.isSuperuser,
      username: users.username,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, id))
    .limit(1)
  return row
    ? { ...row.session, clientId: row.clientId, isSuperuser: row.isSuperuser, username: row.username }
    : undefined
}
