import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import { AUDIT_EVENT_TYPES, type AuditRecord } from '../audit/events.js'
import type { RevocationStore } from '../revocation/store.js'
import { FastHistogram, type HistogramCell } from './histogram.js'
import { InstrumentedStore, STORE_OPERATIONS, type StoreOperation } from './instrumented-store.js'
import { type MetricsSources, registerGauges } from './gauges.js'
import { type Tally, TallyCounter } from './tally.js'

export const PREFIX = 'authjwt_'

/** Request latency, seconds: a protected route answers in about a millisecond, a login in tens. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Revocation-store latency, seconds: the in-process store answers in microseconds, Redis in about 100 µs. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

/**
 * One route's request histogram series, found by method and status without building a string:
 * a route sees a handful of (method, status) pairs, searched in order.
 */
export class RouteMetrics {
  private readonly methods: string[] = []
  private readonly statuses: number[] = []
  private readonly cells: HistogramCell[] = []

  constructor(
    private readonly histogram: FastHistogram,
    readonly url: string,
    /** The route renews tokens: its 401s are refused refreshes. */
    readonly refreshes: boolean,
  ) {}

  observe(method: string, status: number, seconds: number): void {
    const { cells, statuses, methods } = this
    for (let i = 0; i < cells.length; i++) {
      if (statuses[i] === status && methods[i] === method) {
        cells[i]!.observe(seconds)
        return
      }
    }
    const cell = this.histogram.cell(this.url, method, String(status))
    methods.push(method)
    statuses.push(status)
    cells.push(cell)
    cell.observe(seconds)
  }
}

/** The label of every request no route matched (404, 405): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched'

const LOGIN_OUTCOMES = ['succeeded', 'failed', 'mfa_challenged', 'mfa_failed'] as const
const REFRESH_OUTCOMES = ['rotated', 'renewed', 'reused', 'refused'] as const
const LABEL_VALUE = /^[a-z0-9_.]{1,48}$/
const ROUTE_VALUE = /^\/[\x21-\x7e]{0,199}$/

/** Reuse events waiting for their request's 401; more than this means they never will come. */
const MAX_REUSE_PENDING = 1000

let processRegistry: Registry | undefined

/** Process metrics (CPU, memory, event loop, GC): collected once per process, whatever the apps. */
function defaultMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: PREFIX })
  }
  return processRegistry
}

/**
 * Every metric the service exposes, prefixed `authjwt_`. The per-request paths (the request
 * histogram, the revocation store) touch only numbers they hold; gauges that cost a query (the
 * webhook backlog) are read when Prometheus scrapes.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly unmatched: RouteMetrics
  private readonly requests: FastHistogram
  private readonly routes = new Map<string, RouteMetrics>()
  private readonly logins: Record<(typeof LOGIN_OUTCOMES)[number], Tally>
  private readonly loginFailures: TallyCounter
  private readonly refreshes: Record<(typeof REFRESH_OUTCOMES)[number], Tally>
  private readonly rateLimitHits: TallyCounter
  private readonly auditEvents: TallyCounter
  private readonly storeLatency: FastHistogram
  private readonly storeErrors: TallyCounter
  private readonly rebuilds: TallyCounter
  private readonly rebuildSeconds: Histogram
  /** Request ids whose refresh was reuse: their 401 is counted as reused, not refused. */
  private readonly reusedRequests = new Set<string>()

  constructor(sources: MetricsSources = {}) {
    const registry = this.registry
    const name = (n: string) => PREFIX + n
    this.requests = new FastHistogram(
      name('http_request_duration_seconds'),
      'HTTP requests by route pattern, method and status code: latency, and with _count the request rate.',
      ['route', 'method', 'status_code'],
      REQUEST_BUCKETS,
    )
    registry.registerMetric(this.requests.asMetric())
    this.unmatched = new RouteMetrics(this.requests, UNMATCHED_ROUTE, false)

    const logins = new TallyCounter(
      registry,
      name('logins_total'),
      'Login attempts by outcome (succeeded, failed, mfa_challenged, mfa_failed).',
      'outcome',
      LOGIN_OUTCOMES,
    )
    this.logins = Object.fromEntries(LOGIN_OUTCOMES.map((o) => [o, logins.of(o)])) as Metrics['logins']
    this.loginFailures = new TallyCounter(
      registry,
      name('login_failures_total'),
      'Failed logins by reason (unknown_user, wrong_password, inactive, account_expired, ...).',
      'reason',
    )
    const refreshes = new TallyCounter(
      registry,
      name('token_refreshes_total'),
      'Refresh requests by outcome: rotated (a new pair), renewed (access only, rotation off), reused (a spent token: its session revoked), refused (any other 401).',
      'outcome',
      REFRESH_OUTCOMES,
    )
    this.refreshes = Object.fromEntries(
      REFRESH_OUTCOMES.map((o) => [o, refreshes.of(o)]),
    ) as Metrics['refreshes']
    this.rateLimitHits = new TallyCounter(
      registry,
      name('rate_limit_hits_total'),
      'Requests refused by a rate limit (429), by route pattern.',
      'route',
    )
    this.auditEvents = new TallyCounter(
      registry,
      name('audit_events_total'),
      'Security events recorded, by type (counted whether or not the audit log is enabled).',
      'type',
      AUDIT_EVENT_TYPES,
    )

    this.storeLatency = new FastHistogram(
      name('revocation_store_duration_seconds'),
      'Revocation store operations: latency by operation.',
      ['operation'],
      STORE_BUCKETS,
    )
    registry.registerMetric(this.storeLatency.asMetric())
    for (const op of STORE_OPERATIONS) this.storeLatency.cell(op)
    this.storeErrors = new TallyCounter(
      registry,
      name('revocation_store_errors_total'),
      'Revocation store operations that failed, by operation.',
      'operation',
      STORE_OPERATIONS,
    )
    this.rebuilds = new TallyCounter(
      registry,
      name('revocation_rebuilds_total'),
      'Rebuilds of the revocation store from the database (at start, and after the store lost entries), by result.',
      'result',
      ['ok', 'failed'],
    )
    this.rebuildSeconds = new Histogram({
      name: name('revocation_rebuild_duration_seconds'),
      help: 'How long each rebuild of the revocation store took.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers: [registry],
    })

    registerGauges(registry, name, sources)
  }

  /** The series of a route pattern, made once when the route is registered. */
  route(url: string, refreshes = false): RouteMetrics {
    let route = this.routes.get(url)
    if (!route) {
      route = new RouteMetrics(this.requests, url, refreshes)
      this.routes.set(url, route)
    }
    return route
  }

  /** Called when a response has been sent. */
  responded(route: RouteMetrics, method: string, status: number, seconds: number, requestId: string): void {
    route.observe(method, status, seconds)
    if (route.refreshes && status === 401) {
      if (this.reusedRequests.size > 0 && this.reusedRequests.delete(requestId)) return
      this.refreshes.refused.value++
    }
  }

  /** Every security event, as the audit trail records it (src/audit/audit-log.ts onRecord). */
  recorded(record: AuditRecord): void {
    this.auditEvents.of(record.type).value++
    const details = record.details
    switch (record.type) {
      case 'login.succeeded':
        this.logins.succeeded.value++
        break
      case 'login.failed':
        this.logins.failed.value++
        this.loginFailures.of(labelValue(details?.reason)).value++
        break
      case 'mfa.challenged':
        this.logins.mfa_challenged.value++
        break
      case 'mfa.failed':
        this.logins.mfa_failed.value++
        break
      case 'token.refreshed':
        if (details?.rotated === false) this.refreshes.renewed.value++
        else this.refreshes.rotated.value++
        break
      case 'token.reuse_detected':
        this.refreshes.reused.value++
        if (record.requestId) {
          if (this.reusedRequests.size >= MAX_REUSE_PENDING) this.reusedRequests.clear()
          this.reusedRequests.add(record.requestId)
        }
        break
      case 'rate_limit.hit': {
        const route = details?.route
        this.rateLimitHits.of(typeof route === 'string' && ROUTE_VALUE.test(route) ? route : UNMATCHED_ROUTE)
          .value++
        break
      }
    }
  }

  /** The store, timed by operation, with its failures and rebuilds counted. */
  instrument(store: RevocationStore): RevocationStore {
    const latency = Object.fromEntries(
      STORE_OPERATIONS.map((op) => [op, this.storeLatency.cell(op)]),
    ) as Record<StoreOperation, HistogramCell>
    return new InstrumentedStore(store, {
      latency,
      failed: (op) => {
        this.storeErrors.of(op).value++
      },
      rebuilt: (seconds, ok) => {
        this.rebuilds.of(ok ? 'ok' : 'failed').value++
        this.rebuildSeconds.observe(seconds)
      },
    })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text: this app's metrics and the process's. */
  async text(): Promise<string> {
    const text = await Registry.merge([defaultMetrics(), this.registry]).metrics()
    // prom-client writes NaN as `Nan` (an event-loop gauge before its first sample); the format says NaN.
    return text.replace(/ Nan$/gm, ' NaN')
  }
}

/** A label value from an event's details: a short code, or `other` (a label never holds input). */
function labelValue(value: unknown): string {
  return typeof value === 'string' && LABEL_VALUE.test(value) ? value : 'other'
}
