import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  varchar,
} from 'drizzle-orm/pg-core'
import { ts } from './db-columns.js'

// The audit trail and the webhook outbox: tables of their own, tied to the others by no foreign key.

/**
 * The audit trail: one row per security event (src/audit/). No foreign keys: a row outlives the
 * user, session or tenant it names. `client_id` is the tenant of the user the event is about, so
 * tenant staff read their own tenant's rows only. Pruned by `prune-audit` (AUDIT_RETENTION_DAYS).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    type: varchar('type', { length: 48 }).notNull(),
    userId: integer('user_id'),
    // The usernames of the user and the actor when the row was written: a later rename or
    // deletion leaves the row as it was.
    username: varchar('username', { length: 150 }),
    sessionId: integer('session_id'),
    actorId: integer('actor_id'),
    actorUsername: varchar('actor_username', { length: 150 }),
    clientId: integer('client_id'),
    ip: varchar('ip', { length: 45 }),
    userAgent: text('user_agent'),
    requestId: varchar('request_id', { length: 128 }),
    details: jsonb('details').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at),
    index('audit_events_user_idx').on(t.userId, t.id),
    index('audit_events_type_idx').on(t.type, t.id),
    index('audit_events_ip_idx').on(t.ip, t.id),
    index('audit_events_client_idx').on(t.clientId, t.id),
  ],
)

/**
 * Audit events the database refused to store (a value no check foresaw), set aside so that the
 * rest of their batch is written and the trail goes on (src/audit/audit-log.ts). `event` is the
 * event as JSON text: JSON.stringify escapes what text cannot hold, so this write cannot fail on
 * the same value. Read and cleared by an operator.
 */
export const auditDeadLetters = pgTable('audit_dead_letters', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  setAsideAt: ts('set_aside_at').notNull().defaultNow(),
  eventAt: ts('event_at').notNull(),
  eventType: varchar('event_type', { length: 48 }).notNull(),
  sqlstate: varchar('sqlstate', { length: 5 }).notNull(),
  event: text('event').notNull(),
})

/**
 * Where events are sent (src/webhooks/). `event_types` empty: every type. `sealed_secret` is the
 * Standard Webhooks signing secret (whsec_...), sealed with KEY_ENCRYPTION_KEY.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: serial('id').primaryKey(),
  url: text('url').notNull(),
  description: varchar('description', { length: 255 }).notNull().default(''),
  eventTypes: jsonb('event_types').$type<string[]>().notNull().default([]),
  sealedSecret: text('sealed_secret').notNull(),
  isActive: boolean('is_active').notNull().default(true),
  createdBy: integer('created_by'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

/**
 * One event for one endpoint: the outbox, written in the transaction that writes the event's audit
 * row. `ordering_key` (the user the event is about) keeps a user's deliveries to one endpoint in
 * order: only the oldest pending one of each key is sent. `payload` is the exact body signed.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    endpointId: integer('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' }),
    messageId: varchar('message_id', { length: 64 }).notNull(),
    eventType: varchar('event_type', { length: 48 }).notNull(),
    orderingKey: varchar('ordering_key', { length: 64 }).notNull().default(''),
    payload: text('payload').notNull(),
    status: varchar('status', { length: 16 }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    lastStatus: integer('last_status'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_pending_idx')
      .on(t.endpointId, t.orderingKey, t.id)
      .where(sql`status = 'pending'`),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
  ],
)

/** Each try of a delivery: what the receiver answered, how long it took. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attemptedAt: ts('attempted_at').notNull().defaultNow(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: varchar('error', { length: 255 }),
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id)],
)
