import type { Redis, RedisOptions } from 'ioredis'
import { type RedisTargetConfig, type SentinelAddress, usesRedis } from '../config/redis.js'
import { RedisDatabaseError } from './store.js'

// Which Redis is configured is config's question (src/config/redis.ts), how to reach it ours;
// passed on for the callers that ask both.
export { usesRedis }
export type { RedisTargetConfig }

/** What REDIS_URL says beside a Sentinel set or a cluster: credentials, database and TLS; not where. */
function credentials(redisUrl: string | undefined): RedisOptions {
  const url = redisUrl ? new URL(redisUrl) : undefined
  return {
    username: url?.username ? decodeURIComponent(url.username) : undefined,
    password: url?.password ? decodeURIComponent(url.password) : undefined,
    db: url && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url?.protocol === 'rediss:' ? {} : undefined,
  }
}

/**
 * The nodes of the configured Redis Cluster (REDIS_CLUSTER_NODES), and the options each node
 * connection takes; undefined without a cluster.
 */
export function clusterConnection(
  config: RedisTargetConfig,
): { nodes: SentinelAddress[]; redisOptions: RedisOptions } | undefined {
  if (!config.redisClusterNodes?.length) return undefined
  // A cluster has one database: SELECT is refused there.
  const { db: _db, ...redisOptions } = credentials(config.redisUrl)
  return { nodes: config.redisClusterNodes, redisOptions }
}

/**
 * How ioredis reaches the configured Redis: REDIS_URL alone, or with REDIS_SENTINELS the master
 * named REDIS_SENTINEL_MASTER, which the Sentinels name again after a failover. With Sentinels,
 * REDIS_URL (optional) gives only the master's credentials, database and TLS; its host is unused.
 */
export function redisConnection(config: RedisTargetConfig): string | RedisOptions | undefined {
  if (!config.redisSentinels?.length) return config.redisUrl
  const master = credentials(config.redisUrl)
  return {
    sentinels: config.redisSentinels,
    name: config.redisSentinelMaster,
    sentinelPassword: config.redisSentinelPassword,
    ...master,
    enableTLSForSentinelMode: master.tls !== undefined,
    // Sentinels announce a failover on +switch-master: reconnect to the new master at once
    // instead of when the old connection times out.
    failoverDetector: true,
  }
}

/** Where the configured Redis is, for messages: never a password. */
export function describeRedis(config: RedisTargetConfig): string {
  if (config.redisClusterNodes?.length) {
    return `cluster nodes ${config.redisClusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`
  }
  if (config.redisSentinels?.length) {
    const list = config.redisSentinels.map((s) => `${s.host}:${s.port}`).join(',')
    return `master "${config.redisSentinelMaster}" of Sentinels ${list}`
  }
  return config.redisUrl ? config.redisUrl.replace(/\/\/[^@/]*@/, '//***@') : 'none'
}

/**
 * The database named by REDIS_URL (/n) exists: ioredis reports a refused SELECT only as an
 * event, and then works in database 0, beside whatever else lives there.
 */
export async function checkDatabase(client: Redis): Promise<void> {
  const db = Number(client.options.db ?? 0)
  if (!db) return
  try {
    await client.select(db)
  } catch (err) {
    if (!/DB index is out of range|invalid DB index/i.test((err as Error).message)) throw err
    const databases = await client
      .config('GET', 'databases')
      .then((r) => Number((r as string[])[1]))
      .catch(() => undefined)
    throw new RedisDatabaseError(db, Number.isInteger(databases) ? databases : undefined)
  }
}
