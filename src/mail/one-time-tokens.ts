import { createHash, randomBytes } from 'node:crypto'
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import { oneTimeTokens } from '../../schema/db.js'
import type { Db } from '../database/database.js'

export type TokenPurpose = 'password_reset' | 'email_verification'

export interface IssuedFor {
  userId: number
  email: string
}

/** Why a token did not work: each gets its own sentence, none says whom it was for. */
export type SpendFailure = 'unknown' | 'used' | 'expired'

/**
 * Tokens a mail carries. 32 random bytes, base64url; only their SHA-256 is stored (a random token
 * needs no slow hash: it cannot be guessed, only stolen, and the table alone does not give it).
 */
export class OneTimeTokenRepository {
  constructor(private readonly db: Db) {}

  /** A new token for the user; earlier unused ones for the same purpose stop working. */
  async issue(purpose: TokenPurpose, to: IssuedFor, ttlSeconds: number, db = this.db): Promise<string> {
    const token = newToken()
    const now = new Date()
    await this.cancel(to.userId, purpose, db, now)
    await db.insert(oneTimeTokens).values({
      tokenHash: digest(token),
      purpose,
      userId: to.userId,
      email: to.email,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
    })
    return token
  }

  /** The user's unused tokens for `purpose` stop working (an address or a password changed). */
  async cancel(userId: number, purpose: TokenPurpose, db = this.db, at = new Date()): Promise<void> {
    await db
      .update(oneTimeTokens)
      .set({ usedAt: at })
      .where(
        and(
          eq(oneTimeTokens.userId, userId),
          eq(oneTimeTokens.purpose, purpose),
          isNull(oneTimeTokens.usedAt),
        ),
      )
  }

  /** Whom an unused, unexpired token is for, without spending it. */
  async peek(purpose: TokenPurpose, token: string, db = this.db): Promise<IssuedFor | SpendFailure> {
    const [row] = await db
      .select()
      .from(oneTimeTokens)
      .where(and(eq(oneTimeTokens.tokenHash, digest(token)), eq(oneTimeTokens.purpose, purpose)))
    if (!row) return 'unknown'
    if (row.usedAt) return 'used'
    if (row.expiresAt.getTime() <= Date.now()) return 'expired'
    return { userId: row.userId, email: row.email }
  }

  /** Spends the token once: of two concurrent calls, one gets its owner and the other 'used'. */
  async spend(purpose: TokenPurpose, token: string, db = this.db): Promise<IssuedFor | SpendFailure> {
    const [row] = await db
      .update(oneTimeTokens)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(oneTimeTokens.tokenHash, digest(token)),
          eq(oneTimeTokens.purpose, purpose),
          isNull(oneTimeTokens.usedAt),
          gt(oneTimeTokens.expiresAt, sql`now()`),
        ),
      )
      .returning({ userId: oneTimeTokens.userId, email: oneTimeTokens.email })
    // Read in the same transaction: PGlite has one connection, which the transaction holds.
    return row ?? (await this.peek(purpose, token, db))
  }
}

/** A token for a link or a login step: 32 random bytes, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** What is stored of a random token (or recovery code): its SHA-256, base64url. */
export function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
