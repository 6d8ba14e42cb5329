import { resolve } from 'node:path'
import type { Reader } from './read.js'
import type { NodeEnv } from './server.js'

/** Where mail goes, what it says, and the flows that send it (password reset, e-mail verification). */
export interface MailConfig {
  /** Where mail goes (smtp:// or smtps://); undefined: files in DATA_DIR/outbox outside production. */
  smtpUrl: string | undefined
  mailFrom: string
  /** Password reset and e-mail verification: on with SMTP_URL, and always outside production. */
  mailEnabled: boolean
  /** Where reset and verification links point (`?token=` is added); '': our own pages under PUBLIC_URL. */
  passwordResetUrl: string
  emailVerificationUrl: string
  /** A folder whose files override the built-in mail templates. */
  mailTemplatesDir: string | undefined
  passwordResetTtlSeconds: number
  emailVerificationTtlSeconds: number
  /** Whether a user whose e-mail is not verified is refused at login. */
  requireVerifiedEmail: boolean
  /** The first wait before a failed mail is tried again; each further wait doubles, up to an hour. */
  mailRetrySeconds: number
}

export function readMail(read: Reader, env: NodeEnv): MailConfig {
  const smtpUrl = read.url('SMTP_URL', ['smtp:', 'smtps:'])
  const mail: MailConfig = {
    smtpUrl,
    mailFrom: read.env.MAIL_FROM?.trim() || 'authjwt <no-reply@localhost>',
    mailEnabled: Boolean(smtpUrl) || env !== 'production',
    passwordResetUrl: read.url('PASSWORD_RESET_URL', ['http:', 'https:']) ?? '',
    emailVerificationUrl: read.url('EMAIL_VERIFICATION_URL', ['http:', 'https:']) ?? '',
    mailTemplatesDir: read.env.MAIL_TEMPLATES_DIR ? resolve(read.env.MAIL_TEMPLATES_DIR) : undefined,
    passwordResetTtlSeconds: read.int('PASSWORD_RESET_TTL', 1800, 60, 7 * 86400),
    emailVerificationTtlSeconds: read.int('EMAIL_VERIFICATION_TTL', 3 * 86400, 60, 30 * 86400),
    requireVerifiedEmail: read.bool('REQUIRE_VERIFIED_EMAIL', false),
    mailRetrySeconds: read.int('MAIL_RETRY_SECONDS', 10, 1, 3600),
  }
  if (mail.requireVerifiedEmail && !mail.mailEnabled) {
    read.problem('REQUIRE_VERIFIED_EMAIL: needs SMTP_URL in production, or no one could verify an address.')
  }
  return mail
}
