import { randomBytes } from 'node:crypto'
import { and, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm'
import { mailOutbox } from '../../schema/db.js'
import type { Db } from '../database/database.js'

export interface OutgoingMail {
  recipient: string
  template: string
  data: Record<string, string>
}

export interface ClaimedMail extends OutgoingMail {
  id: number
  messageId: string
  attempts: number
}

/** The mail_outbox table: what must be sent, claimed by one sender at a time. */
export class OutboxRepository {
  constructor(
    private readonly db: Db,
    private readonly messageDomain = 'authjwt',
  ) {}

  /** Queues a mail; `db`: the transaction of the change that causes it, so both land or neither. */
  async add(mail: OutgoingMail, db = this.db): Promise<void> {
    const messageId = `<${randomBytes(16).toString('hex')}@${this.messageDomain}>`
    await db.insert(mailOutbox).values({ ...mail, messageId })
  }

  /**
   * Claims up to `limit` due mails for `leaseMs`: another sender skips them until the lease ends,
   * so an instance that dies mid-send leaves them to the others rather than losing them.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedMail[]> {
    const now = new Date()
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: mailOutbox.id })
        .from(mailOutbox)
        .where(
          and(
            eq(mailOutbox.status, 'pending'),
            lte(mailOutbox.nextAttemptAt, now),
            or(isNull(mailOutbox.lockedUntil), lte(mailOutbox.lockedUntil, now)),
          ),
        )
        .orderBy(mailOutbox.id)
        .limit(limit)
        .for('update', { skipLocked: true })
      if (due.length === 0) return []
      const rows = await tx
        .update(mailOutbox)
        .set({ lockedUntil: new Date(now.getTime() + leaseMs), attempts: sql`${mailOutbox.attempts} + 1` })
        .where(
          inArray(
            mailOutbox.id,
            due.map((d) => d.id),
          ),
        )
        .returning()
      return rows
        .sort((a, b) => a.id - b.id)
        .map((r) => ({
          id: r.id,
          recipient: r.recipient,
          template: r.template,
          data: r.data ?? {},
          messageId: r.messageId,
          attempts: r.attempts,
        }))
    })
  }

  /** Sent: the data (which may hold a link with a token) is cleared. */
  async sent(id: number): Promise<void> {
    await this.db
      .update(mailOutbox)
      .set({ status: 'sent', sentAt: new Date(), data: null, lockedUntil: null, lastError: null })
      .where(eq(mailOutbox.id, id))
  }

  /** Tried again at `retryAt`; undefined: given up (the data is cleared too). */
  async failed(id: number, error: string, retryAt: Date | undefined): Promise<void> {
    await this.db
      .update(mailOutbox)
      .set(
        retryAt
          ? { nextAttemptAt: retryAt, lockedUntil: null, lastError: error }
          : { status: 'failed', data: null, lockedUntil: null, lastError: error },
      )
      .where(eq(mailOutbox.id, id))
  }

  /** Counts by status, for operators and tests. */
  async counts(): Promise<Record<string, number>> {
    const rows = await this.db
      .select({ status: mailOutbox.status, n: sql<number>`count(*)::int` })
      .from(mailOutbox)
      .groupBy(mailOutbox.status)
    return Object.fromEntries(rows.map((r) => [r.status, r.n]))
  }
}
