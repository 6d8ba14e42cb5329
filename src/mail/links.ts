import type { MailConfig } from '../config/mail.js'
import type { ServerConfig } from '../config/server.js'
import type { Db } from '../database/database.js'
import type { Repositories } from '../repositories.js'
import { FieldErrors } from '../http/errors.js'
import type { SpendFailure, TokenPurpose } from './one-time-tokens.js'

/** What the mail flows share: where links point, and how a mail joins a transaction. */
export interface MailDeps {
  /** Its section, and PUBLIC_URL, where the links start unless the section names other pages. */
  config: MailConfig & Pick<ServerConfig, 'publicUrl'>
  db: Db
  repos: Repositories
  /** Sends what was queued, after the commit. */
  mailer: { kick(): void }
}

/** A link from configuration (PUBLIC_URL or the page's own URL), never from a request's Host header. */
export function linkTo(page: string, token: string): string {
  const url = new URL(page)
  url.searchParams.set('token', token)
  return url.toString()
}

const failures: Record<SpendFailure, string> = {
  unknown: 'This link is not valid. Ask for a new one.',
  used: 'This link was already used. Ask for a new one.',
  expired: 'This link has expired. Ask for a new one.',
}

/** The 400 for a token that does not work, under the field that carried it. */
export function tokenRefused(failure: SpendFailure): FieldErrors {
  return new FieldErrors({ token: [failures[failure]] })
}

export async function queueLinkMail(
  d: MailDeps,
  tx: Db,
  mail: { purpose: TokenPurpose; template: string; page: string; ttlSeconds: number },
  user: { id: number; username: string; email: string },
): Promise<void> {
  const token = await d.repos.oneTimeTokens.issue(
    mail.purpose,
    { userId: user.id, email: user.email },
    mail.ttlSeconds,
    tx,
  )
  await d.repos.outbox.add(
    {
      recipient: user.email,
      template: mail.template,
      data: {
        username: user.username,
        email: user.email,
        link: linkTo(mail.page, token),
        minutes: String(Math.round(mail.ttlSeconds / 60)),
      },
    },
    tx,
  )
}
