import { randomBytes } from 'node:crypto'
import { type Query, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Db } from '../database/database.js'

// The outbox's SQL and how it is prepared, apart from the repository that runs it.
const ph = (name: string) => sql.placeholder(name)

/**
 * The outbox's statements, built once: each takes its batch as one JSON document (read with
 * json_to_recordset), so a batch of any size is one short statement with a few parameters, which
 * the driver prepares once per connection. (Drizzle's builder would otherwise spend milliseconds
 * on every batch assembling a multi-row statement with thousands of parameters.)
 */
const dialect = new PgDialect()

/** The active endpoints' types, to skip building bodies nobody receives. */
export const ACTIVE_TYPES: Query = dialect.sqlToQuery(
  sql`select event_types::text from webhook_endpoints where is_active`,
)

/**
 * One delivery per event and active endpoint subscribed to its type (none: every type). Ids follow
 * the events' order, on which the per-user ordering rests (`order by`).
 */
export const ENQUEUE: Query = dialect.sqlToQuery(sql`with v as (
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
export const CLAIM: Query = dialect.sqlToQuery(sql`with held as (
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
export const SETTLE: Query = dialect.sqlToQuery(sql`with v as (
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
export const RELEASE: Query = dialect.sqlToQuery(sql`update webhook_deliveries d set locked_until = null
  from json_to_recordset(${ph('input')}::json) as v(id bigint, lease timestamptz)
  where d.id = v.id and d.status = 'pending' and d.locked_until = v.lease`)

/**
 * A prepared statement on `db` (a transaction's own, for ENQUEUE). Rows come as arrays on both
 * drivers (postgres.js, PGlite), so one mapper reads them.
 */
export function prepare<T>(db: Db, name: string, query: Query, map: (row: unknown[]) => T) {
  return db._.session.prepareQuery<{ execute: T[]; all: unknown; values: unknown }>(
    query,
    undefined,
    name,
    true,
    (rows) => (rows as unknown[][]).map(map),
  )
}

/** `n` message ids (the same on every retry and replay, so receivers can dedupe), from one read of randomness. */
export function messageIds(n: number): string[] {
  const bytes = randomBytes(16 * n)
  return Array.from(
    { length: n },
    (_, i) => `msg_${bytes.subarray(i * 16, i * 16 + 16).toString('base64url')}`,
  )
}
