import { and, desc, eq, gte, inArray, lt, lte, type SQL, sql } from 'drizzle-orm'
import { auditDeadLetters, auditEvents, users } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import { storableJson, storableText } from '../lib/storable.js'
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
  /** false: leave out the rows about superusers (src/accounts/scope.ts); default true. */
  superusers?: boolean
  limit: number
}

export type AuditRow = typeof auditEvents.$inferSelect

/** The events that are a failed login: a wrong password (or refused account), a wrong code. */
export const FAILED_LOGIN_TYPES: AuditType[] = ['login.failed', 'mfa.failed']

/** The audit_events table: written in batches, read newest first, pruned by age. */
export class AuditRepository {
  constructor(private readonly db: Db) {}

  /**
   * Writes a batch in one statement whose one parameter is the batch as JSON (a multi-row VALUES
   * with ten parameters a row costs the query builder ~40 µs an event; this, ~4). The tenant of
   * each row is the tenant its user has now (a deleted user's rows have none), and the usernames
   * of the user and the actor are theirs now, looked up in the same statement: no caller has to
   * know them, and no request reads them. Rows get ids in the order given.
   */
  async insert(records: AuditRecord[], db: Db = this.db): Promise<StoredEvent[]> {
    if (records.length === 0) return []
    const input = JSON.stringify(
      records.map((r, i) => ({
        i,
        at: r.at.toISOString(),
        type: r.type,
        user_id: r.userId ?? null,
        session_id: r.sessionId ?? null,
        actor_id: r.actorId ?? null,
        client_id: r.clientId ?? null,
        ip: r.ip,
        user_agent: r.userAgent,
        request_id: r.requestId,
        details: r.details ?? null,
      })),
    )
    const result = await db.execute(sql`
      insert into ${auditEvents}
        (at, type, user_id, username, session_id, actor_id, actor_username, client_id, ip, user_agent,
         request_id, details)
      select v.at, v.type, v.user_id, u.username, v.session_id, v.actor_id, a.username,
             coalesce(v.client_id, u.client_id), v.ip, v.user_agent, v.request_id, v.details
      from json_to_recordset(${input}::json) as v(
        i int, at timestamptz, type text, user_id int, session_id int, actor_id int, client_id int,
        ip text, user_agent text, request_id text, details jsonb)
      left join ${users} u on u.id = v.user_id
      left join ${users} a on a.id = v.actor_id
      order by v.i
      returning id, client_id, username, actor_username`)
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
      id: string | number
      client_id: number | null
      username: string | null
      actor_username: string | null
    }[]
    // Ids come back in insertion order, which is the order given.
    const written = rows.map((r) => ({ ...r, id: Number(r.id) })).sort((a, b) => a.id - b.id)
    return records.map((r, i) => ({
      ...r,
      userId: r.userId ?? null,
      username: written[i]!.username,
      sessionId: r.sessionId ?? null,
      actorId: r.actorId ?? null,
      actorUsername: written[i]!.actor_username,
      clientId: written[i]!.client_id,
      id: written[i]!.id,
    }))
  }

  /**
   * Keeps an event the database refused (`sqlstate`) where an operator finds it. Every value here
   * is one this write cannot be refused for: the event as JSON text (JSON.stringify escapes lone
   * surrogates and NUL, which a text column holds as plain characters), a type cut to its column.
   */
  async setAside(record: AuditRecord, sqlstate: string, db: Db = this.db): Promise<number> {
    const [row] = await db
      .insert(auditDeadLetters)
      .values({
        eventAt: Number.isNaN(record.at.getTime()) ? new Date() : record.at,
        eventType: storableText(String(record.type), 48),
        sqlstate,
        event: eventText(record),
      })
      .returning({ id: auditDeadLetters.id })
    return row!.id
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
    if (q.superusers === false) {
      where.push(
        sql`not exists (select 1 from ${users} where ${users.id} = ${auditEvents.userId} and ${users.isSuperuser})`,
      )
    }
    return this.db
      .select()
      .from(auditEvents)
      .where(and(...where))
      .orderBy(desc(auditEvents.id))
      .limit(q.limit)
  }

  /**
   * Failed logins of each user since `since`, counted in `db` (the batch's transaction): wrong
   * passwords and wrong second-factor codes alike.
   */
  async failedLogins(userIds: number[], since: Date, db: Db = this.db): Promise<Map<number, number>> {
    if (userIds.length === 0) return new Map()
    const rows = await db
      .select({ userId: auditEvents.userId, n: sql<number>`count(*)::int` })
      .from(auditEvents)
      .where(
        and(
          inArray(auditEvents.userId, userIds),
          inArray(auditEvents.type, FAILED_LOGIN_TYPES),
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

/** The event as it was, in JSON; what JSON.stringify cannot write (a bigint, a cycle) made storable. */
function eventText(record: AuditRecord): string {
  try {
    return JSON.stringify(record)
  } catch {
    return JSON.stringify(storableJson(record))
  }
}
