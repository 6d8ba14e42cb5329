import type { Config } from '../src/config.js'
import type { Database } from '../src/database/database.js'
import type { PasswordHasher } from '../src/accounts/passwords.js'
import type { Repositories } from '../src/accounts/repositories.js'
import type { AuthService, Principal, TokenCodec } from '../src/auth/token-flows.js'
import type { RevocationService } from '../src/revocation/service.js'
import type { SessionActivity } from '../src/accounts/session-activity.js'
import type { RevocationStore } from '../src/revocation/store.js'
import type { Throttle } from '../src/auth/throttle.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    database: Database
    repos: Repositories
    revocationStore: RevocationStore
    tokenCodec: TokenCodec
    hasher: PasswordHasher
    throttle: Throttle
    revocations: RevocationService
    sessionActivity: SessionActivity
    auth: AuthService
    /** preHandler for protected routes: sets request.principal or answers 401/503. */
    authenticate: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyContextConfig {
    /** The route needs a Bearer access token (used by the 405 answer to authenticate first). */
    protected?: boolean
  }
}
