import { and, desc, eq, gte, inArray, lt, lte, type SQL, sql } from 'drizzle-orm'
import { auditEvents, users } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import type { AuditRecord, AuditType, StoredEvent } from './events.js'

export interface AuditQuery {
  userId?: number
  types?: AuditType[]
  ip?: string
  from?: Date
  to?: Date
  /** Rows older than this id (the previous page's cursor). */
  before?: number
  /** undefined: every tenant; null: the users without one. */
  tenantId?: number | null
  limit: number
}

export type AuditRow = typeof auditEvents.$inferSelect

/** The audit_events table: written in batches, read newest first, pruned by age. */
export class AuditRepository {
  constructor(private readonly db: Db) {}

  /**
   * Writes a batch in one statement. The tenant of each row is the tenant its user has now (a
   * deleted user's rows have none), looked up here so no caller has to know it.
   */
  async insert(records: AuditRecord[], db: Db = this.db): Promise<StoredEvent[]> {
    if (records.length === 0) return []
    const ids = [...new Set(records.map((r) => r.userId).filter((id): id is number => id != null))]
    const tenants = new Map<number, number | null>()
    if (ids.length > 0) {
      const rows = await db
        .select({ id: users.id, clientId: users.clientId })
        .from(users)
        .where(inArray(users.id, ids))
      for (const row of rows) tenants.set(row.id, row.clientId)
    }
    const values = records.map((r) => ({
      at: r.at,
      type: r.type,
      userId: r.userId ?? null,
      sessionId: r.sessionId ?? null,
      actorId: r.actorId ?? null,
      clientId: r.clientId ?? (r.userId != null ? (tenants.get(r.userId) ?? null) : null),
      ip: r.ip,
      userAgent: r.userAgent,
      requestId: r.requestId,
      details: r.details ?? null,
    }))
    const written = await db.insert(auditEvents).values(values).returning({ id: auditEvents.id })
    return values.map((v, i) => ({ ...records[i]!, ...v, details: records[i]!.details, id: written[i]!.id }))
  }

  /** Newest first, `limit` rows at most. */
  async list(q: AuditQuery): Promise<AuditRow[]> {
    const where: SQL[] = []
    if (q.userId !== undefined) where.push(eq(auditEvents.userId, q.userId))
    if (q.types?.length) where.push(inArray(auditEvents.type, q.types))
    if (q.ip !== undefined) where.push(eq(auditEvents.ip, q.ip))
    if (q.from) where.push(gte(auditEvents.at, q.from))
    if (q.to) where.push(lte(auditEvents.at, q.to))
    if (q.before !== undefined) where.push(lt(auditEvents.id, q.before))
    if (q.tenantId === null) where.push(sql`${auditEvents.clientId} is null`)
    else if (q.tenantId !== undefined) where.push(eq(auditEvents.clientId, q.tenantId))
    return this.db
      .select()
      .from(auditEvents)
      .where(and(...where))
      .orderBy(desc(auditEvents.id))
      .limit(q.limit)
  }

  /** Failed logins of each user since `since`, counted in `db` (the batch's transaction). */
  async failedLogins(userIds: number[], since: Date, db: Db = this.db): Promise<Map<number, number>> {
    if (userIds.length === 0) return new Map()
    const rows = await db
      .select({ userId: auditEvents.userId, n: sql<number>`count(*)::int` })
      .from(auditEvents)
      .where(
        and(
          inArray(auditEvents.userId, userIds),
          eq(auditEvents.type, 'login.failed'),
          gte(auditEvents.at, since),
        ),
      )
      .groupBy(auditEvents.userId)
    return new Map(rows.map((r) => [r.userId!, r.n]))
  }

  /** Deletes rows older than `before`, a slice at a time so no statement holds locks for long. */
  async prune(before: Date, slice = 5_000): Promise<number> {
    let total = 0
    for (;;) {
      const doomed = this.db
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(lt(auditEvents.at, before))
        .limit(slice)
      const gone = await this.db
        .delete(auditEvents)
        .where(inArray(auditEvents.id, doomed))
        .returning({ id: auditEvents.id })
      total += gone.length
      if (gone.length < slice) return total
    }
  }
}
