import { Redis } from 'ioredis'
import { Batcher } from '../batcher.js'
import type { RevocationLookup, UserRevocationState } from '../revocation.js'
import { encodeUserState } from '../revocation.js'
import { keys, type RevocationStore, StoreUnavailableError, ttl } from './revocation-store.js'

interface LookupInput {
  jti: string
  sid: number | undefined
  userId: number
}

export interface RedisStoreOptions {
  prefix?: string
  commandTimeoutMs?: number
}

/** The production deny-list: shared by every instance, so a revocation holds everywhere at once. */
export class RedisRevocationStore implements RevocationStore {
  readonly kind = 'redis' as const
  readonly client: Redis
  /** The prefix every key of this store starts with. */
  readonly prefix: string
  private restore: (() => Promise<unknown>) | undefined
  /** Connections made so far: an answer read across a reconnection is not trusted. */
  private connections = 0
  /** True from a reconnection until `restore` has rewritten the deny-list: lookups fail closed. */
  private restoring = false
  private readonly lookups = new Batcher((batch: LookupInput[]) => this.lookupMany(batch), {
    maxInFlight: 8,
    maxBatch: 256,
  })

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? 'authjwt:'
    this.client = new Redis(url, {
      // Concurrent requests share one write to the socket.
      enableAutoPipelining: true,
      // Fail closed at once while disconnected, instead of queueing requests until Redis returns.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    })
    // Connection errors surface per command as 503; the client keeps reconnecting on its own.
    this.client.on('error', () => {})
    this.client.on('ready', () => {
      this.connections += 1
      if (this.connections > 1) this.restoreAfterReconnect()
    })
  }

  onReconnect(restore: () => Promise<unknown>): void {
    this.restore = restore
  }

  /**
   * A Redis that restarted may have lost its deny entries (all of them when it keeps nothing on
   * disk), and one that was unreachable missed the revocations made meanwhile (written to the
   * database only). Until `restore` has rewritten them, answering from it could let a revoked
   * token through.
   */
  private restoreAfterReconnect(): void {
    const restore = this.restore
    if (!restore || this.restoring) return
    this.restoring = true
    const attempt = (): void => {
      const connection = this.connections
      restore().then(
        () => {
          // Reconnected again meanwhile: what was written may have been lost with that connection.
          if (this.connections !== connection) attempt()
          else this.restoring = false
        },
        () => {
          // The database may be down as well: try again while connected, failing closed meanwhile.
          if (this.client.status === 'ready') setTimeout(attempt, 1000).unref()
          else this.restoring = false
        },
      )
    }
    attempt()
  }

  /** Resolves once connected, or rejects with StoreUnavailableError. */
  async connect(timeoutMs = 5000): Promise<void> {
    if (this.client.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup()
        reject(new StoreUnavailableError(new Error(`Redis not ready after ${timeoutMs} ms`)))
      }, timeoutMs)
      const onReady = () => {
        cleanup()
        resolve()
      }
      const cleanup = () => {
        clearTimeout(timer)
        this.client.off('ready', onReady)
      }
      this.client.on('ready', onReady)
    })
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    if (this.restoring)
      return Promise.reject(new StoreUnavailableError(new Error('restoring after a reconnect')))
    return this.lookups.submit({ jti, sid, userId })
  }

  /**
   * The lookups of one loop turn as one MGET (global mark read once): one command to build and
   * one reply to parse for the whole batch, where auto-pipelining still made one of each per request.
   */
  private async lookupMany(batch: LookupInput[]): Promise<RevocationLookup[]> {
    const p = this.prefix
    const keyList: string[] = [keys.global(p)]
    for (const { jti, sid, userId } of batch) {
      keyList.push(
        keys.jti(p, jti),
        sid === undefined ? keys.jti(p, '-') : keys.session(p, sid),
        keys.user(p, userId),
      )
    }
    const connection = this.connections
    const values = await this.run(() => this.client.mget(keyList))
    // ioredis resends a command cut off by a dropped connection once it reconnects: that answer
    // comes from a Redis that may have restarted empty, before the deny-list was restored.
    if (this.restoring || this.connections !== connection) {
      throw new StoreUnavailableError(new Error('Redis reconnected while the lookup was in flight'))
    }
    const globalValidAfter = values[0] ?? null
    return batch.map((input, i) => ({
      jtiDenied: values[1 + 3 * i] !== null,
      sessionDenied: input.sid !== undefined && values[2 + 3 * i] !== null,
      user: values[3 + 3 * i] ?? null,
      globalValidAfter,
    }))
  }

  async denyToken(jti: string, seconds: number): Promise<void> {
    await this.run(() => this.client.set(keys.jti(this.prefix, jti), '1', 'EX', ttl(seconds)))
  }

  async denySessions(sids: number[], seconds: number): Promise<void> {
    if (sids.length === 0) return
    const expire = ttl(seconds)
    // Separate commands, not a pipeline(): auto-pipelining sends the commands of every request in
    // this turn of the loop in one socket write, while each pipeline().exec() writes on its own
    // (a logout's own write showed as 6% of the server's CPU in the logout profile).
    await this.run(() =>
      Promise.all(sids.map((sid) => this.client.set(keys.session(this.prefix, sid), '1', 'EX', expire))),
    )
  }

  async setUserState(userId: number, state: UserRevocationState, seconds: number): Promise<void> {
    await this.run(() =>
      this.client.set(keys.user(this.prefix, userId), encodeUserState(state), 'EX', ttl(seconds)),
    )
  }

  async setGlobalValidAfter(ms: number, seconds: number): Promise<void> {
    await this.run(() => this.client.set(keys.global(this.prefix), String(ms), 'EX', ttl(seconds)))
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping())
  }

  async close(): Promise<void> {
    this.client.disconnect()
  }
}
