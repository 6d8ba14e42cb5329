import { randomBytes } from 'node:crypto'
import { and, asc, desc, eq, type Query, type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { webhookAttempts, webhookDeliveries } from '../../schema/db.js'
import type { DeliveryStatus } from '../../schema/webhooks.js'
import type { StoredEvent } from '../audit/events.js'
import type { Db } from '../database/database.js'
import type { AttemptOutcome } from './send.js'
import { eventPayload } from './signature.js'

export type DeliveryRow = typeof webhookDeliveries.$inferSelect
export type AttemptRow = typeof webhookAttempts.$inferSelect
export type { DeliveryStatus } from '../../schema/webhooks.js'

/** A delivery leased for one attempt, with what sending it needs. */
export interface ClaimedDelivery {
  id: number
  endpointId: number
  url: string
  sealedSecret: string
  messageId: string
  payload: string
  /** Attempts so far, this one included. */
  attempts: number
  /** The end of its lease (as written to locked_until): it must not be sent after that. */
  leaseUntil: Date
}

/** After an attempt: delivered, tried again at `retryAt`, or given up. */
export type Verdict = { status: 'delivered' } | { status: 'pending'; retryAt: Date } | { status: 'failed' }

/** One finished attempt, to be recorded with others in one statement. */
export interface Settlement {
  id: number
  outcome: AttemptOutcome
  verdict: Verdict
  /** When the attempt started (attempted_at) and ended (delivered_at). */
  startedAt: Date
  endedAt: Date
}

const ph = (name: string) => sql.placeholder(name)

/**
 * The outbox's statements, built once: each takes its batch as one JSON document (read with
 * json_to_recordset), so a batch of any size is one short statement with a few parameters, which
 * the driver prepares once per connection. (Drizzle's builder would otherwise spend milliseconds
 * on every batch assembling a multi-row statement with thousands of parameters.)
 */
const dialect = new PgDialect()

/** The active endpoints' types, to skip building bodies nobody receives. */
const ACTIVE_TYPES: Query = dialect.sqlToQuery(
  sql`select event_types::text from webhook_endpoints where is_active`,
)

/**
 * One delivery per event and active endpoint subscribed to its type (none: every type). Ids follow
 * the events' order, on which the per-user ordering rests (`order by`).
 */
const ENQUEUE: Query = dialect.sqlToQuery(sql`with v as (
    select * from json_to_recordset(${ph('input')}::json)
      as v(i int, event_id bigint, type text, key text, message_id text, payload text)
  ), ins as (
    insert into webhook_deliveries (endpoint_id, event_id, message_id, event_type, ordering_key, payload)
    select e.id, v.event_id, v.message_id, v.type, v.key, v.payload
    from v join webhook_endpoints e
      on e.is_active and (e.event_types = '[]'::jsonb or e.event_types ? v.type)
    order by v.i, e.id
    returning 1
  )
  select count(*)::int from ins`)

/**
 * Leases up to `limit` due deliveries. Each is the oldest pending delivery of its endpoint and user
 * (a leased one blocks its successors too); an endpoint gets no more than `perEndpoint` less what
 * this instance already holds of it (`held`). Rows another sender is locking are skipped.
 */
const CLAIM: Query = dialect.sqlToQuery(sql`with held as (
    select * from json_to_recordset(${ph('held')}::json) as h(endpoint_id int, n int)
  ), heads as (
    -- The oldest pending delivery of each endpoint and user, in one pass over the pending rows
    -- (no self-join: its cost would hang on a plan made while the table was small).
    select id, endpoint_id from (
      select id, endpoint_id, next_attempt_at, locked_until,
        row_number() over (partition by endpoint_id, ordering_key order by id) as nth
      from webhook_deliveries where status = 'pending'
    ) pending
    where nth = 1 and next_attempt_at <= ${ph('now')}::timestamptz
      and (locked_until is null or locked_until <= ${ph('now')}::timestamptz)
  ), ranked as (
    select h.id, row_number() over (partition by h.endpoint_id order by h.id) + coalesce(held.n, 0) as place
    from heads h
    -- A disabled endpoint's deliveries wait: enabling it again sends them, in order.
    join webhook_endpoints e on e.id = h.endpoint_id and e.is_active
    left join held on held.endpoint_id = h.endpoint_id
  ), picked as (
    select d.id from webhook_deliveries d
    join (
      select id from ranked where place <= ${ph('perEndpoint')}::int order by id limit ${ph('limit')}::int
    ) r on r.id = d.id
    where d.status = 'pending'
      and (d.locked_until is null or d.locked_until <= ${ph('now')}::timestamptz)
    for update of d skip locked
  )
  update webhook_deliveries d set locked_until = ${ph('lease')}::timestamptz
  from picked, webhook_endpoints e
  where d.id = picked.id and e.id = d.endpoint_id
  returning d.id::float8, d.endpoint_id, e.url, e.sealed_secret, d.message_id, d.payload, d.attempts`)

/** Records a batch of attempts and settles their deliveries: one statement, so both or neither. */
const SETTLE: Query = dialect.sqlToQuery(sql`with v as (
    select * from json_to_recordset(${ph('input')}::json) as v(
      id bigint, status text, code int, latency int, error text, excerpt text,
      retry_at timestamptz, started_at timestamptz, ended_at timestamptz)
  ), recorded as (
    insert into webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error, response_excerpt)
    select v.id, v.started_at, v.code, v.latency, v.error, v.excerpt
    from v join webhook_deliveries d on d.id = v.id
    order by v.id
  )
  update webhook_deliveries d set
    status = v.status,
    last_status = v.code,
    locked_until = null,
    attempts = d.attempts + 1,
    next_attempt_at = coalesce(v.retry_at, d.next_attempt_at),
    delivered_at = case when v.status = 'delivered' then v.ended_at else d.delivered_at end
  from v where d.id = v.id`)

/** Gives back leases not used (shutdown, or a lease too short for what waited before it). */
const RELEASE: Query = dialect.sqlToQuery(sql`update webhook_deliveries d set locked_until = null
  from json_to_recordset(${ph('input')}::json) as v(id bigint, lease timestamptz)
  where d.id = v.id and d.status = 'pending' and d.locked_until = v.lease`)

/**
 * A prepared statement on `db` (a transaction's own, for ENQUEUE). Rows come as arrays on both
 * drivers (postgres.js, PGlite), so one mapper reads them.
 */
function prepare<T>(db: Db, name: string, query: Query, map: (row: unknown[]) => T) {
  return db._.session.prepareQuery<{ execute: T[]; all: unknown; values: unknown }>(
    query,
    undefined,
    name,
    true,
    (rows) => (rows as unknown[][]).map(map),
  )
}

/** `n` message ids (the same on every retry and replay, so receivers can dedupe), from one read of randomness. */
function messageIds(n: number): string[] {
  const bytes = randomBytes(16 * n)
  return Array.from(
    { length: n },
    (_, i) => `msg_${bytes.subarray(i * 16, i * 16 + 16).toString('base64url')}`,
  )
}

/**
 * The webhook outbox: one row per event and endpoint, written in the audit batch's transaction,
 * and each attempt at it. Ordering per user rests on one rule of `claim`: only the oldest pending
 * delivery of each (endpoint, ordering key) may be sent, so a user's second event waits until the
 * first was delivered or given up.
 */
export class DeliveryRepository {
  private readonly claimer
  private readonly settler
  private readonly releaser

  constructor(private readonly db: Db) {
    this.claimer = prepare(db, 'webhook_claim', CLAIM, (r) => ({
      id: Number(r[0]),
      endpointId: Number(r[1]),
      url: r[2] as string,
      sealedSecret: r[3] as string,
      messageId: r[4] as string,
      payload: r[5] as string,
      // Recorded when settled: this attempt's number.
      attempts: Number(r[6]) + 1,
    }))
    this.settler = prepare(db, 'webhook_settle', SETTLE, () => null)
    this.releaser = prepare(db, 'webhook_release', RELEASE, () => null)
  }

  /**
   * One delivery per event and active endpoint subscribed to its type (no types: all), inside the
   * transaction that writes the events. Every endpoint of an event gets the same message id and
   * body. Answers how many were queued, so the caller kicks the sender only when there is work.
   */
  async enqueue(tx: Db, events: StoredEvent[]): Promise<number> {
    if (events.length === 0) return 0
    const types = await prepare(tx, 'webhook_active_types', ACTIVE_TYPES, (r) =>
      JSON.parse(r[0] as string),
    ).execute()
    if (types.length === 0) return 0
    // Bodies only for events some endpoint receives; the statement's join decides per endpoint.
    const wanted = types.some((t: string[]) => t.length === 0)
      ? events
      : events.filter((e) => types.some((t: string[]) => t.includes(e.type)))
    if (wanted.length === 0) return 0
    const ids = messageIds(wanted.length)
    const input = JSON.stringify(
      wanted.map((event, i) => ({
        i,
        event_id: event.id,
        type: event.type,
        key: event.userId != null ? String(event.userId) : '',
        message_id: ids[i],
        // The exact bytes signed and sent, on every attempt and replay.
        payload: eventPayload(event),
      })),
    )
    const [queued] = await prepare(tx, 'webhook_enqueue', ENQUEUE, (r) => Number(r[0])).execute({ input })
    return queued ?? 0
  }

  /**
   * Leases up to `limit` due deliveries until `leaseUntil`, as the mail outbox does: another sender
   * (another instance) skips them until the lease ends, and an instance that dies mid-send leaves
   * them to the others. Each is the oldest pending delivery of its endpoint and user; a leased one
   * blocks its successors too. No endpoint gets more than `perEndpoint` less what `held` says
   * this sender already holds of it. Oldest first.
   */
  async claim(
    limit: number,
    leaseUntil: Date,
    perEndpoint: number,
    held: Map<number, number> = new Map(),
  ): Promise<ClaimedDelivery[]> {
    const rows = await this.claimer.execute({
      held: JSON.stringify([...held].map(([endpoint_id, n]) => ({ endpoint_id, n }))),
      now: new Date().toISOString(),
      perEndpoint,
      limit,
      lease: leaseUntil.toISOString(),
    })
    return rows.sort((a, b) => a.id - b.id).map((r) => ({ ...r, leaseUntil }))
  }

  /** Records attempts and what each means for its delivery, all in one statement. */
  async settle(batch: Settlement[]): Promise<void> {
    if (batch.length === 0) return
    const input = JSON.stringify(
      batch.map((s) => ({
        id: s.id,
        status: s.verdict.status,
        code: s.outcome.statusCode,
        latency: s.outcome.latencyMs,
        error: s.outcome.error,
        excerpt: s.outcome.responseExcerpt,
        retry_at: s.verdict.status === 'pending' ? s.verdict.retryAt.toISOString() : null,
        started_at: s.startedAt.toISOString(),
        ended_at: s.endedAt.toISOString(),
      })),
    )
    await this.settler.execute({ input })
  }

  /** Ends leases that were not used, so the deliveries are due again at once (here or elsewhere). */
  async release(deliveries: ClaimedDelivery[]): Promise<void> {
    if (deliveries.length === 0) return
    const input = JSON.stringify(deliveries.map((d) => ({ id: d.id, lease: d.leaseUntil.toISOString() })))
    await this.releaser.execute({ input })
  }

  /** Sends a delivery again, whatever became of it: a new pending delivery, same message id and body. */
  async replay(id: number): Promise<DeliveryRow | undefined> {
    const original = await this.find(id)
    if (!original) return undefined
    const [row] = await this.db
      .insert(webhookDeliveries)
      .values({
        endpointId: original.endpointId,
        eventId: original.eventId,
        messageId: original.messageId,
        eventType: original.eventType,
        orderingKey: original.orderingKey,
        payload: original.payload,
      })
      .returning()
    return row
  }

  async find(id: number): Promise<DeliveryRow | undefined> {
    const [row] = await this.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id))
    return row
  }

  /** An endpoint's deliveries, newest first. */
  async list(
    endpointId: number,
    q: { status?: DeliveryStatus; limit: number; offset: number },
  ): Promise<{ count: number; rows: DeliveryRow[] }> {
    const where: SQL[] = [eq(webhookDeliveries.endpointId, endpointId)]
    if (q.status) where.push(eq(webhookDeliveries.status, q.status))
    const [total] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(and(...where))
    const rows = await this.db
      .select()
      .from(webhookDeliveries)
      .where(and(...where))
      .orderBy(desc(webhookDeliveries.id))
      .limit(q.limit)
      .offset(q.offset)
    return { count: total?.n ?? 0, rows }
  }

  /** A delivery's attempts, oldest first. */
  async attempts(deliveryId: number): Promise<AttemptRow[]> {
    return this.db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, deliveryId))
      .orderBy(asc(webhookAttempts.id))
  }

  /** Pending deliveries (the backlog), for metrics and operators. */
  async backlog(): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.status, 'pending'))
    return row?.n ?? 0
  }
}
