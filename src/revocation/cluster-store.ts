import { randomBytes } from 'node:crypto'
import type { Cluster } from 'ioredis'
import {
  type ClusterStoreOptions,
  clusterReady,
  masterClocks,
  onNodeReconnected,
  openCluster,
  readBuckets,
} from './cluster-client.js'
import { ClusterLayout } from './cluster-layout.js'
import { defineScripts, hitCounters, scripts } from './redis-scripts.js'
import { encodeUserState, type RevocationLookup, type UserRevocationState } from './verdict.js'
import {
  type CounterState,
  keys,
  orUnavailable,
  type RestoreScope,
  type RevocationStore,
  type SessionRef,
  StoreUnavailableError,
  ttl,
} from './store.js'

export type { ClusterStoreOptions }

/**
 * The deny-list on a Redis Cluster (REDIS_CLUSTER_NODES), laid out in buckets (cluster-layout.ts).
 *
 * Invariant: a lookup is answered only from buckets known to hold every revocation in PostgreSQL
 * that belongs in them. A bucket is trusted together with the master that was shown to hold it
 * complete; it is untrusted, and restored from the database alone while the rest keep answering,
 * when:
 * - its completeness mark is gone (the node was emptied, or restarted without persistence);
 * - the master serving its slot changed (a failover: the promoted replica may lack the last writes);
 * - a write to it failed (that revocation is in PostgreSQL only);
 * - a node reconnected (it may have restarted): the buckets it serves.
 * Lookups that need an untrusted bucket fail closed with 503.
 */
export class ClusterRevocationStore implements RevocationStore {
  readonly shared = true
  readonly client: Cluster
  readonly layout: ClusterLayout
  private readonly prefix: string
  private rebuild: ((scope: RestoreScope) => Promise<unknown>) | undefined
  /** Per bucket: the master ("host:port") that holds it complete; undefined while untrusted. */
  private readonly trustedMaster: (string | undefined)[]
  /** Per bucket: bumped whenever it is untrusted, so a restore that overlapped one does not count. */
  private readonly losses: number[]
  /** Buckets due for a restore. */
  private readonly pending = new Set<number>()
  /** Node reconnections so far: an answer read across one is not trusted. */
  private reconnections = 0
  private restoring = false
  private closed = false
  /** Every bucket has been restored once: what readiness waits for (ping). */
  private filled = false

  constructor(nodes: { host: string; port: number }[], options: ClusterStoreOptions = {}) {
    this.prefix = options.prefix ?? 'authjwt:'
    this.layout = new ClusterLayout(this.prefix)
    this.trustedMaster = new Array(this.layout.count).fill(undefined)
    this.losses = new Array(this.layout.count).fill(0)
    for (let b = 0; b < this.layout.count; b++) this.pending.add(b)
    this.client = openCluster(nodes, options)
    defineScripts(this.client)
    this.client.on('error', () => {})
    this.client.on('node error', () => {})
    // A failover moves slots: untrust the buckets whose master is not the one that was verified.
    this.client.on('refresh', () => this.checkMasters())
    onNodeReconnected(this.client, (node) => this.nodeReconnected(node))
  }

  /** Resolves once the cluster is ready, or rejects with StoreUnavailableError. */
  connect(timeoutMs = 5000): Promise<void> {
    return clusterReady(this.client, timeoutMs)
  }

  /** Restores every bucket now (trusted ones keep answering meanwhile), then keeps them restored. */
  keepRestored(rebuild: (scope: RestoreScope) => Promise<unknown>): Promise<void> {
    this.rebuild = rebuild
    for (let b = 0; b < this.layout.count; b++) this.pending.add(b)
    return this.restore()
  }

  private masterOf(bucket: number): string | undefined {
    return this.client.slots[this.layout.slots[bucket]!]?.[0]
  }

  /** Whether a bucket may answer now; a bucket whose master changed is untrusted on the spot. */
  private trusts(bucket: number): boolean {
    const trusted = this.trustedMaster[bucket]
    if (trusted === undefined) return false
    if (trusted === this.masterOf(bucket)) return true
    this.untrust([bucket])
    return false
  }

  private untrust(buckets: Iterable<number>): void {
    for (const b of buckets) {
      this.trustedMaster[b] = undefined
      this.losses[b]! += 1
      this.pending.add(b)
    }
    this.restore()
  }

  private checkMasters(): void {
    const moved: number[] = []
    for (let b = 0; b < this.layout.count; b++) {
      const trusted = this.trustedMaster[b]
      if (trusted !== undefined && trusted !== this.masterOf(b)) moved.push(b)
    }
    if (moved.length > 0) this.untrust(moved)
  }

  private nodeReconnected(node: string): void {
    this.reconnections += 1
    this.nodeLost(node)
  }

  /** Untrusts every bucket a node serves. */
  private nodeLost(node: string | undefined): void {
    const served: number[] = []
    for (let b = 0; b < this.layout.count; b++) if (this.masterOf(b) === node) served.push(b)
    this.untrust(served)
  }

  /**
   * Restores the pending buckets, retrying each second until none is left; resolves after the
   * first attempt. One runs at a time; buckets lost meanwhile wait for the next pass.
   */
  private restore(): Promise<void> {
    if (this.restoring || !this.rebuild || this.closed || this.pending.size === 0) return Promise.resolve()
    this.restoring = true
    return new Promise((firstAttempt) => {
      const attempt = (): void => {
        this.restoreOnce().then(
          () => {
            firstAttempt()
            if (this.pending.size > 0 && !this.closed) return attempt()
            this.restoring = false
          },
          () => {
            firstAttempt()
            if (!this.closed) setTimeout(attempt, 1000).unref()
            else this.restoring = false
          },
        )
      }
      attempt()
    })
  }

  /**
   * One pass over the pending buckets: a sentinel in each, the rebuild of their entries, then each
   * completeness mark set only where the sentinel survived, the master is the one seen at the
   * start, and no loss came meanwhile. Buckets that fail any of these stay pending.
   */
  private async restoreOnce(): Promise<void> {
    const rebuild = this.rebuild
    if (!rebuild) return
    const buckets = [...this.pending]
    this.pending.clear()
    const masters = buckets.map((b) => this.masterOf(b))
    const losses = buckets.map((b) => this.losses[b])
    const id = randomBytes(8).toString('hex')
    const failed = new Set<number>()
    try {
      if (this.client.status !== 'ready') throw new Error('Redis Cluster is not connected')
      const sentinel = (b: number) => keys.restoring(this.layout.tags[b]!, id)
      const started = await Promise.allSettled(
        buckets.map((b) => this.client.set(sentinel(b), '1', 'EX', 3600)),
      )
      started.forEach((r, i) => {
        if (r.status === 'rejected') failed.add(buckets[i]!)
      })
      const scope = new Set(buckets)
      // Each bucket's start on the clock of the master it was restored from: its entries are
      // stamped by that clock.
      const clocks = await masterClocks(this.client, new Set(masters))
      const stamps = new Map(buckets.map((b, i) => [b, clocks.get(masters[i]!)]))
      await rebuild({
        user: (userId) => scope.has(this.layout.userBucket(userId)),
        token: (jti) => scope.has(this.layout.tokenBucket(jti)),
        // A bucket without a master fails this pass anyway; '0' writes only where nothing is held.
        stamp: (userId) => stamps.get(this.layout.userBucket(userId)) ?? '0',
      })
      const finished = await Promise.allSettled(
        buckets.map((b) => scripts(this.client).finishRestore(sentinel(b), this.layout.complete(b))),
      )
      finished.forEach((r, i) => {
        const b = buckets[i]!
        const master = masters[i]
        const held = r.status === 'fulfilled' && r.value === 1
        if (held && master !== undefined && master === this.masterOf(b) && losses[i] === this.losses[b]) {
          if (!failed.has(b)) this.trustedMaster[b] = master
        } else {
          failed.add(b)
        }
      })
    } catch (err) {
      for (const b of buckets) failed.add(b)
      for (const b of failed) if (this.trustedMaster[b] === undefined) this.pending.add(b)
      throw new StoreUnavailableError(err)
    }
    for (const b of failed) if (this.trustedMaster[b] === undefined) this.pending.add(b)
    if (failed.size > 0) throw new StoreUnavailableError(new Error(`${failed.size} buckets not restored`))
    if (this.trustedMaster.every((m) => m !== undefined)) this.filled = true
  }

  /** Writes to some buckets; any that fails holds a revocation in PostgreSQL only: restore it. */
  private async write(writes: { bucket: number; op: () => Promise<unknown> }[]): Promise<void> {
    const results = await Promise.allSettled(writes.map((w) => w.op()))
    const lost = writes.filter((_, i) => results[i]!.status === 'rejected').map((w) => w.bucket)
    if (lost.length === 0) return
    this.untrust(lost)
    const first = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    throw new StoreUnavailableError(first.reason)
  }

  async lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    const ub = this.layout.userBucket(userId)
    const tb = this.layout.tokenBucket(jti)
    if (!this.trusts(ub) || !this.trusts(tb)) {
      throw new StoreUnavailableError(new Error('restoring this part of the deny-list'))
    }
    const reconnections = this.reconnections
    const { marks, found } = await readBuckets(this.client, this.layout, jti, sid, userId)
    const emptied = [marks[0] === null ? ub : -1, marks[1] === null ? tb : -1].filter((b) => b >= 0)
    // A node is emptied whole (FLUSHALL, a restart without persistence): restore all it serves.
    for (const b of emptied) this.nodeLost(this.masterOf(b))
    // Read across a reconnection or a failover: the node may have restarted, or be a new master.
    if (emptied.length > 0 || reconnections !== this.reconnections || !this.trusts(ub) || !this.trusts(tb)) {
      throw new StoreUnavailableError(new Error('Redis Cluster lost or moved this part of the deny-list'))
    }
    return found
  }

  denyToken(jti: string, seconds: number): Promise<void> {
    const bucket = this.layout.tokenBucket(jti)
    const key = keys.jti(this.layout.tags[bucket]!, jti)
    return this.write([{ bucket, op: () => this.client.set(key, '1', 'EX', ttl(seconds)) }])
  }

  denySessions(sessions: SessionRef[], seconds: number): Promise<void> {
    const expire = ttl(seconds)
    return this.write(
      sessions.map(({ id, userId }) => {
        const bucket = this.layout.userBucket(userId)
        const key = keys.session(this.layout.tags[bucket]!, id)
        return { bucket, op: () => this.client.set(key, '1', 'EX', expire) }
      }),
    )
  }

  setUserState(userId: number, state: UserRevocationState, seconds: number, restoreStamp?: string) {
    const bucket = this.layout.userBucket(userId)
    const key = keys.user(this.layout.tags[bucket]!, userId)
    const encoded = encodeUserState(state)
    return this.write([
      {
        bucket,
        op: () => scripts(this.client).setUserState(key, encoded, ttl(seconds), restoreStamp ?? ''),
      },
    ])
  }

  /** A copy in every user bucket, so that each lookup reads it from the node it reads anyway. */
  setGlobalValidAfter(ms: number, seconds: number): Promise<void> {
    const expire = ttl(seconds)
    return this.write(
      this.layout.userBuckets().map((bucket) => {
        const key = keys.global(this.layout.tags[bucket]!)
        return { bucket, op: () => scripts(this.client).raiseMark(key, String(ms), expire) }
      }),
    )
  }

  hit(counters: string[], windowMs: number): Promise<CounterState[]> {
    return orUnavailable(() => hitCounters(this.client, this.prefix, counters, windowMs))
  }

  /**
   * Answers once every bucket has been filled, while the cluster is reachable. A bucket restored
   * later (its shard failed over or was emptied) fails only the lookups that need it: every
   * instance restores it at once, and a readiness that failed meanwhile would take them all out of
   * the load balancer together, the requests the other shards could answer with them.
   */
  async ping(): Promise<void> {
    if (!this.filled) throw new StoreUnavailableError(new Error('filling the deny-list'))
    await orUnavailable(() => this.client.ping())
  }

  async close(): Promise<void> {
    this.closed = true
    this.client.disconnect()
  }
}
