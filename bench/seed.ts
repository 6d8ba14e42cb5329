import { createHmac } from 'node:crypto'
import { sessions } from '../schema/db.js'
import type { Config } from '../src/config/index.js'
import { openDatabase } from '../src/database/database.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { createRepositories } from '../src/repositories.js'
import { buildClaims, type Claims } from '../src/tokens/claims.js'
import { newJti } from '../src/tokens/jti.js'
import { BENCH_PASSWORD } from './argon2.js'

export interface TokenPair {
  sid: number
  userId: number
  access: string
  refresh: string
}

export interface Seed {
  usernames: string[]
  /** Live sessions for the protected routes (one per user). */
  sessions: TokenPair[]
  /** Sessions for refresh chains (each token is used once; the answer carries the next). */
  refreshChains: TokenPair[]
  /** Sessions that are logged out once each. */
  logoutPool: TokenPair[]
}

export interface SeedOptions {
  databaseUrl?: string
  embeddedDir?: string
  config: Config
  users: number
  refreshChains: number
  logoutPool: number
}

/** HS256 the way the keyring signs with SIGNING_KEY: the same header, the claims as built by src/tokens.ts. */
function signer(key: string) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
  return (claims: Claims) => {
    const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
  }
}

/**
 * Users are created through the repositories with a real argon2id hash at the configured cost.
 * Sessions for the refresh and logout pools are written as the rows a login writes, with tokens
 * signed by the same key and claims: a logout run consumes tens of thousands of sessions, which
 * real logins would take minutes of argon2 to make. Runs before the server starts, so PGlite
 * (one process at a time) can be seeded too.
 */
export async function seed(o: SeedOptions): Promise<Seed> {
  if (o.config.jwtAlgorithm !== 'HS256') throw new Error('the bench signs HS256 tokens')
  const database = await openDatabase({ url: o.databaseUrl, embeddedDir: o.embeddedDir, poolSize: 4 })
  try {
    await database.migrate()
    const repos = createRepositories(database.db)
    const passwordHash = await new PasswordHasher(o.config.argon2).hash(BENCH_PASSWORD)
    const usernames: string[] = []
    const userIds: number[] = []
    for (let i = 0; i < o.users; i++) {
      const username = `bench${i}`
      const user = await repos.users.create({ username, email: `${username}@example.com`, passwordHash })
      usernames.push(username)
      userIds.push(user.id)
    }
    const sign = signer(o.config.signingKey)
    const mint = async (count: number): Promise<TokenPair[]> => {
      const out: TokenPair[] = []
      for (let start = 0; start < count; start += 2000) {
        const nowMs = Date.now()
        const rows = Array.from({ length: Math.min(2000, count - start) }, (_, i) => ({
          userId: userIds[(start + i) % userIds.length]!,
          refreshJti: newJti(nowMs),
          accessJti: newJti(nowMs),
          clientType: 'unknown',
          userAgent: 'bench',
          ipAddress: '127.0.0.1',
          createdAt: new Date(nowMs),
          lastActivity: new Date(nowMs),
          expiresAt: new Date(nowMs + o.config.refreshTokenLifetime * 1000),
        }))
        const inserted = await database.db
          .insert(sessions)
          .values(rows)
          .returning({ id: sessions.id, userId: sessions.userId, refreshJti: sessions.refreshJti })
        const byJti = new Map(rows.map((r) => [r.refreshJti, r]))
        for (const row of inserted) {
          const base = { user_id: row.userId, sid: row.id }
          const refresh = buildClaims('refresh', o.config.refreshTokenLifetime, base, nowMs)
          const access = buildClaims('access', o.config.accessTokenLifetime, base, nowMs)
          refresh.jti = row.refreshJti
          access.jti = byJti.get(row.refreshJti)!.accessJti
          out.push({ sid: row.id, userId: row.userId, access: sign(access), refresh: sign(refresh) })
        }
      }
      return out
    }
    return {
      usernames,
      sessions: await mint(o.users),
      refreshChains: await mint(o.refreshChains),
      logoutPool: await mint(o.logoutPool),
    }
  } finally {
    await database.close()
  }
}
