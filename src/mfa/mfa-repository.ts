import { and, count, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import { mfaChallenges, mfaRecoveryCodes, userMfa } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import { storableJson } from '../lib/storable.js'

/** The two-factor tables: secrets, recovery codes, and logins waiting for their code. */
export class MfaRepository {
  constructor(private readonly db: Db) {}

  /** Starts (or restarts) an enrolment; false when two-factor is already on for the user. */
  async enrol(userId: number, sealedSecret: string): Promise<boolean> {
    const rows = await this.db
      .insert(userMfa)
      .values({ userId, sealedSecret })
      .onConflictDoUpdate({
        target: userMfa.userId,
        set: { sealedSecret, lastStep: 0, createdAt: new Date() },
        setWhere: isNull(userMfa.enabledAt),
      })
      .returning({ userId: userMfa.userId })
    return rows.length === 1
  }

  async find(userId: number) {
    const [row] = await this.db.select().from(userMfa).where(eq(userMfa.userId, userId))
    return row
  }

  /** Turns it on with the first accepted step and the recovery codes, once; `db`: the caller's transaction. */
  async enable(userId: number, step: number, codeHashes: string[], db: Db): Promise<boolean> {
    const on = await db
      .update(userMfa)
      .set({ enabledAt: new Date(), lastStep: step })
      .where(and(eq(userMfa.userId, userId), isNull(userMfa.enabledAt)))
      .returning({ userId: userMfa.userId })
    if (on.length === 0) return false
    await this.replaceCodes(userId, codeHashes, db)
    return true
  }

  /** Accepts a code's step if it is later than every step accepted before: each code works once. */
  async acceptStep(userId: number, step: number): Promise<boolean> {
    const rows = await this.db
      .update(userMfa)
      .set({ lastStep: step })
      .where(and(eq(userMfa.userId, userId), isNotNull(userMfa.enabledAt), lt(userMfa.lastStep, step)))
      .returning({ userId: userMfa.userId })
    return rows.length === 1
  }

  async spendCode(userId: number, codeHash: string): Promise<boolean> {
    const rows = await this.db
      .update(mfaRecoveryCodes)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(mfaRecoveryCodes.userId, userId),
          eq(mfaRecoveryCodes.codeHash, codeHash),
          isNull(mfaRecoveryCodes.usedAt),
        ),
      )
      .returning({ userId: mfaRecoveryCodes.userId })
    return rows.length === 1
  }

  async replaceCodes(userId: number, codeHashes: string[], db = this.db): Promise<void> {
    await db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId))
    await db.insert(mfaRecoveryCodes).values(codeHashes.map((codeHash) => ({ userId, codeHash })))
  }

  async unusedCodes(userId: number): Promise<number> {
    const [row] = await this.db
      .select({ n: count() })
      .from(mfaRecoveryCodes)
      .where(and(eq(mfaRecoveryCodes.userId, userId), isNull(mfaRecoveryCodes.usedAt)))
    return row?.n ?? 0
  }

  /** Turns two-factor off: secret, codes and waiting logins go; `db`: the caller's transaction. */
  async remove(userId: number, db: Db): Promise<void> {
    await db.delete(userMfa).where(eq(userMfa.userId, userId))
    await db.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId))
    await db.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId))
  }

  /** `login`: the waiting login's fields, as the client sent them, made storable in jsonb. */
  async addChallenge(tokenHash: string, userId: number, login: Record<string, unknown>, expiresAt: Date) {
    const stored = storableJson(login) as Record<string, unknown>
    await this.db.insert(mfaChallenges).values({ tokenHash, userId, login: stored, expiresAt })
  }

  /**
   * A live challenge (unused, unexpired, fewer than `maxAttempts` codes tried), counting this
   * attempt at it. The check and the count are one statement: of any number of concurrent
   * attempts, `maxAttempts` get the row.
   */
  async attemptChallenge(tokenHash: string, maxAttempts: number) {
    const [row] = await this.db
      .update(mfaChallenges)
      .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
      .where(
        and(
          eq(mfaChallenges.tokenHash, tokenHash),
          isNull(mfaChallenges.usedAt),
          gt(mfaChallenges.expiresAt, sql`now()`),
          lt(mfaChallenges.attempts, maxAttempts),
        ),
      )
      .returning()
    return row
  }

  /**
   * Reserves one failure of the day's `cap` before a code is checked (released if the code is
   * right): the count and the cap are one statement, so concurrent guesses cannot pass it. A day
   * starts at the first failure after the previous day ended. Answers the failures counted with
   * this one, or undefined when the cap is reached (or two-factor is off).
   */
  async reserveFailure(userId: number, cap: number): Promise<number | undefined> {
    const newDay = sql`(${userMfa.failuresSince} is null or ${userMfa.failuresSince} <= now() - interval '1 day')`
    const [row] = await this.db
      .update(userMfa)
      .set({
        failures: sql`case when ${newDay} then 1 else ${userMfa.failures} + 1 end`,
        failuresSince: sql`case when ${newDay} then now() else ${userMfa.failuresSince} end`,
      })
      .where(
        and(eq(userMfa.userId, userId), isNotNull(userMfa.enabledAt), or(newDay, lt(userMfa.failures, cap))),
      )
      .returning({ failures: userMfa.failures })
    return row?.failures
  }

  /** Gives back a reservation whose code was right. */
  async releaseFailure(userId: number): Promise<void> {
    await this.db
      .update(userMfa)
      .set({ failures: sql`greatest(${userMfa.failures} - 1, 0)` })
      .where(eq(userMfa.userId, userId))
  }

  /** When the day of failures that locked the user ends (undefined: not locked). */
  async lockedUntil(userId: number): Promise<Date | undefined> {
    const [row] = await this.db
      .select({ until: sql<string>`${userMfa.failuresSince} + interval '1 day'` })
      .from(userMfa)
      .where(
        and(eq(userMfa.userId, userId), gt(sql`${userMfa.failuresSince} + interval '1 day'`, sql`now()`)),
      )
    return row ? new Date(row.until) : undefined
  }

  /** Spends a challenge once: of two concurrent completions, one gets true. */
  async spendChallenge(tokenHash: string): Promise<boolean> {
    const rows = await this.db
      .update(mfaChallenges)
      .set({ usedAt: new Date() })
      .where(and(eq(mfaChallenges.tokenHash, tokenHash), isNull(mfaChallenges.usedAt)))
      .returning({ tokenHash: mfaChallenges.tokenHash })
    return rows.length === 1
  }
}
