import { randomBytes } from 'node:crypto'
import {
  isKeyPairAlgorithm,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type KeyPairAlgorithm,
} from './keys/algorithms.js'
import { generatePrivateKey } from './keys/material.js'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { type SentinelAddress, usesRedis } from './revocation/redis-target.js'
import { readThrottles, type ThrottleSettings } from './http/throttle-rates.js'

export const SESSION_POLICIES = ['allow', 'reject', 'replace'] as const
export type SessionPolicy = (typeof SESSION_POLICIES)[number]
export interface Argon2Params {
  memoryKiB: number
  timeCost: number
  parallelism: number
}

export interface Config {
  env: 'production' | 'development' | 'test'
  /** Server processes sharing the port (node:cluster); 1: this process serves alone. */
  workers: number
  host: string
  port: number
  logLevel: string
  databaseUrl: string | undefined
  dbPoolSize: number
  /** DB_POOLER=transaction: a transaction-mode pooler (PgBouncer, pgcat, RDS Proxy) in front of PostgreSQL. */
  dbPooler: 'none' | 'transaction'
  /** Longest wait for a PostgreSQL statement or transaction, and for a new connection. */
  dbQueryTimeoutMs: number
  dbConnectTimeoutMs: number
  userCacheMs: number
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
  dataDir: string
  /**
   * The HMAC secret. With an HMAC algorithm it signs; with a key pair it only verifies tokens that
   * name no key (SimpleJWT's, while moving off it), and only when SIGNING_KEY is set: else ''.
   */
  signingKey: string
  jwtAlgorithm: JwtAlgorithm
  /** The PEM private key for RS256, ES256 or EdDSA; undefined with an HMAC algorithm. */
  privateKey: string | undefined
  /**
   * Encrypts the private keys and secrets that `rotate-key` keeps in the database; undefined until
   * set (production) or generated into DATA_DIR (elsewhere) when first needed.
   */
  keyEncryptionKey: string | undefined
  /** How often each instance reads the key set, so a rotation reaches it without a restart. */
  keysPollSeconds: number
  /** `iss` written into every token and required of every token presented; undefined: neither. */
  jwtIssuer: string | undefined
  /** `aud`, likewise. */
  jwtAudience: string | undefined
  /** Services that may introspect and revoke tokens with HTTP Basic: id -> secret. */
  introspectionClients: Record<string, string>
  accessTokenLifetime: number
  refreshTokenLifetime: number
  rotateRefreshTokens: boolean
  refreshReuseGraceSeconds: number
  sessionPolicy: SessionPolicy
  argon2: Argon2Params
  loginRateLimit: number
  loginAccountRateLimit: number
  loginRateWindowSeconds: number
  corsOrigins: string[]
  /** ALLOW_EMBEDDED_IN_PRODUCTION: production may run on PGlite and the in-process store, on purpose. */
  allowEmbeddedInProduction: boolean
  /**
   * Which proxies in front may name the client (X-Forwarded-For, -Proto, X-Request-Id): false for
   * none, a number of hops, or the proxies' addresses and CIDR ranges (Fastify's trustProxy).
   */
  trustProxy: TrustProxy
  adminUsername: string | undefined
  adminPassword: string | undefined
  adminEmail: string
  bodyLimit: number
  /** Strict-Transport-Security max-age in seconds, for deployments behind TLS; 0: no header. */
  hstsMaxAge: number
  /**
   * Until when (ms since the epoch) a token SimpleJWT issued (it names no session) is accepted;
   * undefined: never. Set while moving off SimpleJWT, with SIGNING_KEY set to Django's key.
   */
  legacyTokensUntil: number | undefined
  /** Whether Django's salted and unsalted MD5/SHA1 password hashes may still log in. */
  legacyPasswordHashes: LegacyPasswordHashes
  /** Where mail goes (smtp:// or smtps://); undefined: files in DATA_DIR/outbox outside production. */
  smtpUrl: string | undefined
  mailFrom: string
  /** Password reset and e-mail verification: on with SMTP_URL, and always outside production. */
  mailEnabled: boolean
  /** The service's address as users reach it: every link in a mail starts with it, never with a Host header. */
  publicUrl: string
  /** Where reset and verification links point (`?token=` is added); '': our own pages under PUBLIC_URL. */
  passwordResetUrl: string
  emailVerificationUrl: string
  /** A folder whose files override the built-in mail templates. */
  mailTemplatesDir: string | undefined
  passwordResetTtlSeconds: number
  emailVerificationTtlSeconds: number
  /** Whether a user whose e-mail is not verified is refused at login. */
  requireVerifiedEmail: boolean
  /** Staff act as staff only with two-factor on (they may still log in, and enrol). */
  mfaRequiredForStaff: boolean
  /** Wrong second-factor codes one account may get in a day before its two-factor logins lock; 0: no cap. */
  mfaDailyFailureLimit: number
  mailRateLimit: number
  mailIpRateLimit: number
  /** The first wait before a failed mail is tried again; each further wait doubles, up to an hour. */
  mailRetrySeconds: number
  /** Security events written to audit_events (and sent to webhooks); off: neither. */
  auditEnabled: boolean
  /** Longest an event waits in memory before its batch is written: what a crash can lose. */
  auditFlushMs: number
  /** `prune-audit` deletes rows older than this; 0 keeps everything. */
  auditRetentionDays: number
  /** Failed logins on one account within 15 minutes that raise `suspicious.failed_logins`. */
  failedLoginAlertThreshold: number
  /** Mail the user about a login from a new device or network, and refresh-token reuse. */
  suspiciousActivityMail: boolean
  /** Webhook targets on loopback, private or link-local addresses are refused unless this is on. */
  webhooksAllowPrivate: boolean
  /** The first wait before a failed webhook delivery is tried again; each further wait doubles, up to an hour. */
  webhookRetrySeconds: number
  /** Longest wait for a receiver's answer. */
  webhookTimeoutMs: number
  /** /metrics on its own port (0: off), or on the service port behind METRICS_TOKEN. */
  metricsPort: number
  /** Bearer token that opens /metrics on the service port; undefined: not served there. */
  metricsToken: string | undefined

  // ---- Request throttles (issue 29): DRF's anon, user and scoped rates, all off by default ----
  // Apart from the login account budget and the mail limits above, which stay on by default.
  throttles: ThrottleSettings
}

export type TrustProxy = false | number | string[]

export const LEGACY_PASSWORD_HASHES = ['accept', 'refuse'] as const
export type LegacyPasswordHashes = (typeof LEGACY_PASSWORD_HASHES)[number]

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** DATA_DIR, absolute: known before the rest, so the server can close it before anything reads it. */
export function dataDirOf(env: Env = process.env): string {
  return resolve(env.DATA_DIR || 'data')
}

/** Reads and validates the environment. Every bad value is reported at once, each with its own sentence. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = []
  const read = new Reader(env, problems)

  const nodeEnv = read.nodeEnv('NODE_ENV')
  const dataDir = dataDirOf(env)
  const config: Config = {
    env: nodeEnv,
    workers: read.workers('WORKERS'),
    host: env.HOST || '127.0.0.1',
    port: read.int('PORT', 8000, 0, 65535),
    logLevel: read.choice('LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:'], { hostList: true }),
    // Refresh and logout wait on commits, and PostgreSQL groups concurrent commits into one WAL
    // flush: with few connections, queries queue in the client while the server idles.
    dbPoolSize: read.int('DB_POOL_SIZE', 32, 1, 200),
    dbPooler: read.choice('DB_POOLER', 'none', ['none', 'transaction'] as const),
    dbQueryTimeoutMs: read.int('DB_QUERY_TIMEOUT_MS', 5000, 100, 600_000),
    dbConnectTimeoutMs: read.int('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    userCacheMs: read.int('USER_CACHE_MS', 1000, 0, 60_000),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    redisSentinels: read.hostPorts('REDIS_SENTINELS', 26379),
    redisSentinelMaster: env.REDIS_SENTINEL_MASTER || undefined,
    redisSentinelPassword: env.REDIS_SENTINEL_PASSWORD || undefined,
    redisClusterNodes: read.hostPorts('REDIS_CLUSTER_NODES', 6379),
    redisPrefix: env.REDIS_PREFIX || 'authjwt:',
    redisCommandTimeoutMs: read.int('REDIS_COMMAND_TIMEOUT_MS', 500, 10, 60_000),
    dataDir,
    signingKey: '',
    jwtAlgorithm: read.choice('JWT_ALGORITHM', 'HS256', JWT_ALGORITHMS),
    privateKey: undefined,
    keyEncryptionKey: env.KEY_ENCRYPTION_KEY || undefined,
    keysPollSeconds: read.int('KEYS_POLL_SECONDS', 10, 1, 3600),
    jwtIssuer: env.JWT_ISSUER?.trim() || undefined,
    jwtAudience: env.JWT_AUDIENCE?.trim() || undefined,
    introspectionClients: read.clients('INTROSPECTION_CLIENTS'),
    accessTokenLifetime: read.int('ACCESS_TOKEN_LIFETIME', 900, 1, 31 * 86400),
    refreshTokenLifetime: read.int('REFRESH_TOKEN_LIFETIME', 7 * 86400, 1, 365 * 86400),
    rotateRefreshTokens: read.bool('ROTATE_REFRESH_TOKENS', true),
    refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 2, 0, 3600),
    sessionPolicy: read.choice('SESSION_POLICY', 'allow', SESSION_POLICIES),
    argon2: {
      memoryKiB: read.int('ARGON2_MEMORY_KIB', 19456, 1024, 4 * 1024 * 1024),
      timeCost: read.int('ARGON2_TIME_COST', 2, 1, 100),
      parallelism: read.int('ARGON2_PARALLELISM', 1, 1, 16),
    },
    loginRateLimit: read.int('LOGIN_RATE_LIMIT', 30, 0, 1_000_000),
    loginAccountRateLimit: read.int('LOGIN_ACCOUNT_RATE_LIMIT', 100, 0, 1_000_000),
    loginRateWindowSeconds: read.int('LOGIN_RATE_WINDOW', 60, 1, 86400),
    corsOrigins: (env.CORS_ORIGINS || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    trustProxy: read.trustProxy('TRUST_PROXY'),
    allowEmbeddedInProduction: read.bool('ALLOW_EMBEDDED_IN_PRODUCTION', false),
    adminUsername: env.ADMIN_USERNAME || undefined,
    adminPassword: env.ADMIN_PASSWORD || undefined,
    adminEmail: env.ADMIN_EMAIL || '',
    bodyLimit: read.int('BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    hstsMaxAge: read.int('HSTS_MAX_AGE', 0, 0, 2 * 365 * 86400),
    legacyTokensUntil: read.time('LEGACY_TOKENS_UNTIL'),
    legacyPasswordHashes: read.choice('LEGACY_PASSWORD_HASHES', 'accept', LEGACY_PASSWORD_HASHES),
    smtpUrl: read.url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: env.MAIL_FROM?.trim() || 'authjwt <no-reply@localhost>',
    mailEnabled: false,
    publicUrl: '',
    passwordResetUrl: '',
    emailVerificationUrl: '',
    mailTemplatesDir: env.MAIL_TEMPLATES_DIR ? resolve(env.MAIL_TEMPLATES_DIR) : undefined,
    passwordResetTtlSeconds: read.int('PASSWORD_RESET_TTL', 1800, 60, 7 * 86400),
    emailVerificationTtlSeconds: read.int('EMAIL_VERIFICATION_TTL', 3 * 86400, 60, 30 * 86400),
    requireVerifiedEmail: read.bool('REQUIRE_VERIFIED_EMAIL', false),
    mfaRequiredForStaff: read.bool('MFA_REQUIRED_FOR_STAFF', false),
    mfaDailyFailureLimit: read.int('MFA_DAILY_FAILURE_LIMIT', 20, 0, 1_000_000),
    mailRateLimit: read.int('MAIL_RATE_LIMIT', 5, 0, 1_000_000),
    mailIpRateLimit: read.int('MAIL_IP_RATE_LIMIT', 30, 0, 1_000_000),
    mailRetrySeconds: read.int('MAIL_RETRY_SECONDS', 10, 1, 3600),
    auditEnabled: read.bool('AUDIT_ENABLED', true),
    auditFlushMs: read.int('AUDIT_FLUSH_MS', 200, 10, 10_000),
    auditRetentionDays: read.int('AUDIT_RETENTION_DAYS', 180, 0, 36_500),
    failedLoginAlertThreshold: read.int('FAILED_LOGIN_ALERT_THRESHOLD', 10, 0, 1_000_000),
    suspiciousActivityMail: read.bool('SUSPICIOUS_ACTIVITY_MAIL', false),
    webhooksAllowPrivate: read.bool('WEBHOOKS_ALLOW_PRIVATE', false),
    webhookRetrySeconds: read.int('WEBHOOK_RETRY_SECONDS', 10, 1, 3600),
    webhookTimeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
    metricsPort: read.int('METRICS_PORT', 0, 0, 65_535),
    metricsToken: env.METRICS_TOKEN || undefined,

    // ---- Request throttles: THROTTLE_ANON, THROTTLE_USER, THROTTLE_SCOPE_<GROUP>, THROTTLE_ALLOW ----
    throttles: readThrottles(env, problems),
  }
  if (config.metricsToken !== undefined && config.metricsToken.length < 16) {
    problems.push('METRICS_TOKEN: must be at least 16 characters long.')
  }
  config.mailEnabled = Boolean(config.smtpUrl) || nodeEnv !== 'production'
  config.publicUrl =
    read.url('PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '') ?? localUrl(config.host, config.port)
  config.passwordResetUrl = read.url('PASSWORD_RESET_URL', ['http:', 'https:']) ?? ''
  config.emailVerificationUrl = read.url('EMAIL_VERIFICATION_URL', ['http:', 'https:']) ?? ''
  if (nodeEnv === 'production' && !env.PUBLIC_URL) {
    problems.push(
      'PUBLIC_URL: required when NODE_ENV=production (the discovery document, page links and mailed links start with it, never with a Host header), e.g. https://auth.example.com.',
    )
  }
  // Production on the embedded backends is refused unless asked for: a forgotten variable would
  // otherwise put every account in a folder of one container (lost at the next deploy) and keep
  // revocations in one process's memory, with one info line to show for it.
  if (nodeEnv === 'production' && !config.allowEmbeddedInProduction) {
    if (!config.databaseUrl) {
      problems.push(
        'DATABASE_URL: required when NODE_ENV=production (else the users live in an embedded PGlite in DATA_DIR); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to run on the embedded database on purpose.',
      )
    }
    if (!usesRedis(config)) {
      problems.push(
        'REDIS_URL: required when NODE_ENV=production (or REDIS_SENTINELS, REDIS_CLUSTER_NODES; else revocations live in one process only); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to use the in-process store on purpose.',
      )
    }
  }
  // Two-factor secrets and rotated keys are sealed with it: without it production would start,
  // then answer 503 mfa_unavailable to every user who tries two-factor.
  if (nodeEnv === 'production' && config.keyEncryptionKey === undefined) {
    problems.push(
      'KEY_ENCRYPTION_KEY: required when NODE_ENV=production (it seals the two-factor secrets and rotated signing keys; the same on every instance), at least 32 bytes, e.g. `openssl rand -hex 32`.',
    )
  }
  if (config.requireVerifiedEmail && !config.mailEnabled) {
    problems.push('REQUIRE_VERIFIED_EMAIL: needs SMTP_URL in production, or no one could verify an address.')
  }
  if (config.adminUsername && !config.adminPassword) {
    problems.push('ADMIN_PASSWORD: required when ADMIN_USERNAME is set.')
  }
  if (config.redisSentinels && !config.redisSentinelMaster) {
    problems.push('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the Sentinels monitor).')
  }
  if (config.redisSentinelMaster && !config.redisSentinels) {
    problems.push('REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER.')
  }
  if (config.redisClusterNodes && config.redisSentinels) {
    problems.push(
      'REDIS_CLUSTER_NODES: set it or REDIS_SENTINELS, not both (a cluster fails over by itself).',
    )
  }
  if (config.workers > 1 && (!config.databaseUrl || !usesRedis(config))) {
    // PGlite is one process's file, and the in-process store would keep each worker's
    // revocations to itself: a logout on one worker would not hold on the others.
    problems.push(
      'WORKERS: more than one worker needs DATABASE_URL and REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES), shared by all.',
    )
  }
  if (config.refreshTokenLifetime < config.accessTokenLifetime) {
    problems.push('REFRESH_TOKEN_LIFETIME: must not be shorter than ACCESS_TOKEN_LIFETIME.')
  }

  const keyPair = isKeyPairAlgorithm(config.jwtAlgorithm)
  const key = env.SIGNING_KEY
  if (key !== undefined && key !== '') {
    if (Buffer.byteLength(key) < 32) problems.push('SIGNING_KEY: must be at least 32 bytes long.')
    config.signingKey = key
  } else if (nodeEnv === 'production' && !keyPair) {
    problems.push(
      'SIGNING_KEY: required when NODE_ENV=production (at least 32 bytes, e.g. `openssl rand -hex 32`).',
    )
  }
  if (config.keyEncryptionKey !== undefined && Buffer.byteLength(config.keyEncryptionKey) < 32) {
    problems.push('KEY_ENCRYPTION_KEY: must be at least 32 bytes long.')
  }
  if (keyPair) config.privateKey = readPrivateKey(env, problems)
  if (keyPair && !config.privateKey && nodeEnv === 'production' && !overrides.privateKey) {
    problems.push(
      `JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE: required for ${config.jwtAlgorithm} when NODE_ENV=production (a PEM private key).`,
    )
  }

  if (problems.length > 0) throw new ConfigError(problems)
  if (!keyPair && !config.signingKey && !overrides.signingKey) {
    config.signingKey = developmentSecret(dataDir, 'signing-key')
  }
  if (keyPair && !config.privateKey && !overrides.privateKey) {
    config.privateKey = developmentPrivateKey(dataDir, config.jwtAlgorithm as KeyPairAlgorithm)
  }
  return { ...config, ...overrides }
}

/**
 * PUBLIC_URL outside production when unset: the address this server listens on (HOST and PORT),
 * with a wildcard host read as this machine. PORT=0 is known only once listening (src/server.ts).
 */
export function localUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port || 8000}`
}

/** JWT_PRIVATE_KEY (the PEM itself) or JWT_PRIVATE_KEY_FILE (its path); the key is checked by the keyring. */
function readPrivateKey(env: Env, problems: string[]): string | undefined {
  if (env.JWT_PRIVATE_KEY && env.JWT_PRIVATE_KEY_FILE) {
    problems.push('JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE: set one of them, not both.')
    return undefined
  }
  if (env.JWT_PRIVATE_KEY) return env.JWT_PRIVATE_KEY.replaceAll('\\n', '\n').trim()
  if (!env.JWT_PRIVATE_KEY_FILE) return undefined
  try {
    return readFileSync(env.JWT_PRIVATE_KEY_FILE, 'utf8').trim()
  } catch (err) {
    problems.push(`JWT_PRIVATE_KEY_FILE: cannot read it (${(err as NodeJS.ErrnoException).code}).`)
    return undefined
  }
}

/**
 * Outside production the key pair is generated once per algorithm and kept in the data folder, so
 * tokens survive restarts.
 */
function developmentPrivateKey(dataDir: string, alg: KeyPairAlgorithm): string {
  return keptInDataDir(dataDir, `signing-key-${alg.toLowerCase()}.pem`, () => generatePrivateKey(alg))
}

/** The KEY_ENCRYPTION_KEY, generated into the data folder outside production when first needed. */
export function keyEncryptionKeyOf(config: Config): string | undefined {
  if (config.keyEncryptionKey || config.env === 'production') return config.keyEncryptionKey
  return developmentSecret(config.dataDir, 'key-encryption-key')
}

/** Outside production a secret is generated once and kept in the data folder, so tokens survive restarts. */
function developmentSecret(dataDir: string, name: string): string {
  return keptInDataDir(dataDir, name, () => randomBytes(48).toString('base64url'))
}

function keptInDataDir(dataDir: string, name: string, make: () => string): string {
  const file = join(dataDir, name)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const value = make()
  writeFileSync(file, `${value.trim()}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return value.trim()
}

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

/** An IP address, a CIDR range (10.0.0.0/8, fd00::/8) or one of proxy-addr's named ranges. */
function isAddressOrRange(item: string): boolean {
  if (NAMED_RANGES.includes(item)) return true
  const [address = '', prefix, ...rest] = item.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}

class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}".`)
      return fallback
    }
    return value
  }

  /** A moment written as ISO 8601 with its offset (2027-01-31T18:00:00Z), in ms since the epoch. */
  time(name: string): number | undefined {
    const raw = this.env[name]?.trim()
    if (!raw) return undefined
    const ms = Date.parse(raw)
    // Date.parse rolls 2027-02-30 over into March instead of refusing it.
    const [year, month, day] = raw.slice(0, 10).split('-').map(Number) as [number, number, number]
    const realDay = day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
    if (
      !realDay ||
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ||
      Number.isNaN(ms)
    ) {
      this.problems.push(
        `${name}: expected a time such as 2027-01-31T18:00:00Z (with its offset), got "${raw}".`,
      )
      return undefined
    }
    return ms
  }

  /** `id:secret` pairs, comma-separated; each secret at least 32 characters. Never echoed. */
  clients(name: string): Record<string, string> {
    const raw = this.env[name]?.trim()
    const clients: Record<string, string> = {}
    if (!raw) return clients
    for (const [i, entry] of raw.split(',').entries()) {
      const colon = entry.indexOf(':')
      const id = entry.slice(0, colon).trim()
      const secret = entry.slice(colon + 1).trim()
      if (colon < 1 || !/^[A-Za-z0-9._~-]+$/.test(id) || secret.length < 32) {
        this.problems.push(
          `${name}: entry ${i + 1} must be id:secret (id of letters, digits, . _ ~ -; secret of at least 32 characters).`,
        )
        continue
      }
      clients[id] = secret
    }
    return clients
  }

  /** A whole number of processes, or "auto": one per core. */
  workers(name: string): number {
    const raw = this.env[name]?.trim()
    if (!raw) return 1
    if (raw === 'auto') return availableParallelism()
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1 || n > 256) {
      this.problems.push(`${name}: expected a whole number from 1 to 256 or "auto", got "${raw}".`)
      return 1
    }
    return n
  }

  /**
   * TRUST_PROXY: a number of proxies in front, or their addresses (IP or CIDR, and proxy-addr's
   * names loopback, linklocal, uniquelocal). Never "every hop": behind a proxy that appends to
   * X-Forwarded-For, the leftmost value is whatever the client wrote.
   */
  trustProxy(name: string): TrustProxy {
    const raw = this.env[name]?.trim()
    if (!raw) return false
    const v = raw.toLowerCase()
    if (['0', 'false', 'no', 'off'].includes(v)) return false
    if (['true', 'yes', 'on'].includes(v)) {
      this.problems.push(
        `${name}: "${raw}" would trust every hop, so any client could choose its own address by sending X-Forwarded-For; set the number of proxies in front of the service (1 behind one nginx) or their addresses (e.g. 10.0.0.5,10.1.0.0/16).`,
      )
      return false
    }
    if (/^\d+$/.test(v)) {
      const hops = Number(v)
      if (hops <= 10) return hops === 0 ? false : hops
      this.problems.push(`${name}: expected a number of proxies from 0 to 10, got "${raw}".`)
      return false
    }
    const list = raw.split(',').map((x) => x.trim())
    for (const item of list) {
      if (!isAddressOrRange(item)) {
        this.problems.push(
          `${name}: expected a number of proxies or their addresses (IP or CIDR, comma-separated), got an item "${item.slice(0, 64)}".`,
        )
        return false
      }
    }
    return list
  }

  /** NODE_ENV: a typo (`prod`) would run in development mode, with a generated key and mail to files. */
  nodeEnv(name: string): Config['env'] {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return 'development'
    if (raw === 'production' || raw === 'development' || raw === 'test') return raw
    this.problems.push(`${name}: expected production, development or test, got "${raw.slice(0, 32)}".`)
    return 'development'
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const v = raw.trim().toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(v)) return true
    if (['0', 'false', 'no', 'off'].includes(v)) return false
    this.problems.push(`${name}: expected true or false, got "${raw}".`)
    return fallback
  }

  choice<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}".`)
    return fallback
  }

  /** `host:port,host:port` (the port may be left out); undefined when unset. */
  hostPorts(name: string, defaultPort: number): SentinelAddress[] | undefined {
    const raw = this.env[name]
    if (raw === undefined || raw.trim() === '') return undefined
    const list: SentinelAddress[] = []
    for (const item of raw.split(',').map((x) => x.trim())) {
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(item)
      const port = m?.[2] === undefined ? defaultPort : Number(m[2])
      if (!m || port < 1 || port > 65535) {
        this.problems.push(`${name}: expected host:port,host:port, got an item "${item.slice(0, 64)}".`)
        return undefined
      }
      list.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port })
    }
    return list
  }

  /** hostList: `postgres://user@h1:5432,h2:5432/db` (one host per server of a failover set) is allowed. */
  url(name: string, protocols: string[], { hostList = false } = {}): string | undefined {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return undefined
    try {
      const u = new URL(hostList ? firstHostOnly(raw) : raw)
      if (!protocols.includes(u.protocol)) {
        this.problems.push(
          `${name}: expected a ${protocols.join(' or ')}// URL, got one starting "${u.protocol}".`,
        )
      }
    } catch {
      // Never echo the value: a URL may hold a password.
      this.problems.push(`${name}: not a valid URL.`)
    }
    return raw
  }
}

/**
 * The URL with only the first of its comma-separated hosts, for checking the rest of it (WHATWG
 * URLs have one host); the other hosts must be host or host:port. Throws when one is not.
 */
function firstHostOnly(raw: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)(.*)$/is.exec(raw)
  if (!m || !m[2]!.includes(',')) return raw
  const hosts = m[2]!.split(',')
  if (!hosts.every((h) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(h)))
    throw new Error('bad host list')
  return m[1]! + hosts[0]! + m[3]!
}
