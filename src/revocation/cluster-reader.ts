import type { Cluster } from 'ioredis'
import { type ClusterStoreOptions, clusterReady, openCluster, readBuckets } from './cluster-client.js'
import { ClusterLayout } from './cluster-layout.js'
import { type RevocationStore, StoreUnavailableError } from './store.js'
import type { RevocationLookup } from './verdict.js'

// A node's id is asked again at most this often, when a mark names another node than the one known.
const ID_REFRESH_MS = 500

/**
 * Reads the deny-list our service keeps on a Redis Cluster, for the resource-server kit. It never
 * writes or restores (the service does), so it trusts a bucket by the completeness mark that the
 * service's last restore of it wrote.
 *
 * Invariant: an answer comes only from buckets whose mark names the node serving them now (the
 * mark holds the id of the node it was written on, CLUSTER MYID). A replica copies the mark with
 * everything else; once promoted it serves a mark that names its old master, and may lack the
 * last revocations, until one of our instances has restored the bucket on it from PostgreSQL.
 */
export class ClusterRevocationReader implements RevocationStore {
  readonly shared = true
  readonly client: Cluster
  private readonly layout: ClusterLayout
  /** Each master's node id ("host:port" → id), and when it was asked. */
  private readonly ids = new Map<string, { id: string; askedAt: number }>()
  private readonly asking = new Map<string, Promise<string | undefined>>()

  constructor(nodes: { host: string; port: number }[], options: ClusterStoreOptions = {}) {
    this.layout = new ClusterLayout(options.prefix ?? 'authjwt:')
    this.client = openCluster(nodes, options)
    this.client.on('error', () => {})
    this.client.on('node error', () => {})
  }

  connect(timeoutMs = 5000): Promise<void> {
    return clusterReady(this.client, timeoutMs)
  }

  async lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    const buckets = [this.layout.userBucket(userId), this.layout.tokenBucket(jti)]
    const masters = buckets.map((b) => this.client.slots[this.layout.slots[b]!]?.[0])
    const { marks, found } = await readBuckets(this.client, this.layout, jti, sid, userId)
    const trusted = await Promise.all(masters.map((master, i) => this.wroteOn(marks[i]!, master)))
    if (!trusted.every(Boolean)) {
      throw new StoreUnavailableError(new Error('this part of the deny-list is not restored yet'))
    }
    return found
  }

  /** Whether a mark was written on this master ("<ms>:<node id>"). */
  private async wroteOn(mark: string | null, master: string | undefined): Promise<boolean> {
    const at = mark?.indexOf(':') ?? -1
    if (mark === null || master === undefined || at < 0) return false
    const writer = mark.slice(at + 1)
    if (writer === '') return false
    const known = this.ids.get(master)
    if (known?.id === writer) return true
    // Not the id known for that address: a replica promoted since, or a node restarted there with
    // a new id. Ask the node itself, at most every ID_REFRESH_MS, one question at a time.
    if (known && Date.now() - known.askedAt < ID_REFRESH_MS) return false
    let asking = this.asking.get(master)
    if (!asking) {
      asking = this.askId(master).finally(() => this.asking.delete(master))
      this.asking.set(master, asking)
    }
    return (await asking) === writer
  }

  private async askId(master: string): Promise<string | undefined> {
    const node = this.client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master)
    try {
      const id = node ? String(await node.call('CLUSTER', 'MYID')) : undefined
      if (id) this.ids.set(master, { id, askedAt: Date.now() })
      return id
    } catch {
      return undefined
    }
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
