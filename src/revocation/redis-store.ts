import { randomBytes } from 'node:crypto'
import { Redis, type RedisOptions } from 'ioredis'
import { defineScripts, hitCounters, scripts, serverStamp } from './redis-scripts.js'
import { Batcher } from '../lib/batcher.js'
import { checkDatabase } from './redis-target.js'
import type { RevocationLookup, UserRevocationState } from './verdict.js'
import { encodeUserState } from './verdict.js'
import {
  type CounterState,
  EVERYTHING,
  keys,
  orUnavailable,
  type RestoreScope,
  type RevocationStore,
  type SessionRef,
  StoreUnavailableError,
  ttl,
} from './store.js'

interface LookupInput {
  jti: string
  sid: number | undefined
  userId: number
}

export interface RedisStoreOptions {
  prefix?: string
  commandTimeoutMs?: number
}

/**
 * The production deny-list: shared by every instance, so a revocation holds everywhere at once.
 *
 * Invariant: a lookup is answered only from a Redis known to hold every revocation in PostgreSQL.
 * Redis can lose entries in three ways, and each one starts a restore (the `rebuild` given to
 * `keepRestored`) during which this instance's lookups fail closed:
 * - it was emptied (FLUSHALL, a restart without persistence, an eviction): the completeness mark,
 *   read in the same MGET as every lookup, is gone;
 * - the connection dropped: Redis may have restarted, or missed revocations meanwhile;
 * - a write failed (a timeout while Redis stalled): that revocation is in PostgreSQL only.
 */
export class RedisRevocationStore implements RevocationStore {
  readonly shared = true
  readonly client: Redis
  /** The prefix every key of this store starts with. */
  readonly prefix: string
  private rebuild: ((scope: RestoreScope) => Promise<unknown>) | undefined
  /** Connections made so far: an answer read across a reconnection is not trusted. */
  private connections = 0
  /** True while a restore is due or running: lookups fail closed. */
  private restoring = false
  /** Writes that failed so far: a restore that overlapped one may lack that revocation. */
  private failedWrites = 0
  private closed = false
  private readonly lookups = new Batcher((batch: LookupInput[]) => this.lookupMany(batch), {
    maxInFlight: 8,
    maxBatch: 256,
  })

  /** `target`: a redis:// URL, or ioredis options naming the server (Sentinel: redis-target.ts). */
  constructor(target: string | RedisOptions, options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? 'authjwt:'
    const common: RedisOptions = {
      // Concurrent requests share one write to the socket.
      enableAutoPipelining: true,
      // A lookup is already one MGET per loop turn (the Batcher): wrapping it in a pipeline of one
      // costs a Pipeline object and its promises per batch for nothing.
      autoPipeliningIgnoredCommands: ['mget'],
      // Fail closed at once while disconnected, instead of queueing requests until Redis returns.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A stalled Redis (paused, swapping) keeps the connection open and answers nothing.
      commandTimeout: options.commandTimeoutMs ?? 500,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      // A master demoted by a failover keeps our connection and refuses writes: reconnect, to the
      // new master (Sentinel names it); the reconnection restores the deny-list before use.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
    }
    this.client = typeof target === 'string' ? new Redis(target, common) : new Redis({ ...target, ...common })
    defineScripts(this.client)
    // Connection errors surface per command as 503; the client keeps reconnecting on its own.
    this.client.on('error', () => {})
    this.client.on('ready', () => {
      this.connections += 1
      if (this.connections > 1) this.restore()
    })
  }

  /** Resolves once connected, or rejects with StoreUnavailableError. */
  async connect(timeoutMs = 5000): Promise<void> {
    if (this.client.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup()
          reject(new StoreUnavailableError(new Error(`Redis not ready after ${timeoutMs} ms`)))
        }, timeoutMs)
        const onReady = () => {
          cleanup()
          resolve()
        }
        // A refused connection or login will not heal by waiting: say so at once (a start
        // fails fast, naming the cause). Through Sentinels a master may be between failovers: wait.
        const onError = (err: Error & { code?: string }) => {
          if (this.client.options.sentinels?.length) return
          const hopeless =
            ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(
              err.code ?? '',
            ) || /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(err.message)
          if (!hopeless) return
          cleanup()
          reject(new StoreUnavailableError(err))
        }
        const cleanup = () => {
          clearTimeout(timer)
          this.client.off('ready', onReady)
          this.client.off('error', onError)
        }
        this.client.on('ready', onReady)
        this.client.on('error', onError)
      })
    }
    await checkDatabase(this.client)
  }

  /**
   * Resolves after the first attempt, whatever its outcome: a service may start while Redis is
   * down (refresh needs only the database), with protected routes answering 503 until a later
   * attempt succeeds.
   */
  keepRestored(rebuild: (scope: RestoreScope) => Promise<unknown>): Promise<void> {
    this.rebuild = rebuild
    return this.restore()
  }

  /**
   * Rewrites the deny-list, then sets the completeness mark, unless Redis lost data meanwhile (a
   * reconnection, or a flush that removed this restore's sentinel): then nothing is trusted and
   * the caller tries again.
   */
  private async restoreOnce(): Promise<void> {
    const rebuild = this.rebuild
    if (!rebuild) return
    if (this.client.status !== 'ready') throw new StoreUnavailableError(new Error('Redis is not connected'))
    const connection = this.connections
    const failedWrites = this.failedWrites
    const sentinel = keys.restoring(this.prefix, randomBytes(8).toString('hex'))
    await orUnavailable(() => this.client.set(sentinel, '1', 'EX', 3600))
    const stamp = await orUnavailable(() => serverStamp(this.client))
    await rebuild({ ...EVERYTHING, stamp: () => stamp })
    const finished = await orUnavailable(() =>
      scripts(this.client).finishRestore(sentinel, keys.complete(this.prefix)),
    )
    if (finished !== 1 || connection !== this.connections || failedWrites !== this.failedWrites) {
      throw new StoreUnavailableError(new Error('Redis lost data while the deny-list was restored'))
    }
  }

  /**
   * Starts a restore, retrying each second until one completes; resolves after the first attempt.
   * Does nothing while one is under way (it will see what happened meanwhile, or fail and retry).
   */
  private restore(): Promise<void> {
    if (this.restoring || !this.rebuild || this.closed) return Promise.resolve()
    this.restoring = true
    return new Promise((firstAttempt) => {
      const attempt = (): void => {
        this.restoreOnce().then(
          () => {
            this.restoring = false
            firstAttempt()
          },
          () => {
            firstAttempt()
            if (!this.closed) setTimeout(attempt, 1000).unref()
          },
        )
      }
      attempt()
    })
  }

  /** A write Redis may not hold: PostgreSQL has it, so restore from there before trusting Redis again. */
  private async write(op: () => Promise<unknown>): Promise<void> {
    try {
      await op()
    } catch (err) {
      this.failedWrites += 1
      this.restore()
      throw new StoreUnavailableError(err)
    }
  }

  lookup(jti: string, sid: number | undefined, userId: number): Promise<RevocationLookup> {
    if (this.restoring) return Promise.reject(new StoreUnavailableError(new Error('restoring the deny-list')))
    return this.lookups.submit({ jti, sid, userId })
  }

  /**
   * The lookups of one loop turn as one MGET (completeness mark and global mark read once): one
   * command to build and one reply to parse for the whole batch.
   */
  private async lookupMany(batch: LookupInput[]): Promise<RevocationLookup[]> {
    const p = this.prefix
    const keyList: string[] = [keys.complete(p), keys.global(p)]
    for (const { jti, sid, userId } of batch) {
      keyList.push(
        keys.jti(p, jti),
        sid === undefined ? keys.jti(p, '-') : keys.session(p, sid),
        keys.user(p, userId),
      )
    }
    const connection = this.connections
    const values = await orUnavailable(() => this.client.mget(keyList))
    if (values[0] === null) {
      // Emptied without a disconnect (FLUSHALL, eviction): nothing read here can be trusted.
      this.restore()
      throw new StoreUnavailableError(new Error('Redis lost the deny-list'))
    }
    // ioredis resends a command cut off by a dropped connection once it reconnects: that answer
    // comes from a Redis that may have restarted empty, before the deny-list was restored.
    if (this.restoring || this.connections !== connection) {
      throw new StoreUnavailableError(new Error('Redis reconnected while the lookup was in flight'))
    }
    const globalValidAfter = values[1] ?? null
    return batch.map((input, i) => ({
      jtiDenied: values[2 + 3 * i] !== null,
      sessionDenied: input.sid !== undefined && values[3 + 3 * i] !== null,
      user: values[4 + 3 * i] ?? null,
      globalValidAfter,
    }))
  }

  denyToken(jti: string, seconds: number): Promise<void> {
    return this.write(() => this.client.set(keys.jti(this.prefix, jti), '1', 'EX', ttl(seconds)))
  }

  denySessions(sessions: SessionRef[], seconds: number): Promise<void> {
    if (sessions.length === 0) return Promise.resolve()
    const expire = ttl(seconds)
    // Separate commands, not a pipeline(): auto-pipelining sends the commands of every request in
    // this turn of the loop in one socket write, while each pipeline().exec() writes on its own.
    return this.write(() =>
      Promise.all(
        sessions.map(({ id }) => this.client.set(keys.session(this.prefix, id), '1', 'EX', expire)),
      ),
    )
  }

  setUserState(userId: number, state: UserRevocationState, seconds: number, restoreStamp?: string) {
    const key = keys.user(this.prefix, userId)
    return this.write(() =>
      scripts(this.client).setUserState(key, encodeUserState(state), ttl(seconds), restoreStamp ?? ''),
    )
  }

  setGlobalValidAfter(ms: number, seconds: number): Promise<void> {
    return this.write(() =>
      scripts(this.client).raiseMark(keys.global(this.prefix), String(ms), ttl(seconds)),
    )
  }

  hit(counters: string[], windowMs: number): Promise<CounterState[]> {
    return orUnavailable(() => hitCounters(this.client, this.prefix, counters, windowMs))
  }

  /** Answers only when lookups would: connected, and not restoring. */
  async ping(): Promise<void> {
    if (this.restoring) throw new StoreUnavailableError(new Error('restoring the deny-list'))
    await orUnavailable(() => this.client.ping())
  }

  async close(): Promise<void> {
    this.closed = true
    this.client.disconnect()
  }
}
