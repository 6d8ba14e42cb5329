import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { Rounds } from '../lib/rounds.js'
import {
  CLAIM_GAP_MS,
  type DelivererOptions,
  HELD_PER_SLOT,
  IDLE_SOCKET_MS,
  SETTLE_BATCH,
  STARVED_CLAIM_GAP_MS,
} from './deliverer-options.js'
import type { ClaimedDelivery, DeliveryRepository, Settlement } from './deliveries.js'
import type { EndpointRepository } from './endpoints.js'
import { attemptsForADay, verdict as verdictOf } from './retry-policy.js'
import { SignedSender } from './signed-sender.js'
import { guardedLookup } from './target-guard.js'

export type { DelivererOptions } from './deliverer-options.js'
export { attemptsForADay } from './retry-policy.js'

/**
 * Sends the webhook outbox. As the Mailer: `kick()` after the audit batch that queued deliveries
 * has committed, a timer for retries and other instances' rows, a lease before each attempt, so
 * an outage or a crash delays a delivery but never loses it (at least once: a crash between the
 * receiver's 2xx and our update sends it again, with the same webhook-id).
 *
 * Unlike the Mailer, attempts run side by side (up to `maxInFlight`, `maxPerEndpoint` each), so a
 * receiver that takes its full timeout holds one slot, not the queue; and none of this runs on a
 * request's path, so logins never wait for a receiver.
 *
 * The database work is batched: one statement leases many deliveries (each the oldest pending of
 * its endpoint and user, so they may go out side by side), which wait here for a slot; finished
 * attempts are recorded together, one statement for all that ended meanwhile. A slot is free as
 * soon as its attempt ends; the user's next delivery becomes due once the attempt is recorded.
 * Connections to a receiver are kept alive and reused (one keep-alive pool per origin, in the
 * agents); the SSRF guard checks each new connection's address, and a reused socket stays on the
 * address it was checked for.
 */
export class Deliverer {
  private readonly rounds = new Rounds(() => this.drain())
  /** Leased, waiting for a slot; oldest first. */
  private queue: ClaimedDelivery[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private readonly perEndpoint = new Map<number, number>()
  /** Per endpoint: deliveries waiting in `queue` or in flight. */
  private readonly held = new Map<number, number>()
  private readonly agents
  private readonly sender: SignedSender
  private readonly stopping = new AbortController()
  private readonly lookup: LookupFunction
  private readonly maxAttempts: number
  private readonly maxInFlight: number
  private readonly maxPerEndpoint: number
  /** Finished attempts not yet recorded, and the statement recording the previous ones. */
  private unsettled: Settlement[] = []
  private settling: Promise<void> | undefined
  private settleScheduled = false

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly endpoints: EndpointRepository,
    private readonly options: DelivererOptions,
  ) {
    this.lookup = options.lookup ?? guardedLookup(options.allowPrivate)
    this.maxAttempts = options.maxAttempts ?? attemptsForADay(options.retryMs)
    this.maxInFlight = options.maxInFlight ?? 8
    this.maxPerEndpoint = options.maxPerEndpoint ?? Math.max(1, Math.floor(this.maxInFlight / 2))
    // Node's agents pool sockets per origin (host and port): one keep-alive pool per endpoint origin.
    const agentOptions = {
      keepAlive: true,
      maxSockets: this.maxPerEndpoint,
      maxFreeSockets: this.maxPerEndpoint,
      timeout: IDLE_SOCKET_MS,
      lookup: this.lookup,
    }
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) }
    this.sender = new SignedSender(options, this.lookup, this.agents, this.stopping)
  }

  start(): void {
    this.rounds.start(this.options.pollMs ?? Math.min(5000, this.options.retryMs))
  }

  /** Sends what is due now. */
  kick(): void {
    this.rounds.kick()
  }

  /** Resolves once nothing is in flight, waiting or unrecorded and no round runs (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      await this.rounds.idle()
      const busy = [...this.inFlight]
      if (this.settling) busy.push(this.settling)
      if (busy.length === 0 && this.unsettled.length > 0) busy.push(this.flushSettled())
      if (busy.length === 0) {
        if (this.queue.length === 0 || this.rounds.stopped) return
        // Waiting deliveries and free slots: a round launches them.
        this.kick()
        continue
      }
      await Promise.all(busy)
    }
  }

  /**
   * Stops claiming and cuts the attempts in flight short rather than wait for slow receivers: each
   * is recorded ('shutdown') and tried again after its backoff, here or on another instance. The
   * leases of deliveries still waiting here are given back, so they are due again at once.
   */
  async stop(): Promise<void> {
    this.stopping.abort()
    await this.rounds.stop()
    clearTimeout(this.laterTimer)
    const waiting = this.queue
    this.queue = []
    for (const d of waiting) this.drop(d.endpointId)
    await this.deliveries.release(waiting).catch(() => {
      // The database is away: the leases run out instead.
    })
    await this.idle()
    this.agents.http.destroy()
    this.agents.https.destroy()
  }

  private async drain(): Promise<void> {
    const cap = this.maxPerEndpoint * HELD_PER_SLOT
    const most = this.maxInFlight * HELD_PER_SLOT
    for (;;) {
      this.launchWaiting()
      if (this.rounds.stopped) return
      // A claim reads every pending row, so it is made for many at once: when few wait here (and
      // at once when none do), or, less often, when a slot is free while all that waits is for
      // endpoints at their limit (another endpoint may have work).
      const since = Date.now() - this.lastClaim
      const wait =
        this.queue.length === 0
          ? 0
          : this.queue.length < most / 4
            ? CLAIM_GAP_MS
            : this.inFlight.size < this.maxInFlight
              ? STARVED_CLAIM_GAP_MS
              : undefined
      if (wait === undefined) return
      if (since < wait) {
        this.later(wait - since)
        return
      }
      this.lastClaim = Date.now()
      const room = Math.max(
        this.maxInFlight - this.inFlight.size,
        most - this.queue.length - this.inFlight.size,
      )
      let batch: ClaimedDelivery[]
      try {
        batch = await this.deliveries.claim(room, new Date(Date.now() + this.leaseMs(cap)), cap, this.held)
      } catch {
        return // the database is away: the timer tries again
      }
      if (batch.length === 0) return
      if (this.rounds.stopped) {
        await this.deliveries.release(batch).catch(() => {})
        return
      }
      for (const d of batch) this.held.set(d.endpointId, (this.held.get(d.endpointId) ?? 0) + 1)
      this.queue = this.queue.length === 0 ? batch : [...this.queue, ...batch].sort((a, b) => a.id - b.id)
    }
  }

  private lastClaim = 0
  private laterTimer: NodeJS.Timeout | undefined

  /** A round once a claim is allowed again. */
  private later(ms: number): void {
    if (this.laterTimer) return
    this.laterTimer = setTimeout(() => {
      this.laterTimer = undefined
      this.kick()
    }, ms)
    this.laterTimer.unref()
  }

  /**
   * A lease covers the wait for a slot too: with `held` deliveries of one endpoint here and
   * `maxPerEndpoint` at a time, the last starts after held / maxPerEndpoint attempts at most.
   * One that would still outlive its lease is given back instead of sent (launchWaiting).
   */
  private leaseMs(held: number): number {
    return this.options.timeoutMs * Math.min(4, Math.ceil(held / this.maxPerEndpoint)) + 30_000
  }

  /** Starts waiting deliveries, oldest first, as far as the slots allow. */
  private launchWaiting(): void {
    if (this.queue.length === 0 || this.inFlight.size >= this.maxInFlight || this.rounds.stopped) return
    const left: ClaimedDelivery[] = []
    const expired: ClaimedDelivery[] = []
    const latest = Date.now() + this.options.timeoutMs + 5000
    for (const d of this.queue) {
      if (
        this.inFlight.size >= this.maxInFlight ||
        (this.perEndpoint.get(d.endpointId) ?? 0) >= this.maxPerEndpoint
      ) {
        left.push(d)
      } else if (d.leaseUntil.getTime() < latest) {
        expired.push(d)
        this.drop(d.endpointId)
      } else {
        this.launch(d)
      }
    }
    this.queue = left
    if (expired.length > 0) void this.deliveries.release(expired).catch(() => {})
  }

  private drop(endpointId: number): void {
    const n = (this.held.get(endpointId) ?? 1) - 1
    if (n > 0) this.held.set(endpointId, n)
    else this.held.delete(endpointId)
  }

  private launch(delivery: ClaimedDelivery): void {
    const id = delivery.endpointId
    this.perEndpoint.set(id, (this.perEndpoint.get(id) ?? 0) + 1)
    const task: Promise<void> = this.attempt(delivery)
      .catch(() => {
        // Not expected (attempt answers an outcome); the lease runs out and it is tried again.
      })
      .finally(() => {
        this.inFlight.delete(task)
        const left = (this.perEndpoint.get(id) ?? 1) - 1
        if (left > 0) this.perEndpoint.set(id, left)
        else this.perEndpoint.delete(id)
        this.drop(id)
        // A slot is free: the next waiting delivery takes it, and a round claims more if few wait.
        this.launchWaiting()
        this.kick()
      })
    this.inFlight.add(task)
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const startedAt = new Date()
    const outcome = await this.sender.send(delivery)
    const verdict = verdictOf(delivery, outcome, this.maxAttempts, this.options.retryMs)
    if (verdict.status !== 'delivered') this.options.onAttemptFailed?.(delivery, outcome)
    this.unsettled.push({ id: delivery.id, outcome, verdict, startedAt, endedAt: new Date() })
    if (outcome.statusCode === 410) this.gone.add(delivery.endpointId)
    this.scheduleSettle()
  }

  /** Endpoints whose receiver answered 410, disabled once their attempts are recorded. */
  private readonly gone = new Set<number>()

  /** Records what finished in this turn of the loop (and while the last statement ran) together. */
  private scheduleSettle(): void {
    if (this.settleScheduled || this.settling) return
    this.settleScheduled = true
    setImmediate(() => {
      this.settleScheduled = false
      void this.flushSettled()
    })
  }

  private flushSettled(): Promise<void> {
    if (this.settling) return this.settling
    const batch = this.unsettled.splice(0, SETTLE_BATCH)
    const gone = [...this.gone]
    this.gone.clear()
    if (batch.length === 0 && gone.length === 0) return Promise.resolve()
    const run = async () => {
      try {
        await this.deliveries.settle(batch)
      } catch {
        // Recording failed (the database went away): the leases run out and they are tried again.
        for (const id of gone) this.gone.add(id)
        return
      }
      for (const id of gone) {
        await this.endpoints.update(id, { isActive: false }).catch(() => {})
        // Its deliveries waiting here wait for the endpoint to be enabled again.
        const mine = this.queue.filter((d) => d.endpointId === id)
        if (mine.length > 0) {
          this.queue = this.queue.filter((d) => d.endpointId !== id)
          for (const d of mine) this.drop(d.endpointId)
          await this.deliveries.release(mine).catch(() => {})
        }
        this.options.onEndpointGone?.(id)
      }
    }
    this.settling = run().finally(() => {
      this.settling = undefined
      if (this.unsettled.length > 0 || this.gone.size > 0) this.scheduleSettle()
      // The next delivery of each user just recorded may be due now.
      this.kick()
    })
    return this.settling
  }
}
