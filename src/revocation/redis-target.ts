import type { RedisOptions } from 'ioredis'

export interface SentinelAddress {
  host: string
  port: number
}

/** The settings that say which Redis the service uses (REDIS_URL, REDIS_SENTINELS, ...). */
export interface RedisTargetConfig {
  redisUrl: string | undefined
  redisSentinels: SentinelAddress[] | undefined
  redisSentinelMaster: string | undefined
  redisSentinelPassword: string | undefined
}

/** Whether a Redis is configured (one server, or a master found through Sentinel). */
export function usesRedis(config: RedisTargetConfig): boolean {
  return Boolean(config.redisUrl || config.redisSentinels?.length)
}

/**
 * How ioredis reaches the configured Redis: REDIS_URL alone, or with REDIS_SENTINELS the master
 * named REDIS_SENTINEL_MASTER, which the Sentinels name again after a failover. With Sentinels,
 * REDIS_URL (optional) gives only the master's credentials, database and TLS; its host is unused.
 */
export function redisConnection(config: RedisTargetConfig): string | RedisOptions | undefined {
  if (!config.redisSentinels?.length) return config.redisUrl
  const url = config.redisUrl ? new URL(config.redisUrl) : undefined
  const tls = url?.protocol === 'rediss:'
  return {
    sentinels: config.redisSentinels,
    name: config.redisSentinelMaster,
    sentinelPassword: config.redisSentinelPassword,
    username: url?.username ? decodeURIComponent(url.username) : undefined,
    password: url?.password ? decodeURIComponent(url.password) : undefined,
    db: url && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: tls ? {} : undefined,
    enableTLSForSentinelMode: tls,
    // Sentinels announce a failover on +switch-master: reconnect to the new master at once
    // instead of when the old connection times out.
    failoverDetector: true,
  }
}

/** Where the configured Redis is, for messages: never a password. */
export function describeRedis(config: RedisTargetConfig): string {
  if (config.redisSentinels?.length) {
    const list = config.redisSentinels.map((s) => `${s.host}:${s.port}`).join(',')
    return `master "${config.redisSentinelMaster}" of Sentinels ${list}`
  }
  return config.redisUrl ? config.redisUrl.replace(/\/\/[^@/]*@/, '//***@') : 'none'
}
