import { randomInt } from 'node:crypto'
import { digest, newToken } from '../mail/one-time-tokens.js'
import type { CurrentUser } from '../accounts/current-user.js'
import type { PasswordHasher } from '../accounts/passwords.js'
import type { UserRecord } from '../accounts/users.js'
import type { AuditTrail, RequestMeta } from '../audit/events.js'
import { accountKey, type Throttle } from '../auth/throttle.js'
import type { ServerConfig } from '../config/server.js'
import type { TokensConfig } from '../config/tokens.js'
import type { TwoFactorConfig } from '../config/two-factor.js'
import type { Db } from '../database/database.js'
import type { Repositories } from '../repositories.js'
import { ApiError, FieldErrors } from '../http/errors.js'
import { seal, unseal } from '../keys/sealed.js'
import type { RevocationService } from '../revocation/service.js'
import type { Principal } from '../tokens/claims.js'
import { CODE_USED, errors } from './errors.js'
import { codeStep, enrolment, newSecret } from './totp.js'

const CHALLENGE_SECONDS = 300
/**
 * Codes one login attempt may try before it must start again (they count against the login limit
 * too, and wrong ones against the account's daily cap, MFA_DAILY_FAILURE_LIMIT).
 */
const CHALLENGE_ATTEMPTS = 5
const RECOVERY_CODES = 10
/** A login this recent proves the person at the keyboard knows the password: enrolment needs no other proof. */
const FRESH_LOGIN_SECONDS = 300
const CODE_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'

/** What a code proved: the step or recovery code was spent now, was spent before, or proves nothing. */
type CodeCheck = 'accepted' | 'used' | 'wrong'

export interface TwoFactorDeps {
  /** Its section, and the names an authenticator app shows beside the code. */
  config: TwoFactorConfig & Pick<TokensConfig, 'jwtIssuer'> & Pick<ServerConfig, 'publicUrl'>
  /** KEY_ENCRYPTION_KEY, which seals the secrets; undefined: two-factor answers 503. */
  encryptionKey: () => string | undefined
  db: Db
  repos: Repositories
  hasher: PasswordHasher
  throttle: Throttle
  currentUser: CurrentUser
  audit: AuditTrail
  revocations: RevocationService
}

/** What a login keeps while it waits for its code: the request's fields but the password. */
export interface PendingLogin {
  input: Record<string, unknown>
  meta: { ip: string | undefined; userAgent: string | undefined }
  /** SHA-256 of the password hash the login checked: a change or reset meanwhile ends the challenge. */
  verified?: string
}

/**
 * TOTP two-factor login. Enrolment: setup (secret, otpauth URI, QR code), then confirm with a first
 * code, which turns it on and returns ten recovery codes, shown once. A login of such a user stops
 * after the password with 401 `mfa_required` and an `mfa_token` (single-use, five minutes, bound
 * to that attempt; not a token any route accepts), completed by a code or a recovery code.
 * Invariants: a TOTP code is accepted once (its step must be later than the last one accepted);
 * a recovery code once; every code tried counts against the account's login limit; a challenge
 * checks at most five codes and an account at most MFA_DAILY_FAILURE_LIMIT wrong ones a day,
 * however many arrive at once.
 */
export class TwoFactor {
  constructor(private readonly d: TwoFactorDeps) {}

  /**
   * A new authenticator needs the password, or a login of the last few minutes: a stolen session
   * (or an unlocked screen) must not be enough to bind the account to someone else's phone.
   */
  async setup(principal: Principal, password: string | undefined, ip: string | undefined) {
    const user = await this.d.currentUser.of(principal)
    if (user.mfaEnabled) throw errors.alreadyOn()
    if (password !== undefined) {
      const account = accountKey(user.id, user.username)
      await this.d.throttle.attempt(account, ip)
      if (!(await this.d.hasher.verify(user.passwordHash, password, account))) {
        throw new FieldErrors({ password: ['Wrong password.'] })
      }
    } else if (!(await this.freshLogin(principal))) {
      throw errors.stalePassword()
    }
    const secret = newSecret()
    if (!(await this.d.repos.mfa.enrol(user.id, seal(this.encryptionKey(), sealId(user.id), secret)))) {
      throw errors.alreadyOn()
    }
    const issuer = this.d.config.jwtIssuer ?? new URL(this.d.config.publicUrl).hostname
    return { secret, ...(await enrolment(secret, issuer, user.username)) }
  }

  /**
   * Turns two-factor on. The other sessions were opened with the password alone, perhaps by
   * whoever made the user turn it on: they end with it, in the same transaction, unless
   * `keepOtherSessions` (the caller's own session stays either way).
   */
  async confirm(
    principal: Principal,
    code: string,
    meta: RequestMeta,
    keepOtherSessions = false,
  ): Promise<{ recovery_codes: string[]; revoked_sessions: number }> {
    const user = await this.d.currentUser.of(principal)
    const row = await this.d.repos.mfa.find(user.id)
    if (!row || row.enabledAt) throw row ? errors.alreadyOn() : errors.notOn()
    const step = codeStep(this.secretOf(user.id, row.sealedSecret), code)
    if (step === undefined) throw new FieldErrors({ code: ['The code is not valid.'] })
    const codes = recoveryCodes()
    const turnOn = async (tx: Db) => {
      if (!(await this.d.repos.mfa.enable(user.id, step, codes.map(digest), tx))) throw errors.alreadyOn()
      await this.d.repos.users.update(user.id, { mfaEnabled: true }, tx)
    }
    let revoked: number[] = []
    if (keepOtherSessions) await this.d.db.transaction(turnOn)
    else {
      // sid 0 (a token without a session) keeps nothing but the caller's own access token.
      revoked = await this.d.revocations.revokeUser(user, 'mfa_enabled', {
        exceptSid: principal.sid ?? 0,
        alongside: turnOn,
      })
    }
    const details = { revoked_sessions: revoked.length }
    this.d.audit.record({ type: 'mfa.enabled', userId: user.id, details }, meta)
    return { recovery_codes: codes.map(shown), revoked_sessions: revoked.length }
  }

  /** Off, with the password or a current code. */
  async disable(principal: Principal, proof: Proof, meta: RequestMeta): Promise<{ detail: string }> {
    const user = await this.proven(principal, proof, meta.ip)
    await this.turnOff(user.id)
    this.d.audit.record({ type: 'mfa.disabled', userId: user.id }, meta)
    return { detail: 'Two-factor authentication is off.' }
  }

  /** Ten new recovery codes (the old ones stop working), with the password or a current code. */
  async regenerate(
    principal: Principal,
    proof: Proof,
    ip: string | undefined,
  ): Promise<{ recovery_codes: string[] }> {
    const user = await this.proven(principal, proof, ip)
    const codes = recoveryCodes()
    await this.d.repos.mfa.replaceCodes(user.id, codes.map(digest))
    return { recovery_codes: codes.map(shown) }
  }

  async status(principal: Principal): Promise<{ enabled: boolean; recovery_codes_left: number }> {
    const user = await this.d.currentUser.of(principal)
    return {
      enabled: user.mfaEnabled,
      recovery_codes_left: user.mfaEnabled ? await this.d.repos.mfa.unusedCodes(user.id) : 0,
    }
  }

  /**
   * Staff: turns a user's two-factor off (lost phone); the caller checked the tenant rules. Never
   * the actor's own: that goes through `disable`, which asks for the proof.
   */
  async reset(actor: { id: number }, user: UserRecord, meta: RequestMeta): Promise<void> {
    if (actor.id === user.id) throw errors.ownReset()
    await this.turnOff(user.id)
    this.d.audit.record({ type: 'mfa.reset', userId: user.id }, meta)
  }

  private async turnOff(userId: number): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      await this.d.repos.mfa.remove(userId, tx)
      await this.d.repos.users.update(userId, { mfaEnabled: false }, tx)
    })
  }

  /** The answer to a right password of a user with two-factor on: a challenge to complete. */
  async challenge(user: UserRecord, pending: PendingLogin): Promise<ApiError> {
    const token = newToken()
    const expires = new Date(Date.now() + CHALLENGE_SECONDS * 1000)
    const login = { ...pending, verified: digest(user.passwordHash) }
    await this.d.repos.mfa.addChallenge(digest(token), user.id, { ...login }, expires)
    return errors.mfaRequired(token)
  }

  /** The user and the pending login once a code completes the challenge; throws otherwise. */
  async complete(
    mfaToken: string,
    code: string,
    meta: RequestMeta,
  ): Promise<{ user: UserRecord; pending: PendingLogin }> {
    const { mfa, users } = this.d.repos
    const challenge = await mfa.attemptChallenge(digest(mfaToken), CHALLENGE_ATTEMPTS)
    if (!challenge) throw errors.challengeGone()
    const user = await users.findById(challenge.userId)
    if (!user?.isActive || !user.mfaEnabled) throw errors.challengeGone()
    // The password the login checked is no longer the user's: the attempt ends with it. (The
    // session insert checks the hash again, against a change that commits after this read.)
    const pending = challenge.login as unknown as PendingLogin
    if (pending.verified !== digest(user.passwordHash)) throw errors.challengeGone()
    await this.d.throttle.attempt(accountKey(user.id, user.username), meta.ip)
    // The login limit alone lets a guesser try codes all day: the day's failures have a cap of
    // their own, reserved before the code is checked so that parallel guesses cannot overshoot it.
    const cap = this.d.config.mfaDailyFailureLimit
    const failures = cap > 0 ? await mfa.reserveFailure(user.id, cap) : 0
    if (failures === undefined) {
      const until = await mfa.lockedUntil(user.id)
      // No lock: two-factor was turned off meanwhile, which ends the challenge too.
      if (!until) throw errors.challengeGone()
      throw errors.locked(Math.max(1, Math.ceil((until.getTime() - Date.now()) / 1000)))
    }
    const check = await this.accepts(user.id, code)
    if (check !== 'accepted') {
      // The failure that reaches the cap says so: the audit trail raises an alert for it.
      const details =
        cap > 0 ? { failures_today: failures, ...(failures >= cap ? { locked: true } : {}) } : {}
      this.d.audit.record({ type: 'mfa.failed', userId: user.id, details }, meta)
      if (challenge.attempts >= CHALLENGE_ATTEMPTS) await mfa.spendChallenge(challenge.tokenHash)
      throw check === 'used' ? errors.codeUsed() : errors.wrongCode()
    }
    if (cap > 0) await mfa.releaseFailure(user.id)
    if (!(await mfa.spendChallenge(challenge.tokenHash))) throw errors.challengeGone()
    return { user, pending }
  }

  /**
   * A current TOTP code not used before, or an unused recovery code. A current code whose step (or a
   * later one) was already accepted is `used`: a replay, or the code that confirmed enrolment.
   */
  private async accepts(userId: number, code: string): Promise<CodeCheck> {
    const { mfa } = this.d.repos
    const compact = code.replace(/[\s-]/g, '').toLowerCase()
    if (/^\d{6}$/.test(compact)) {
      const row = await mfa.find(userId)
      if (!row?.enabledAt) return 'wrong'
      const step = codeStep(this.secretOf(userId, row.sealedSecret), compact)
      if (step === undefined) return 'wrong'
      return (await mfa.acceptStep(userId, step)) ? 'accepted' : 'used'
    }
    return compact.length === 10 && (await mfa.spendCode(userId, digest(compact))) ? 'accepted' : 'wrong'
  }

  private async proven(principal: Principal, proof: Proof, ip: string | undefined): Promise<UserRecord> {
    const user = await this.d.currentUser.of(principal)
    if (!user.mfaEnabled) throw errors.notOn()
    const account = accountKey(user.id, user.username)
    await this.d.throttle.attempt(account, ip)
    if (proof.password) {
      if (!(await this.d.hasher.verify(user.passwordHash, proof.password, account))) {
        throw new FieldErrors({ password: ['Wrong password or code.'] })
      }
      return user
    }
    const check = proof.code === undefined ? 'wrong' : await this.accepts(user.id, proof.code)
    if (check === 'used') throw new FieldErrors({ code: [CODE_USED] })
    if (check !== 'accepted') throw new FieldErrors({ code: ['Wrong password or code.'] })
    return user
  }

  /** Whether the caller's session began with a password less than FRESH_LOGIN_SECONDS ago. */
  private async freshLogin(principal: Principal): Promise<boolean> {
    if (principal.sid === undefined) return false
    const session = await this.d.repos.sessions.findById(principal.sid)
    if (!session || session.userId !== principal.user_id) return false
    return Date.now() - session.createdAt.getTime() < FRESH_LOGIN_SECONDS * 1000
  }

  private encryptionKey(): string {
    const key = this.d.encryptionKey()
    if (!key) throw errors.unavailable()
    return key
  }

  private secretOf(userId: number, sealed: string): string {
    try {
      return unseal(this.encryptionKey(), sealId(userId), sealed)
    } catch (err) {
      if (err instanceof ApiError) throw err
      // KEY_ENCRYPTION_KEY changed since the secret was sealed: an operator's matter, never a 500.
      throw errors.sealedElsewhere()
    }
  }
}

export interface Proof {
  password?: string
  code?: string
}

/** The sealed secret is bound to its user: copied onto another row, it does not open. */
function sealId(userId: number): string {
  return `mfa:${userId}`
}

function shown(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

/** Ten codes of ten characters from an alphabet without look-alikes (50 bits each), shown as xxxxx-xxxxx. */
function recoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES }, () =>
    Array.from({ length: 10 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join(''),
  )
}
