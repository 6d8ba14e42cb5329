import { and, asc, desc, eq, type SQL, sql } from 'drizzle-orm'
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
import { ACTIVE_TYPES, CLAIM, ENQUEUE, messageIds, prepare, RELEASE, SETTLE } from './delivery-statements.js'

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
