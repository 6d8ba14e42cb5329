import type { PasswordHasher } from '../accounts/passwords.js'
import type { AuditTrail } from '../audit/events.js'
import type { Repositories } from '../repositories.js'
import type { MailConfig } from '../config/mail.js'
import type { SessionsConfig } from '../config/sessions.js'
import type { TokensConfig } from '../config/tokens.js'
import type { RevocationService } from '../revocation/service.js'
import type { RevocationStore } from '../revocation/store.js'
import type { TokenCodec } from '../tokens/codec.js'
import type { TwoFactor } from '../mfa/two-factor.js'
import type { Throttle } from './throttle.js'

/** What the token flows (login, refresh, verify, blacklist, logout) work with. */
/** What the token flows read: the lifetimes, how sessions renew, whether logins need a verified address. */
export type AuthConfig = Pick<TokensConfig, 'accessTokenLifetime' | 'refreshTokenLifetime'> &
  SessionsConfig &
  Pick<MailConfig, 'requireVerifiedEmail'>

export interface AuthDeps {
  config: AuthConfig
  repos: Repositories
  store: RevocationStore
  revocations: RevocationService
  hasher: PasswordHasher
  codec: TokenCodec
  throttle: Throttle
  /** Where what happened is recorded (src/audit/). */
  audit: AuditTrail
  /** Two-factor login, for users who turned it on. */
  twoFactor?: TwoFactor
}

/** What a refresh answers: a new access token, and a new refresh token when they rotate. */
export interface Renewed {
  access: string
  refresh?: string
}
