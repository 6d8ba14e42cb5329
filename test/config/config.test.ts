import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import {
  clusterConnection,
  describeRedis,
  redisConnection,
  usesRedis,
} from '../../src/revocation/redis-target.js'

const KEY = 'k'.repeat(32)
/** Everything production requires besides the signing key. */
const PROD = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://auth.example.com',
  DATABASE_URL: 'postgres://db.internal/auth',
  REDIS_URL: 'redis://cache.internal:6379',
  KEY_ENCRYPTION_KEY: 'e'.repeat(32),
}

async function dataDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ SIGNING_KEY: KEY, ...env })
    return []
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
}

t.test('defaults', async (t) => {
  const c = loadConfig({ SIGNING_KEY: KEY })
  t.match(c, {
    env: 'development',
    host: '127.0.0.1',
    port: 8000,
    logLevel: 'info',
    databaseUrl: undefined,
    redisUrl: undefined,
    redisPrefix: 'authjwt:',
    jwtAlgorithm: 'HS256',
    accessTokenLifetime: 900,
    refreshTokenLifetime: 7 * 86400,
    rotateRefreshTokens: true,
    refreshReuseGraceSeconds: 2,
    sessionPolicy: 'allow',
    argon2: { memoryKiB: 19456, timeCost: 2, parallelism: 1 },
    corsOrigins: [],
    trustProxy: false,
    signingKey: KEY,
  })
})

t.test('values are read and typed', async (t) => {
  const c = loadConfig({
    SIGNING_KEY: KEY,
    ...PROD,
    PORT: '9000',
    DATABASE_URL: 'postgresql://u:p@db:5432/auth',
    REDIS_URL: 'rediss://cache:6380',
    REDIS_PREFIX: 'svc1:',
    ROTATE_REFRESH_TOKENS: 'off',
    TRUST_PROXY: '2',
    SESSION_POLICY: 'replace',
    JWT_ALGORITHM: 'HS512',
    CORS_ORIGINS: ' https://a.example , https://b.example,',
  })
  t.match(c, {
    env: 'production',
    port: 9000,
    databaseUrl: 'postgresql://u:p@db:5432/auth',
    redisUrl: 'rediss://cache:6380',
    redisPrefix: 'svc1:',
    rotateRefreshTokens: false,
    trustProxy: 2,
    sessionPolicy: 'replace',
    jwtAlgorithm: 'HS512',
    corsOrigins: ['https://a.example', 'https://b.example'],
  })
})

t.test('numbers must be whole and in range', async (t) => {
  t.match(problems({ PORT: 'http' }), [/^PORT: expected a whole number from 0 to 65535, got "http"\.$/])
  t.match(problems({ PORT: '70000' }), [/^PORT: /])
  t.match(problems({ PORT: '80.5' }), [/^PORT: /])
  t.match(problems({ PORT: '-1' }), [/^PORT: /])
  t.same(problems({ PORT: '0' }), [], 'port 0 (any free port) is allowed')
  t.match(problems({ ACCESS_TOKEN_LIFETIME: '0' }), [/^ACCESS_TOKEN_LIFETIME: /])
  t.match(problems({ ARGON2_MEMORY_KIB: '512' }), [/^ARGON2_MEMORY_KIB: .*from 1024/])
  t.match(problems({ DB_POOL_SIZE: 'many' }), [/^DB_POOL_SIZE: /])
  t.match(problems({ REFRESH_REUSE_GRACE_SECONDS: '3601' }), [/^REFRESH_REUSE_GRACE_SECONDS: /])
  t.match(problems({ BODY_LIMIT: '10' }), [/^BODY_LIMIT: /])
})

t.test('booleans and enums', async (t) => {
  t.match(problems({ TRUST_PROXY: 'maybe' }), [
    /^TRUST_PROXY: expected a number of proxies or their addresses/,
  ])
  t.match(problems({ SESSION_POLICY: 'kick' }), [/^SESSION_POLICY: expected one of allow, reject, replace/])
  t.match(problems({ JWT_ALGORITHM: 'none' }), [/^JWT_ALGORITHM: expected one of HS256, HS384, HS512/])
  t.match(problems({ JWT_ALGORITHM: 'RS384' }), [/^JWT_ALGORITHM: /])
  t.match(problems({ LOG_LEVEL: 'loud' }), [/^LOG_LEVEL: /])
})

t.test('moving off SimpleJWT: the legacy-token cut-off and legacy password hashes', async (t) => {
  t.equal(loadConfig({ SIGNING_KEY: KEY }).legacyTokensUntil, undefined, 'no legacy tokens by default')
  t.equal(
    loadConfig({ SIGNING_KEY: KEY, LEGACY_TOKENS_UNTIL: '2027-01-31T18:00:00+01:00' }).legacyTokensUntil,
    Date.UTC(2027, 0, 31, 17),
  )
  for (const bad of ['tomorrow', '2027-01-31', '2027-01-31T18:00:00', '2027-02-30T18:00:00Z']) {
    t.match(problems({ LEGACY_TOKENS_UNTIL: bad }), [/^LEGACY_TOKENS_UNTIL: expected a time such as/], bad)
  }
  t.equal(loadConfig({ SIGNING_KEY: KEY }).legacyPasswordHashes, 'accept')
  t.match(problems({ LEGACY_PASSWORD_HASHES: 'no' }), [
    /^LEGACY_PASSWORD_HASHES: expected one of accept, refuse/,
  ])
})

t.test('INTROSPECTION_CLIENTS: id:secret pairs, secrets never echoed', async (t) => {
  const secret = 's'.repeat(32)
  t.same(loadConfig({ SIGNING_KEY: KEY }).introspectionClients, {})
  t.same(
    loadConfig({ SIGNING_KEY: KEY, INTROSPECTION_CLIENTS: `shop-api:${secret}, crm:${secret}x` })
      .introspectionClients,
    {
      'shop-api': secret,
      crm: `${secret}x`,
    },
  )
  const found = problems({ INTROSPECTION_CLIENTS: 'shop-api:short-secret-value,:nameless' })
  t.equal(found.length, 2, 'each bad entry is reported')
  t.match(found[0], /^INTROSPECTION_CLIENTS: entry 1 must be id:secret/)
  t.notMatch(found.join(' '), /short-secret-value/, 'the secret is not echoed')
})

t.test('URLs and cross-field rules', async (t) => {
  t.match(problems({ DATABASE_URL: 'mysql://db/auth' }), [
    /^DATABASE_URL: expected a postgres: or postgresql:/,
  ])
  t.match(problems({ REDIS_URL: 'not a url' }), [/^REDIS_URL: not a valid URL\.$/])
  t.match(problems({ ADMIN_USERNAME: 'root' }), [/^ADMIN_PASSWORD: required when ADMIN_USERNAME is set/])
  t.match(problems({ ACCESS_TOKEN_LIFETIME: '7200', REFRESH_TOKEN_LIFETIME: '3600' }), [
    /^REFRESH_TOKEN_LIFETIME: must not be shorter than ACCESS_TOKEN_LIFETIME/,
  ])
  const all = problems({ PORT: 'x', TRUST_PROXY: 'x', SESSION_POLICY: 'x' })
  t.equal(all.length, 3, 'every problem is reported at once')
})

t.test('signing key', async (t) => {
  t.match(problems({ SIGNING_KEY: 'short' }), [/^SIGNING_KEY: must be at least 32 bytes long\.$/])
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), {
    name: 'ConfigError',
    message: /SIGNING_KEY: required when NODE_ENV=production/,
  })
  t.equal(loadConfig({ SIGNING_KEY: KEY }, { signingKey: 'override' }).signingKey, 'override')
})

t.test('outside production a key is generated once, kept private, and reused', async (t) => {
  const dir = await dataDir(t)
  const first = loadConfig({ DATA_DIR: dir })
  t.ok(first.signingKey.length >= 32, 'the generated key is long enough')
  const file = join(dir, 'signing-key')
  t.equal((await stat(file)).mode & 0o777, 0o600, 'only the owner can read it')
  t.equal((await readFile(file, 'utf8')).trim(), first.signingKey)
  t.equal(loadConfig({ DATA_DIR: dir }).signingKey, first.signingKey, 'a restart reuses it')
  const other = await dataDir(t)
  t.not(loadConfig({ DATA_DIR: other }).signingKey, first.signingKey, 'each data folder has its own')
})

t.test('key pairs: a PEM from the environment or a file, generated into DATA_DIR elsewhere', async (t) => {
  const dir = await dataDir(t)
  const generated = loadConfig({ DATA_DIR: dir, JWT_ALGORITHM: 'ES256' })
  t.match(generated.privateKey, /^-----BEGIN PRIVATE KEY-----/)
  t.equal(generated.signingKey, '', 'no HMAC secret is made for a key pair')
  t.equal((await stat(join(dir, 'signing-key-es256.pem'))).mode & 0o777, 0o600, 'only the owner can read it')
  t.equal(loadConfig({ DATA_DIR: dir, JWT_ALGORITHM: 'ES256' }).privateKey, generated.privateKey, 'reused')
  const oneLine = (generated.privateKey ?? '').replaceAll('\n', '\\n')
  t.equal(
    loadConfig({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: oneLine }).privateKey,
    generated.privateKey,
    '\\n-escaped PEM',
  )
  const file = join(dir, 'signing-key-es256.pem')
  t.equal(loadConfig({ JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY_FILE: file }).privateKey, generated.privateKey)
  t.match(problems({ ...PROD, JWT_ALGORITHM: 'RS256' }), [
    /^JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE: required for RS256 when NODE_ENV=production/,
  ])
  t.match(problems({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }), [
    /^JWT_PRIVATE_KEY_FILE: cannot read it \(ENOENT\)\.$/,
  ])
  t.match(problems({ JWT_ALGORITHM: 'RS512' }), [
    /^JWT_ALGORITHM: expected one of HS256, HS384, HS512, RS256, ES256, EdDSA/,
  ])
  t.match(problems({ KEY_ENCRYPTION_KEY: 'short' }), [
    /^KEY_ENCRYPTION_KEY: must be at least 32 bytes long\.$/,
  ])
})

t.test('mail: on outside production or with SMTP_URL; links need PUBLIC_URL in production', async (t) => {
  const prod = { ...PROD, SIGNING_KEY: KEY }
  t.equal(loadConfig({}).mailEnabled, true, 'outside production: on, to files')
  t.equal(loadConfig(prod).mailEnabled, false, 'production without SMTP_URL: off')
  const on = loadConfig({
    ...prod,
    SMTP_URL: 'smtps://u:p@mail.example.com',
    PUBLIC_URL: 'https://auth.example.com/',
  })
  t.equal(on.mailEnabled, true)
  t.equal(on.publicUrl, 'https://auth.example.com', 'no trailing slash, so links join cleanly')
  t.match(problems({ SMTP_URL: 'http://mail.example.com' }), [
    /^SMTP_URL: expected a smtp: or smtps:\/\/ URL/,
  ])
  t.match(problems({ ...prod, REQUIRE_VERIFIED_EMAIL: 'true' }), [
    /^REQUIRE_VERIFIED_EMAIL: needs SMTP_URL in production/,
  ])
  t.equal(
    loadConfig({ PUBLIC_URL: 'https://a.example', PASSWORD_RESET_URL: 'https://app.example/reset' })
      .passwordResetUrl,
    'https://app.example/reset',
  )
})

t.test('error messages never echo secrets', async (t) => {
  const secrets = {
    SIGNING_KEY: 'tiny-secret-key',
    DATABASE_URL: 'mysql://admin:pg-pass-9f3@db/auth',
    REDIS_URL: 'redis://:redis-pass-77@[broken',
    ADMIN_USERNAME: 'root',
  }
  let message = ''
  try {
    loadConfig({ ...secrets, ADMIN_PASSWORD: '', NODE_ENV: 'production' })
  } catch (err) {
    message = (err as Error).message
  }
  t.match(message, 'SIGNING_KEY')
  t.match(message, 'DATABASE_URL')
  t.match(message, 'REDIS_URL')
  for (const secret of ['tiny-secret-key', 'pg-pass-9f3', 'redis-pass-77', 'admin:']) {
    t.notMatch(message, secret, `the message does not contain ${secret}`)
  }
})

t.test('Redis Sentinel: REDIS_SENTINELS and REDIS_SENTINEL_MASTER', async (t) => {
  const config = loadConfig({
    SIGNING_KEY: KEY,
    REDIS_SENTINELS: 's1.internal:26380, s2.internal,[::1]:26381',
    REDIS_SENTINEL_MASTER: 'auth',
    REDIS_URL: 'rediss://user:p%40ss@ignored.host:6379/2',
  })
  t.same(config.redisSentinels, [
    { host: 's1.internal', port: 26380 },
    { host: 's2.internal', port: 26379 },
    { host: '::1', port: 26381 },
  ])
  const target = redisConnection(config) as Record<string, unknown>
  t.match(target, { name: 'auth', username: 'user', password: 'p@ss', db: 2, enableTLSForSentinelMode: true })
  t.notOk('host' in target, 'the host of REDIS_URL is not used')
  t.ok(usesRedis(config))
  t.notOk(usesRedis(loadConfig({ SIGNING_KEY: KEY })), 'no Redis: the in-process store')
  t.match(problems({ REDIS_SENTINELS: 's1:26379' }), [
    /^REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS/,
  ])
  t.match(problems({ REDIS_SENTINEL_MASTER: 'auth' }), [/^REDIS_SENTINELS: required with/])
  t.match(problems({ REDIS_SENTINELS: 's1:99999', REDIS_SENTINEL_MASTER: 'a' }), [
    /^REDIS_SENTINELS: expected host:port/,
  ])
  t.match(problems({ REDIS_SENTINELS: 'http://s1', REDIS_SENTINEL_MASTER: 'a' }), [/^REDIS_SENTINELS: /])
  t.same(
    problems({
      WORKERS: '2',
      DATABASE_URL: 'postgres://h/db',
      REDIS_SENTINELS: 's1',
      REDIS_SENTINEL_MASTER: 'a',
    }),
    [],
    'WORKERS > 1 accepts Sentinel as the shared Redis',
  )
})

t.test('Redis Cluster: REDIS_CLUSTER_NODES', async (t) => {
  const config = loadConfig({
    SIGNING_KEY: KEY,
    REDIS_CLUSTER_NODES: 'r1.internal:7000,r2.internal',
    REDIS_URL: 'rediss://user:p%40ss@ignored.host:6379',
  })
  const cluster = clusterConnection(config)!
  t.same(cluster.nodes, [
    { host: 'r1.internal', port: 7000 },
    { host: 'r2.internal', port: 6379 },
  ])
  t.match(cluster.redisOptions, { username: 'user', password: 'p@ss', tls: {} })
  t.notOk('db' in cluster.redisOptions, 'no database number: a cluster has one')
  t.notOk('host' in cluster.redisOptions, 'the host of REDIS_URL is not used')
  t.ok(usesRedis(config))
  t.equal(describeRedis(config), 'cluster nodes r1.internal:7000,r2.internal:6379')
  t.equal(clusterConnection(loadConfig({ SIGNING_KEY: KEY })), undefined, 'no cluster unless named')
  t.match(problems({ REDIS_CLUSTER_NODES: 'r1:0' }), [/^REDIS_CLUSTER_NODES: expected host:port/])
  t.match(problems({ REDIS_CLUSTER_NODES: 'r1', REDIS_SENTINELS: 's1', REDIS_SENTINEL_MASTER: 'a' }), [
    /^REDIS_CLUSTER_NODES: set it or REDIS_SENTINELS, not both/,
  ])
  t.same(
    problems({ WORKERS: '2', DATABASE_URL: 'postgres://h/db', REDIS_CLUSTER_NODES: 'r1:7000' }),
    [],
    'WORKERS > 1 accepts a cluster as the shared Redis',
  )
})

t.test('PUBLIC_URL: required in production; elsewhere where the server listens', async (t) => {
  t.same(problems({ ...PROD, PUBLIC_URL: '' }), [
    'PUBLIC_URL: required when NODE_ENV=production (the discovery document, page links and mailed links start with it, never with a Host header), e.g. https://auth.example.com.',
  ])
  t.equal(loadConfig({ SIGNING_KEY: KEY }).publicUrl, 'http://127.0.0.1:8000')
  t.equal(loadConfig({ SIGNING_KEY: KEY, HOST: '0.0.0.0', PORT: '9100' }).publicUrl, 'http://127.0.0.1:9100')
  t.equal(loadConfig({ SIGNING_KEY: KEY, HOST: '::1', PORT: '9100' }).publicUrl, 'http://[::1]:9100')
  t.equal(loadConfig({ SIGNING_KEY: KEY, HOST: 'auth.local' }).publicUrl, 'http://auth.local:8000')
})

t.test('NODE_ENV: production, development or test; a typo is refused', async (t) => {
  t.equal(loadConfig({ SIGNING_KEY: KEY }).env, 'development', 'unset: development')
  for (const env of ['production', 'development', 'test'] as const) {
    t.equal(loadConfig({ ...PROD, SIGNING_KEY: KEY, NODE_ENV: env }).env, env)
  }
  for (const typo of ['prod', 'Production', 'dev', 'staging']) {
    t.same(problems({ NODE_ENV: typo }), [
      `NODE_ENV: expected production, development or test, got "${typo}".`,
    ])
  }
})

t.test('production: the embedded backends only on purpose; KEY_ENCRYPTION_KEY required', async (t) => {
  const prod = { ...PROD, SIGNING_KEY: KEY }
  t.same(problems({ ...prod, DATABASE_URL: '', REDIS_URL: '' }), [
    'DATABASE_URL: required when NODE_ENV=production (else the users live in an embedded PGlite in DATA_DIR); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to run on the embedded database on purpose.',
    'REDIS_URL: required when NODE_ENV=production (or REDIS_SENTINELS, REDIS_CLUSTER_NODES; else revocations live in one process only); set it, or ALLOW_EMBEDDED_IN_PRODUCTION=true to use the in-process store on purpose.',
  ])
  t.same(problems({ ...prod, REDIS_URL: '', REDIS_CLUSTER_NODES: 'r1,r2,r3' }), [], 'a cluster is Redis too')
  const allowed = loadConfig({
    ...prod,
    DATABASE_URL: '',
    REDIS_URL: '',
    ALLOW_EMBEDDED_IN_PRODUCTION: 'true',
  })
  t.equal(allowed.databaseUrl, undefined, 'allowed on purpose')
  t.same(problems({ ...prod, KEY_ENCRYPTION_KEY: '' }), [
    'KEY_ENCRYPTION_KEY: required when NODE_ENV=production (it seals the two-factor secrets and rotated signing keys; the same on every instance), at least 32 bytes, e.g. `openssl rand -hex 32`.',
  ])
  t.same(
    problems({ ...prod, NODE_ENV: 'development', DATABASE_URL: '', KEY_ENCRYPTION_KEY: '' }),
    [],
    'elsewhere: generated',
  )
})

t.test('the start-up log names the features that are off, and why', async (t) => {
  const { featuresOff, productionWarnings } = await import('../../src/features.js')
  const prod = loadConfig({ ...PROD, SIGNING_KEY: KEY })
  t.same(featuresOff(prod), [
    'mail (password reset, e-mail verification, alerts): no SMTP_URL in production',
    'mail to users about new devices and failed logins: SUSPICIOUS_ACTIVITY_MAIL is not on',
    'metrics: set METRICS_PORT or METRICS_TOKEN',
    'introspection by services (HTTP Basic): no INTROSPECTION_CLIENTS; staff tokens still introspect',
  ])
  t.same(productionWarnings(prod), [])
  const all = loadConfig({
    ...PROD,
    SIGNING_KEY: KEY,
    SMTP_URL: 'smtp://mail.internal',
    SUSPICIOUS_ACTIVITY_MAIL: 'true',
    METRICS_PORT: '9100',
    INTROSPECTION_CLIENTS: `shop:${'s'.repeat(32)}`,
  })
  t.same(featuresOff(all), [], 'everything on: nothing listed')
  t.same(featuresOff({ ...all, auditEnabled: false }), [
    'audit trail, webhooks and alerts: AUDIT_ENABLED=false',
  ])
  const embedded = loadConfig({
    ...PROD,
    SIGNING_KEY: KEY,
    DATABASE_URL: '',
    ALLOW_EMBEDDED_IN_PRODUCTION: 'on',
  })
  t.match(productionWarnings(embedded), [/^production on the embedded database/])
})

t.test('DATABASE_URL may list the servers of a failover set; DB_POOLER names the pooler mode', async (t) => {
  const url = 'postgres://auth:pw@pg-a:5432,pg-b:5433/auth?target_session_attrs=read-write'
  t.same(problems({ DATABASE_URL: url }), [], 'a multi-host URL is accepted')
  t.equal(loadConfig({ SIGNING_KEY: KEY, DATABASE_URL: url }).databaseUrl, url, 'and passed on as it is')
  t.match(problems({ DATABASE_URL: 'postgres://auth@pg-a:5432,pg b/auth' }), [
    /^DATABASE_URL: not a valid URL/,
  ])
  t.equal(loadConfig({ SIGNING_KEY: KEY }).dbPooler, 'none', 'no pooler by default')
  t.equal(loadConfig({ SIGNING_KEY: KEY, DB_POOLER: 'transaction' }).dbPooler, 'transaction')
  t.match(problems({ DB_POOLER: 'session' }), [/^DB_POOLER: expected one of none, transaction/])
})
