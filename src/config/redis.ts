import type { Reader } from './read.js'

export interface SentinelAddress {
  host: string
  port: number
}

/** The revocation store's Redis (src/revocation/redis-target.ts), or none: the in-process store. */
export interface RedisConfig {
  redisUrl: string | undefined
  /** REDIS_SENTINELS: find the master through these Sentinels (src/revocation/redis-target.ts). */
  redisSentinels: SentinelAddress[] | undefined
  redisSentinelMaster: string | undefined
  redisSentinelPassword: string | undefined
  /** REDIS_CLUSTER_NODES: a Redis Cluster, reached through any of these nodes (cluster-store.ts). */
  redisClusterNodes: SentinelAddress[] | undefined
  /** Key prefix in Redis, so several services (or test runs) can share one server. */
  redisPrefix: string
  /** Longest wait for a Redis command; a stalled Redis then answers 503 instead of holding requests. */
  redisCommandTimeoutMs: number
}

/** The settings that say which Redis the service uses (REDIS_URL, REDIS_SENTINELS, ...). */
export type RedisTargetConfig = Pick<
  RedisConfig,
  'redisUrl' | 'redisSentinels' | 'redisSentinelMaster' | 'redisSentinelPassword' | 'redisClusterNodes'
>

/** Whether a Redis is configured (one server, a master found through Sentinel, or a cluster). */
export function usesRedis(config: RedisTargetConfig): boolean {
  return Boolean(config.redisUrl || config.redisSentinels?.length || config.redisClusterNodes?.length)
}

export function readRedis(read: Reader): RedisConfig {
  const redis: RedisConfig = {
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    redisSentinels: readHostPorts(read, 'REDIS_SENTINELS', 26379),
    redisSentinelMaster: read.text('REDIS_SENTINEL_MASTER'),
    redisSentinelPassword: read.text('REDIS_SENTINEL_PASSWORD'),
    redisClusterNodes: readHostPorts(read, 'REDIS_CLUSTER_NODES', 6379),
    redisPrefix: read.env.REDIS_PREFIX || 'authjwt:',
    redisCommandTimeoutMs: read.int('REDIS_COMMAND_TIMEOUT_MS', 500, 10, 60_000),
  }
  if (redis.redisSentinels && !redis.redisSentinelMaster) {
    read.problem('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the Sentinels monitor).')
  }
  if (redis.redisSentinelMaster && !redis.redisSentinels) {
    read.problem('REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER.')
  }
  if (redis.redisClusterNodes && redis.redisSentinels) {
    read.problem('REDIS_CLUSTER_NODES: set it or REDIS_SENTINELS, not both (a cluster fails over by itself).')
  }
  return redis
}

/** `host:port,host:port` (the port may be left out); undefined when unset. */
function readHostPorts(read: Reader, name: string, defaultPort: number): SentinelAddress[] | undefined {
  const raw = read.env[name]
  if (raw === undefined || raw.trim() === '') return undefined
  const list: SentinelAddress[] = []
  for (const item of raw.split(',').map((x) => x.trim())) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(item)
    const port = m?.[2] === undefined ? defaultPort : Number(m[2])
    if (!m || port < 1 || port > 65535) {
      read.problem(`${name}: expected host:port,host:port, got an item "${item.slice(0, 64)}".`)
      return undefined
    }
    list.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port })
  }
  return list
}
