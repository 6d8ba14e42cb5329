import type { Cluster } from 'ioredis'
import { type ClusterStoreOptions, clusterReady, openCluster, readBuckets } from './cluster-client.js'
import { ClusterLayout } from './cluster-layout.js'
import { type RevocationStore, StoreUnavailableError } from './store.js'
import type { RevocationLookup } from './verdict.js'

/**
 * Reads the deny-list our service keeps on a Redis Cluster, for the resource-server kit. It never
 * writes or restores (the service does), so it trusts a bucket by the completeness mark the
 * service's last restore of it wrote (that server's time, in ms).
 *
 * Invariant: an answer comes only from buckets whose mark is present and, once a bucket's master
 * has changed since this reader last read it, later than the mark it read before the change. The
 * promoted replica may lack the last revocations, and holds at most the mark it copied; the service
 * instances restore the bucket from PostgreSQL after the failover, which writes a later one.
 * What a reader cannot know is a failover before its first read of a bucket.
 */
export class ClusterRevocationReader implements RevocationStore {
  readonly shared = true
  readonly client: Cluster
  private readonly layout: ClusterLayout
  /** Per bucket: the master and the mark of the last read. */
  private readonly seen: ({ master: string | undefined; mark: number } | undefined)[]
  /** Per bucket: the mark must be above this (the last one read before a failover). */
  private readonly floor: number[]

  constructor(nodes: { host: string; port: number }[], options: ClusterStoreOptions = {}) {
    this.layout = new ClusterLayout(options.prefix ?? 'authjwt:')
    this.seen = new Array(this.layout.count).fill(undefined)
    this.floor = new Array(this.layout.count).fill(0)
    this.client = openCluster(nodes, options)
    this.client.on('error', () => {})
    this.client.on('node error', () => {})
  }

  connect(timeoutMs = 5000): Promise<void> {
    return clusterReady(this.client, timeoutMs)
  }

  async lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    const buckets = [this.layout.userBucket(userId), this.layout.tokenBucket(jti)] as const
    const masters = buckets.map((b) => this.client.slots[this.layout.slots[b]!]?.[0])
    const { marks, found } = await readBuckets(this.client, this.layout, jti, sid, userId)
    // Both buckets are judged (and remembered) before answering, so neither misses a failover.
    const trusted = buckets.map((b, i) => this.judge(b, masters[i], marks[i]!))
    if (!trusted.every(Boolean)) {
      throw new StoreUnavailableError(new Error('this part of the deny-list is not restored yet'))
    }
    return found
  }

  private judge(bucket: number, master: string | undefined, raw: string | null): boolean {
    if (raw === null || master === undefined) return false
    const mark = Number(raw)
    const before = this.seen[bucket]
    if (before && before.master !== master) this.floor[bucket] = Math.max(this.floor[bucket]!, before.mark)
    this.seen[bucket] = { master, mark }
    return mark > this.floor[bucket]!
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping()
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  async close(): Promise<void> {
    this.client.disconnect()
  }

  denyToken = readOnly
  denySessions = readOnly
  setUserState = readOnly
  setGlobalValidAfter = readOnly
  hit = readOnly
  async keepRestored(): Promise<void> {}
}

async function readOnly(): Promise<never> {
  throw new Error('the cluster reader only reads: our service writes the deny-list')
}
