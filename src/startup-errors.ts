import type { RedisTargetConfig } from './revocation/redis-target.js'
import { describeRedis } from './revocation/redis-target.js'
import { RedisDatabaseError } from './revocation/store.js'

/**
 * Why the server could not start, as one sentence naming the variable, the cause and what to do,
 * and the exit code that tells a supervisor which kind of failure it was. Never a stack, never a
 * secret: URLs are shown without their password.
 */
export const EXIT_CODES = {
  /** A value that cannot work (src/config.ts): fix the environment. */
  configuration: 78,
  /** DATABASE_URL: PostgreSQL unreachable, the database missing, the login refused. */
  database: 69,
  /** REDIS_URL (or Sentinels, cluster): Redis unreachable or the login refused. */
  redis: 68,
  /** PORT / HOST: the address cannot be listened on (in use, not allowed, not ours). */
  listen: 98,
} as const

export class StartupError extends Error {
  constructor(
    readonly exitCode: number,
    sentence: string,
  ) {
    super(sentence)
    this.name = 'StartupError'
  }
}

/** Codes of an error and its causes (Drizzle and our own wrappers keep the driver's as `cause`). */
function codesOf(err: unknown): string[] {
  const codes: string[] = []
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') codes.push(code)
    e = (e as { cause?: unknown }).cause
  }
  return codes
}

function messagesOf(err: unknown): string {
  const parts: string[] = []
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    parts.push(String((e as { message?: unknown }).message ?? ''))
    e = (e as { cause?: unknown }).cause
  }
  return parts.join(' | ')
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  CONNECT_TIMEOUT: 'timed out',
  ECONNRESET: 'connection reset',
}

/** host:port of a URL, for messages: never its user or password. */
function where(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}`
  } catch {
    return 'the configured server'
  }
}

/** A failure to open or migrate the database named by DATABASE_URL, as one sentence. */
export function databaseStartError(err: unknown, url: string): StartupError {
  const codes = codesOf(err)
  const u = safeUrl(url)
  const name = u ? decodeURIComponent(u.pathname.slice(1)) || u.username : ''
  const at = where(url)
  let sentence: string
  if (codes.includes('3D000')) {
    sentence = `DATABASE_URL: the database "${name}" does not exist on ${at}; create it (createdb ${name}, or CREATE DATABASE "${name}") or name an existing one in DATABASE_URL.`
  } else if (codes.includes('28P01') || codes.includes('28000')) {
    sentence = `DATABASE_URL: PostgreSQL at ${at} refused the login of user "${u ? decodeURIComponent(u.username) : ''}" (${codes.includes('28P01') ? 'wrong password' : 'not allowed'}); correct the user and password in DATABASE_URL.`
  } else {
    const network = codes.map((c) => NETWORK[c]).find(Boolean)
    const cause = network ?? firstLine(messagesOf(err))
    sentence = `DATABASE_URL: cannot use PostgreSQL at ${at} (${cause}); start it, or correct the host, port and database in DATABASE_URL.`
  }
  return new StartupError(EXIT_CODES.database, sentence)
}

/** A failure to connect to the configured Redis at start, as one sentence. */
export function redisStartError(err: unknown, config: RedisTargetConfig): StartupError {
  const variable = config.redisClusterNodes?.length
    ? 'REDIS_CLUSTER_NODES'
    : config.redisSentinels?.length
      ? 'REDIS_SENTINELS'
      : 'REDIS_URL'
  if (err instanceof RedisDatabaseError) {
    const range = err.available ? `0 to ${err.available - 1}` : 'those it has (0 to 15 by default)'
    return new StartupError(
      EXIT_CODES.configuration,
      `REDIS_URL: Redis at ${describeRedis(config)} has no database ${err.db}; name one of ${range} at the end of REDIS_URL (e.g. /0), or raise "databases" in redis.conf.`,
    )
  }
  const codes = codesOf(err)
  const text = messagesOf(err)
  let cause = codes.map((c) => NETWORK[c]).find(Boolean)
  if (!cause && /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(text)) {
    cause = 'the login was refused: check the user and password in REDIS_URL'
  }
  cause ??= /not ready after/.test(text) ? 'no answer within 5 s' : firstLine(text)
  return new StartupError(
    EXIT_CODES.redis,
    `${variable}: cannot reach Redis at ${describeRedis(config)} (${cause}); start Redis or correct ${variable}.`,
  )
}

/** A failure to listen on HOST:PORT, as one sentence; undefined for anything else. */
export function listenStartError(err: unknown, host: string, port: number): StartupError | undefined {
  const code = (err as { code?: unknown }).code
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`
  if (code === 'EADDRINUSE') {
    return new StartupError(
      EXIT_CODES.listen,
      `PORT: ${at} is already in use by another program (Django's runserver often listens on 8000); stop it, or set PORT to a free port.`,
    )
  }
  if (code === 'EACCES') {
    return new StartupError(
      EXIT_CODES.listen,
      `PORT: this user may not listen on ${at} (ports below 1024 need privileges); set PORT to 1024 or above, with a proxy in front.`,
    )
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new StartupError(
      EXIT_CODES.listen,
      `HOST: ${host} is not an address of this machine; set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0.`,
    )
  }
  return undefined
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}

/** The first line of a message, without anything shaped like a URL with credentials. */
function firstLine(text: string): string {
  const line = (text.split('\n')[0] ?? '').split(' | ')[0] ?? ''
  return line.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200) || 'unknown error'
}
