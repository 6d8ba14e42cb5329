import { backoffMs } from '../lib/backoff.js'
import { Rounds } from '../lib/rounds.js'
import type { ClaimedMail, OutboxRepository } from './outbox.js'
import type { MailTemplates } from './templates.js'
import type { MailTransport } from './transport.js'

export interface MailerOptions {
  from: string
  /** How often the outbox is read for retries and for mail queued by other instances. */
  pollMs?: number
  /** The first wait before a retry; each further one doubles, up to an hour (default 10 s). */
  retryMs?: number
  /** Give up after this many attempts: with the default backoff, more than a day. */
  maxAttempts?: number
  onError?: (err: unknown, mail: ClaimedMail) => void
}

const LEASE_MS = 120_000
const BATCH = 20

/**
 * Sends what the outbox holds, after the transaction that queued it has committed: `kick()` after
 * a commit sends at once; a timer picks up retries and mail queued by other instances. A mail is
 * claimed (leased) before it is sent and marked once the server accepted it, so an SMTP outage or
 * a crash delays it but never loses it. The one case of a second copy: a crash after the SMTP
 * server accepted a mail and before our update; that copy carries the same Message-ID.
 */
export class Mailer {
  private readonly rounds = new Rounds(() => this.drain())

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly templates: MailTemplates,
    private readonly transport: MailTransport,
    private readonly options: MailerOptions,
  ) {}

  get description(): string {
    return this.transport.description
  }

  start(): void {
    this.rounds.start(this.options.pollMs ?? 5000)
  }

  /** Sends what is due now; calls while a round runs start one more round after it. */
  kick(): void {
    this.rounds.kick()
  }

  /** Resolves once nothing is being sent (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.rounds.idle()
  }

  async stop(): Promise<void> {
    await this.rounds.stop()
    this.transport.close()
  }

  private async drain(): Promise<void> {
    for (;;) {
      let batch: ClaimedMail[]
      try {
        batch = await this.outbox.claim(BATCH, LEASE_MS)
      } catch {
        return // the database is away: the timer tries again
      }
      if (batch.length === 0) return
      for (const mail of batch) await this.deliver(mail)
      if (this.rounds.stopped) return
    }
  }

  private async deliver(mail: ClaimedMail): Promise<void> {
    try {
      const rendered = this.templates.render(mail.template, mail.data)
      await this.transport.send({
        from: this.options.from,
        to: mail.recipient,
        messageId: mail.messageId,
        ...rendered,
      })
    } catch (err) {
      this.options.onError?.(err, mail)
      const permanent = isPermanent(err) || mail.attempts >= (this.options.maxAttempts ?? 36)
      const retryAt = permanent
        ? undefined
        : new Date(Date.now() + backoffMs(mail.attempts, this.options.retryMs))
      await this.outbox.failed(mail.id, describe(err), retryAt).catch(() => {})
      return
    }
    // If this update fails, the lease runs out and the mail is sent again, with the same Message-ID.
    await this.outbox.sent(mail.id).catch(() => {})
  }
}

/** An SMTP 5xx answer (no such mailbox, refused): trying again would not help. */
function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

/** What went wrong, without the message (which may quote the mail). */
function describe(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; message?: string }
  return [e.code, e.responseCode].filter(Boolean).join(' ') || 'send failed'
}
