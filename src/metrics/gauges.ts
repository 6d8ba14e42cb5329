import { Counter, Gauge, type Registry } from 'prom-client'
import type { PoolUsage } from '../database/database.js'

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** Webhook deliveries not delivered yet (a database count). */
  webhookBacklog?: () => Promise<number>
  /** The database pool; undefined or without `busy`: not measured. */
  pool?: () => PoolUsage | undefined
  /**
   * The audit trail's memory: events waiting for their batch, events dropped while the database
   * was away, events the database refused (set aside in audit_dead_letters).
   */
  audit?: () => { buffered: number; dropped: number; refused: number }
  /** A gauge that could not be read (it reports NaN for that scrape). */
  onCollectError?: (err: unknown, metric: string) => void
}

/** The gauges read at scrape time from what the service holds: webhook backlog, database pool, audit trail. */
export function registerGauges(
  registry: Registry,
  name: (n: string) => string,
  sources: MetricsSources,
): void {
  const failed = (gauge: Gauge, metric: string, err: unknown) => {
    gauge.set(Number.NaN)
    sources.onCollectError?.(err, metric)
  }
  const { webhookBacklog, pool, audit } = sources
  if (webhookBacklog) {
    const backlog = name('webhook_deliveries_pending')
    new Gauge({
      name: backlog,
      help: 'Webhook deliveries not delivered yet (waiting for their first try or a retry).',
      registers: [registry],
      async collect() {
        try {
          this.set(await webhookBacklog())
        } catch (err) {
          failed(this, backlog, err)
        }
      },
    })
  }
  if (pool) {
    const usage = () => {
      try {
        return pool()
      } catch {
        return undefined
      }
    }
    const first = usage()
    new Gauge({
      name: name('db_pool_size'),
      help: 'Connections the database pool may open (PGlite: 1).',
      registers: [registry],
      collect() {
        this.set(usage()?.size ?? Number.NaN)
      },
    })
    if (first?.busy !== undefined) {
      new Gauge({
        name: name('db_pool_in_use'),
        help: 'Connections of the pool running a statement or a transaction.',
        registers: [registry],
        collect() {
          const u = usage()
          this.set(u?.busy === undefined ? Number.NaN : Math.min(u.busy, u.size))
        },
      })
      new Gauge({
        name: name('db_pool_waiting'),
        help: 'Statements and transactions waiting for a connection of the pool.',
        registers: [registry],
        collect() {
          const u = usage()
          this.set(u?.busy === undefined ? Number.NaN : Math.max(0, u.busy - u.size))
        },
      })
    }
  }
  if (audit) {
    new Gauge({
      name: name('audit_events_buffered'),
      help: 'Security events recorded but not written to the audit log yet.',
      registers: [registry],
      collect() {
        this.set(audit().buffered)
      },
    })
    new Counter({
      name: name('audit_events_dropped_total'),
      help: 'Security events dropped because the buffer was full while the database was away.',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(audit().dropped)
      },
    })
    new Counter({
      name: name('audit_events_set_aside_total'),
      help: 'Security events the database refused to store, kept in audit_dead_letters for an operator.',
      registers: [registry],
      collect() {
        this.reset()
        this.inc(audit().refused)
      },
    })
  }
}
