import type { Throttle } from '../auth/throttle.js'
import type { Db } from '../database/database.js'
import { type MailDeps, queueLinkMail, tokenRefused } from './links.js'
import type { UserRecord } from '../accounts/users.js'

/** Our page a verification link opens by default (routes/mail-pages.ts); EMAIL_VERIFICATION_URL may name another. */
export const VERIFY_PAGE = '/email/verify/'

/**
 * E-mail verification: a link is queued in the transaction that creates a user or changes an
 * address, and confirming it marks the address verified if it is still the account's.
 * REQUIRE_VERIFIED_EMAIL decides whether an unverified user may log in (src/auth/login.ts).
 */
export class EmailVerification {
  constructor(private readonly d: MailDeps & { throttle: Throttle }) {}

  get enabled(): boolean {
    return this.d.config.mailEnabled
  }

  /** Queues the link for `user` in `tx`, when mail is on and the user has an address to prove. */
  async queue(tx: Db, user: { id: number; username: string; email: string }): Promise<void> {
    if (!this.enabled || !user.email) return
    const ttlSeconds = this.d.config.emailVerificationTtlSeconds
    await queueLinkMail(
      this.d,
      tx,
      {
        purpose: 'email_verification',
        template: 'verify-email',
        page: this.d.config.emailVerificationUrl || `${this.d.config.publicUrl}${VERIFY_PAGE}`,
        ttlSeconds,
      },
      user,
    )
  }

  /** After the transaction that queued a link committed. */
  sent(): void {
    if (this.enabled) this.d.mailer.kick()
  }

  /** A new link for the caller's unverified address; throttled like a reset. */
  async resend(user: UserRecord, ip: string | undefined): Promise<{ detail: string }> {
    if (user.emailVerified) return { detail: 'Your e-mail address is already verified.' }
    if (!user.email) return { detail: 'Your account has no e-mail address to verify.' }
    await this.d.throttle.mailRequest(user.email, ip)
    await this.d.db.transaction((tx) => this.queue(tx, user))
    this.sent()
    return { detail: 'A verification link is on its way.' }
  }

  async confirm(token: string): Promise<{ detail: string; email: string }> {
    const { repos } = this.d
    const owner = await repos.oneTimeTokens.peek('email_verification', token)
    if (typeof owner === 'string') throw tokenRefused(owner)
    const user = await repos.users.findById(owner.userId)
    // A link for an address the account has since replaced proves nothing about the new one.
    if (!user || user.email.toLowerCase() !== owner.email.toLowerCase()) throw tokenRefused('unknown')
    await this.d.db.transaction(async (tx) => {
      const spent = await repos.oneTimeTokens.spend('email_verification', token, tx)
      if (typeof spent === 'string') throw tokenRefused(spent)
      await repos.users.update(user.id, { emailVerified: true }, tx)
    })
    return { detail: 'Your e-mail address is verified.', email: user.email }
  }
}
