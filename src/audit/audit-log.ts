import type { Db } from '../database/database.js'
import { refusedDataCode } from '../database/errors.js'
import { storableIp, storableJson, storableText } from '../lib/storable.js'
import type { AuditRepository } from './audit-repository.js'
import type {
  AuditEvent,
  AuditRecord,
  AuditTrail,
  EventDetector,
  EventSink,
  RequestMeta,
  StoredEvent,
} from './events.js'

export interface AuditLogOptions {
  /** Longest an event waits in memory before its batch is written. */
  flushMs: number
  /** Rows per transaction. */
  maxBatch?: number
  /** Events held while the database is away; beyond this the oldest are dropped (and counted). */
  maxBuffered?: number
  /** false: events only reach the listeners (metrics), nothing is written (AUDIT_ENABLED=false). */
  enabled?: boolean
  onError?: (err: unknown, pending: number) => void
  /** An event the database refused, kept in audit_dead_letters (`id`; null if even that failed). */
  onSetAside?: (record: AuditRecord, sqlstate: string, id: number | null) => void
}

/**
 * The audit trail, written off the request's critical path. `record` only appends to memory; a
 * timer writes what gathered, at most `flushMs` later, as one transaction that also holds what the
 * events cause (detectors' events, webhook deliveries). So a request never waits for its audit row,
 * and an event, its webhooks and its alerts exist together or not at all.
 *
 * What can be lost: a clean shutdown (close) writes everything first. A crash loses the events of
 * the last `flushMs` (and, while the database is away, everything held since), never part of a
 * batch. While the database is away, batches are kept and tried again with a growing wait.
 *
 * Text from the request is made storable here (src/lib/storable.ts), once for everything the
 * event reaches. Should the database still refuse a row (a value no check foresaw), trying the
 * batch again would fail forever and stop the trail: the batch is halved until the refused rows
 * stand alone, those are set aside (audit_dead_letters, counted, logged) and the rest is written.
 */
export class AuditLog implements AuditTrail {
  private buffer: AuditRecord[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private failures = 0
  private readonly listeners: ((record: AuditRecord) => void)[] = []
  private readonly detectors: EventDetector[] = []
  private readonly sinks: EventSink[] = []
  /** Events dropped because the buffer was full while the database was away. */
  dropped = 0
  /** Events the database refused, set aside so the rest of their batch could be written. */
  refused = 0

  constructor(
    private readonly db: Db,
    private readonly repo: AuditRepository,
    private readonly options: AuditLogOptions,
  ) {}

  /** Called for every event as it is recorded (and for detected ones as they are written): metrics. */
  onRecord(listener: (record: AuditRecord) => void): void {
    this.listeners.push(listener)
  }

  /** Looks at each written batch for the events it amounts to (src/audit/suspicious.ts). */
  addDetector(detector: EventDetector): void {
    this.detectors.push(detector)
  }

  /** Writes what the events cause in their transaction (the webhook outbox). */
  addSink(sink: EventSink): void {
    this.sinks.push(sink)
  }

  get enabled(): boolean {
    return this.options.enabled !== false
  }

  get pending(): number {
    return this.buffer.length
  }

  record(event: AuditEvent, meta?: RequestMeta): void {
    const record: AuditRecord = {
      ...event,
      actorId: event.actorId ?? meta?.actorId ?? null,
      at: new Date(),
      ip: storableIp(meta?.ip),
      userAgent: meta?.userAgent == null ? null : storableText(meta.userAgent, 512),
      requestId: meta?.requestId == null ? null : storableText(meta.requestId, 128),
    }
    if (event.details) record.details = storableJson(event.details) as Record<string, unknown>
    this.notify(record)
    if (!this.enabled) return
    this.buffer.push(record)
    const max = this.options.maxBuffered ?? 100_000
    if (this.buffer.length > max) {
      this.dropped += this.buffer.length - max
      this.buffer.splice(0, this.buffer.length - max)
    }
    this.schedule()
  }

  /** Writes everything recorded so far (tests, shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.flushing) await this.flushing
    while (this.buffer.length > 0) {
      this.flushing = this.writeSome()
      try {
        await this.flushing
      } finally {
        this.flushing = undefined
      }
    }
  }

  /** A clean shutdown: everything recorded is written (tried a few times if the database is slow). */
  async close(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      try {
        await this.flush()
        return
      } catch (err) {
        this.options.onError?.(err, this.buffer.length)
        await new Promise((r) => setTimeout(r, 200 * 2 ** i))
      }
    }
  }

  private schedule(delayMs = this.options.flushMs): void {
    if (this.timer || this.flushing) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flushing = this.writeSome()
        .then(
          () => {
            this.failures = 0
          },
          (err: unknown) => {
            this.failures++
            this.options.onError?.(err, this.buffer.length)
          },
        )
        .finally(() => {
          this.flushing = undefined
          if (this.buffer.length > 0) {
            const wait = this.failures > 0 ? Math.min(30_000, this.options.flushMs * 2 ** this.failures) : 0
            this.schedule(wait)
          }
        })
    }, delayMs)
    this.timer.unref()
  }

  /**
   * One batch. Not written because the database is away (or failing otherwise): what is left of
   * it goes back to the front of the buffer, in order, to be tried again.
   */
  private async writeSome(): Promise<void> {
    const batch = this.buffer.splice(0, this.options.maxBatch ?? 1000)
    const parts = batch.length > 0 ? [batch] : []
    while (parts.length > 0) {
      const part = parts.shift()!
      try {
        await this.write(part)
      } catch (err) {
        const sqlstate = refusedDataCode(err)
        try {
          if (sqlstate === undefined) throw err
          // The same rows would be refused again: halve until the refused one stands alone.
          if (part.length === 1) await this.setAside(part[0]!, sqlstate)
          else parts.unshift(...halves(part))
        } catch (failure) {
          this.buffer.unshift(...part, ...parts.flat())
          throw failure
        }
      }
    }
  }

  /** Events, what the detectors make of them and what the sinks write: one transaction. */
  private async write(batch: AuditRecord[]): Promise<void> {
    let detected: StoredEvent[] = []
    await this.db.transaction(async (tx) => {
      const stored = await this.repo.insert(batch, tx)
      detected = []
      for (const detector of this.detectors) {
        // In a savepoint: a detector that fails (a user deleted meanwhile) costs its alerts, not
        // the batch, which would otherwise be retried, and fail, forever.
        const more = await tx
          .transaction((sp) => detector.detect(sp, stored))
          .catch((err: unknown) => {
            this.options.onError?.(err, 0)
            return []
          })
        if (more.length > 0) detected.push(...(await this.repo.insert(more, tx)))
      }
      const all = detected.length > 0 ? [...stored, ...detected] : stored
      for (const sink of this.sinks) await sink.write(tx, all)
    })
    for (const record of detected) this.notify(record)
    for (const sink of this.sinks) sink.committed?.()
  }

  /** Keeps a refused event for an operator. A transient failure here throws: the batch is kept. */
  private async setAside(record: AuditRecord, sqlstate: string): Promise<void> {
    let id: number | null = null
    try {
      id = await this.repo.setAside(record, sqlstate)
    } catch (err) {
      // Refused as well (no value can be, by its columns): counted and logged, never blocking.
      if (refusedDataCode(err) === undefined) throw err
    }
    this.refused++
    this.options.onSetAside?.(record, sqlstate, id)
  }

  private notify(record: AuditRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record)
      } catch {
        // A listener (metrics) must never stop an event from being written.
      }
    }
  }
}

function halves<T>(items: T[]): [T[], T[]] {
  const middle = Math.ceil(items.length / 2)
  return [items.slice(0, middle), items.slice(middle)]
}
