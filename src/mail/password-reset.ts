import type { AuditTrail, RequestMeta } from '../audit/events.js'
import type { Throttle } from '../auth/throttle.js'
import type { Background } from '../lib/background.js'
import type { RevocationService } from '../revocation/service.js'
import { type MailDeps, queueLinkMail, tokenRefused } from './links.js'
import type { PasswordHasher } from '../accounts/passwords.js'

/** Our page a reset link opens by default (routes/mail-pages.ts); PASSWORD_RESET_URL may name another. */
export const RESET_PAGE = '/password/reset/'

/**
 * Password reset by mail. The request answers the same, at once, whatever the address: looking
 * the address up and queueing the mail happen after the answer. Confirming spends the token, sets
 * the password and revokes every session of the user in one transaction.
 */
export class PasswordReset {
  constructor(
    private readonly d: MailDeps & {
      revocations: RevocationService
      hasher: PasswordHasher
      throttle: Throttle
      background: Background
      audit: AuditTrail
    },
  ) {}

  /** Throttled per address and per client address (429), else queued for after the answer. */
  async request(email: string, ip: string | undefined): Promise<void> {
    await this.d.throttle.mailRequest(email, ip)
    this.d.background.run(() => this.send(email.trim()))
  }

  private async send(email: string): Promise<void> {
    const user = await this.d.repos.users.findByLogin(email)
    // The address must be the account's own (findByLogin also matches usernames).
    if (!user?.isActive || !user.email || user.email.toLowerCase() !== email.toLowerCase()) return
    const ttlSeconds = this.d.config.passwordResetTtlSeconds
    await this.d.db.transaction((tx) =>
      queueLinkMail(
        this.d,
        tx,
        {
          purpose: 'password_reset',
          template: 'password-reset',
          page: this.d.config.passwordResetUrl || `${this.d.config.publicUrl}${RESET_PAGE}`,
          ttlSeconds,
        },
        user,
      ),
    )
    this.d.mailer.kick()
  }

  async confirm(
    token: string,
    newPassword: string,
    meta: RequestMeta,
  ): Promise<{ detail: string; revoked_sessions: number }> {
    const { repos } = this.d
    const owner = await repos.oneTimeTokens.peek('password_reset', token)
    if (typeof owner === 'string') throw tokenRefused(owner)
    const user = await repos.users.findById(owner.userId)
    // A link proves control of the address it went to, and of no other: if the account's address
    // changed since, the link is void (the change also cancelled it; this holds for older rows).
    if (!user?.isActive || !sameAddress(owner.email, user.email)) throw tokenRefused('unknown')
    const hash = await this.d.hasher.hash(newPassword)
    const ids = await this.d.revocations.revokeUser(user, 'password_reset', {
      alongside: async (tx) => {
        // Spent here, in the transaction: of two confirmations racing, one sets the password.
        const spent = await repos.oneTimeTokens.spend('password_reset', token, tx)
        if (typeof spent === 'string') throw tokenRefused(spent)
        // An address change that raced this one cancelled the token first (the row lock orders
        // them), and then `spend` found it used.
        await repos.users.setPasswordHash(user.id, hash, tx)
        // Following the link proved the address (checked above to be the account's).
        await repos.users.update(user.id, { emailVerified: true }, tx)
      },
    })
    const details = { revoked_sessions: ids.length }
    this.d.audit.record({ type: 'password.reset', userId: user.id, details }, meta)
    return { detail: 'Your password has been reset. Log in with the new one.', revoked_sessions: ids.length }
  }
}

function sameAddress(a: string, b: string): boolean {
  return a !== '' && a.toLowerCase() === b.toLowerCase()
}
