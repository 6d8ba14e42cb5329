import { type AccountsConfig, readAccounts } from './accounts.js'
import { type AuditConfig, readAudit } from './audit.js'
import { type DatabaseConfig, readDatabase } from './database.js'
import { type LimitsConfig, readLimits } from './limits.js'
import { type MailConfig, readMail } from './mail.js'
import { type MetricsConfig, readMetrics } from './metrics.js'
import { ConfigError, type Env, Reader } from './read.js'
import { type RedisConfig, readRedis, usesRedis } from './redis.js'
import { readNodeEnv, readServer, type ServerConfig } from './server.js'
import { readSessions, type SessionsConfig } from './sessions.js'
import { readTokens, type TokensConfig } from './tokens.js'
import { readTwoFactor, type TwoFactorConfig } from './two-factor.js'
import { readWebhooks, type WebhooksConfig } from './webhooks.js'

/**
 * The whole configuration: every section side by side. The entry points and plugins hold it; a
 * service is given (and typed with) its own section only.
 */
export type Config = ServerConfig &
  DatabaseConfig &
  RedisConfig &
  TokensConfig &
  SessionsConfig &
  AccountsConfig &
  MailConfig &
  TwoFactorConfig &
  AuditConfig &
  WebhooksConfig &
  MetricsConfig &
  LimitsConfig

/**
 * Reads and validates the environment, section by section. Every bad value is reported at once,
 * each with its own sentence (ConfigError). Writes nothing: without a configured key, signingKey
 * is '' or privateKey undefined, for src/keys/development.ts to fill outside production.
 */
export function readConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const read = new Reader(env)
  const nodeEnv = readNodeEnv(read)
  const config: Config = {
    ...readServer(read, nodeEnv),
    ...readDatabase(read),
    ...readRedis(read),
    ...readTokens(read, nodeEnv, overrides),
    ...readSessions(read),
    ...readAccounts(read),
    ...readMail(read, nodeEnv),
    ...readTwoFactor(read),
    ...readAudit(read),
    ...readWebhooks(read),
    ...readMetrics(read),
    ...readLimits(read),
  }
  checkBackends(read, config)
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return { ...config, ...overrides }
}

/** The rules that span sections: which backends production and several workers need. */
function checkBackends(read: Reader, config: Config): void {
  // Production on the embedded backends is refused unless asked for: a forgotten variable would
  // otherwise put every account in a folder of one container (lost at the next deploy) and keep
  // revocations in one process's memory, with one info line to show for it.
  if (config.env === 'production' && !config.allowEmbeddedInProduction) {
    if (!config.databaseUrl) {
      read.problem(
        'DATABASE_URL: required when NODE_ENV=production (else the users live in an embedded PGlite in DATA_DIR); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to run on the embedded database on purpose.',
      )
    }
    if (!usesRedis(config)) {
      read.problem(
        'REDIS_URL: required when NODE_ENV=production (or REDIS_SENTINELS, REDIS_CLUSTER_NODES; else revocations live in one process only); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to use the in-process store on purpose.',
      )
    }
  }
  if (config.workers > 1 && (!config.databaseUrl || !usesRedis(config))) {
    // PGlite is one process's file, and the in-process store would keep each worker's
    // revocations to itself: a logout on one worker would not hold on the others.
    read.problem(
      'WORKERS: more than one worker needs DATABASE_URL and REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES), shared by all.',
    )
  }
}
