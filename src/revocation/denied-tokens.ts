import { gt, sql } from 'drizzle-orm'
import { deniedTokens } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import { type PurgeOptions, purgeExpired } from '../database/purge.js'

/** Tokens denied by jti: the durable half of `RevocationService.denyToken`. */
export class DeniedTokenRepository {
  constructor(private readonly db: Db) {}

  async deny(jti: string, expiresAt: Date): Promise<void> {
    await this.db
      .insert(deniedTokens)
      .values({ jti, expiresAt })
      .onConflictDoUpdate({
        target: deniedTokens.jti,
        set: { expiresAt: sql`greatest(${deniedTokens.expiresAt}, excluded.expires_at)` },
      })
  }

  /** Denies a token unless it was denied already: true for the one caller that denied it. */
  async denyFirst(jti: string, expiresAt: Date, db = this.db): Promise<boolean> {
    const rows = await db
      .insert(deniedTokens)
      .values({ jti, expiresAt })
      .onConflictDoNothing({ target: deniedTokens.jti })
      .returning({ jti: deniedTokens.jti })
    return rows.length === 1
  }

  /** Denials that still stop a live token: for rebuilding the revocation store. */
  unexpired(now: Date): Promise<{ jti: string; expiresAt: Date }[]> {
    return this.db
      .select({ jti: deniedTokens.jti, expiresAt: deniedTokens.expiresAt })
      .from(deniedTokens)
      .where(gt(deniedTokens.expiresAt, now))
  }

  /** Deletes denials past their expiry, in short slices (src/database/purge.ts). */
  deleteExpired(now: Date, options?: PurgeOptions): Promise<number> {
    return purgeExpired(this.db, deniedTokens, deniedTokens.jti, deniedTokens.expiresAt, now, options)
  }
}
