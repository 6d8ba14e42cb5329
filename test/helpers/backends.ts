import { randomBytes } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import postgres from 'postgres'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import { type Database, openDatabase } from '../../src/database/database.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import type { RevocationStore } from '../../src/revocation/store.js'

/**
 * Every storage test runs on the embedded backends (PGlite in memory, in-process store) and on the
 * real ones (PostgreSQL, Redis). Real servers are used whenever reachable; in CI, or with
 * REQUIRE_REAL_BACKENDS=1, an unreachable server is a failing test, never a silent pass.
 */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** TEST_DB_POOLER=transaction: TEST_DATABASE_URL is a transaction-mode pooler (test/database/pooler.test.ts). */
const POOLER = process.env.TEST_DB_POOLER === 'transaction' ? 'transaction' : 'none'
const requireReal = process.env.CI === 'true' || process.env.REQUIRE_REAL_BACKENDS === '1'

export type BackendName = 'embedded' | 'real'

let reachable: Promise<{ pg: string | undefined; redis: string | undefined }> | undefined

/** Why each real server cannot be reached (undefined when it can). */
export function probeRealServers() {
  reachable ??= (async () => {
    const pg = await (async () => {
      const sql = postgres(PG_URL, { max: 1, connect_timeout: 3, onnotice: () => {} })
      try {
        await sql`select 1`
        return undefined
      } catch (err) {
        return `PostgreSQL at ${PG_URL.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`
      } finally {
        await sql.end({ timeout: 1 })
      }
    })()
    const redis = await (async () => {
      const client = new Redis(REDIS_URL, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 3000,
      })
      client.on('error', () => {})
      try {
        await client.connect()
        await client.ping()
        return undefined
      } catch (err) {
        return `Redis at ${REDIS_URL}: ${(err as Error).message}`
      } finally {
        client.disconnect()
      }
    })()
    return { pg, redis }
  })()
  return reachable
}

/** The backends this run tests against. Unreachable real servers fail the test when they are required. */
export async function backendNames(t: Test): Promise<BackendName[]> {
  const { pg, redis } = await probeRealServers()
  // TEST_BACKENDS=real: the real ones only (test/database/pooler.test.ts runs the contract tests so).
  if (!pg && !redis) return process.env.TEST_BACKENDS === 'real' ? ['real'] : ['embedded', 'real']
  const why = [pg, redis].filter(Boolean).join('; ')
  if (requireReal) {
    t.fail(`real backends required but unreachable: ${why}`)
  } else {
    t.comment(`NOTE: real backends unreachable, testing the embedded ones only (${why})`)
  }
  return ['embedded']
}

/** Runs `fn` as a subtest once per backend. */
export async function eachBackend(
  t: Test,
  fn: (t: Test, backend: BackendName) => Promise<void>,
): Promise<void> {
  for (const backend of await backendNames(t)) {
    await t.test(backend, (tt) => fn(tt, backend))
  }
}

/** A fresh database on the real server, dropped when the test ends. */
export async function freshPostgres(t: Test): Promise<{ url: string; database: Database }> {
  const name = `authjwt_t_${randomBytes(6).toString('hex')}`
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  const database = await openDatabase({ url: url.toString(), poolSize: 5, pooler: POOLER })
  t.teardown(async () => {
    await database.close()
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 2 })
  })
  return { url: url.toString(), database }
}

/** A Redis store under a prefix of its own, whose keys are deleted when the test ends. */
export async function freshRedisStore(t: Test, prefix = `t:${randomBytes(6).toString('hex')}:`) {
  const store = new RedisRevocationStore(REDIS_URL, { prefix })
  await store.connect()
  // Nothing to restore from in a store test; an app built on this store rebuilds it again.
  await store.keepRestored(async () => {})
  t.teardown(async () => {
    const found = await store.client.keys(`${prefix}*`)
    if (found.length) await store.client.del(...found)
    await store.close()
  })
  return store
}

export async function openBackend(
  t: Test,
  backend: BackendName,
  realStore?: RevocationStore,
): Promise<{ database: Database; store: RevocationStore; databaseUrl?: string }> {
  if (backend === 'real') {
    const { url, database } = await freshPostgres(t)
    await database.migrate()
    return { database, store: realStore ?? (await freshRedisStore(t)), databaseUrl: url }
  }
  const database = await openDatabase({})
  await database.migrate()
  const store = new MemoryRevocationStore()
  t.teardown(async () => {
    await store.close()
    await database.close()
  })
  return { database, store }
}

/** Config for tests: cheap argon2 (the real cost is a bench concern), no login throttling, quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig(
    { NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    {
      signingKey: 'test-signing-key-that-is-at-least-32-bytes-long',
      argon2: { memoryKiB: 1024, timeCost: 1, parallelism: 1 },
      loginRateLimit: 100_000,
      // Mail is off unless a test turns it on (test/mail/mail.test.ts), so no test writes .eml files.
      mailEnabled: false,
      ...overrides,
    },
  )
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  backend: BackendName
  database: Database
  store: RevocationStore
  request(opts: InjectOptions): Promise<LightMyRequestResponse>
  createUser(input?: Partial<CreateUserInput>): Promise<{ id: number; username: string; password: string }>
  login(
    username: string,
    password: string,
    extra?: Record<string, unknown>,
  ): Promise<{ access: string; refresh: string; session_id: number; body: Record<string, unknown> }>
  bearer(access: string): { authorization: string }
}

export interface CreateUserInput {
  username: string
  email: string
  password: string
  isStaff: boolean
  isSuperuser: boolean
  isActive: boolean
  isManager: boolean
  clientName: string
  expiryDate: Date | null
  firstName: string
  lastName: string
  emailVerified: boolean
}

let counter = 0

/** An app on the given backend (on `real`: with `store` in place of Redis), closed when the test ends. */
export async function makeApp(
  t: Test,
  backend: BackendName,
  overrides: Partial<Config> = {},
  realStore?: RevocationStore,
): Promise<TestApp> {
  const { database, store } = await openBackend(t, backend, realStore)
  const config = testConfig(overrides)
  const app = await buildApp(config, { database, store, logger: false })
  await app.ready()
  t.teardown(() => app.close())

  const testApp: TestApp = {
    app,
    config,
    backend,
    database,
    store,
    request: (opts) => app.inject(opts),
    async createUser(input = {}) {
      counter += 1
      const username = input.username ?? `user${counter}_${randomBytes(3).toString('hex')}`
      const password = input.password ?? `pw-${randomBytes(6).toString('hex')}`
      const clientId = input.clientName ? (await app.repos.clients.findOrCreate(input.clientName)).id : null
      const user = await app.repos.users.create({
        username,
        email: input.email ?? `${username}@example.com`,
        passwordHash: await app.hasher.hash(password),
        isStaff: input.isStaff,
        isSuperuser: input.isSuperuser,
        isActive: input.isActive,
        isManager: input.isManager,
        firstName: input.firstName,
        lastName: input.lastName,
        clientId,
        expiryDate: input.expiryDate ?? null,
        // As `create-user` makes them: the operator vouches for the address.
        emailVerified: input.emailVerified ?? true,
      })
      return { id: user.id, username, password }
    },
    async login(username, password, extra = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/token/',
        payload: { username, password, ...extra },
      })
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
      const body = res.json()
      return { access: body.access, refresh: body.refresh, session_id: body.session_id, body }
    },
    bearer: (access) => ({ authorization: `Bearer ${access}` }),
  }
  return testApp
}
