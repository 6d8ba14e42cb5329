import { eq, sql } from 'drizzle-orm'
import { serviceState } from '../../schema/db.js'
import type { Db } from '../database/database.js'

const GLOBAL_VALID_AFTER = 'tokens_valid_after'

/** Durable service-wide marks, the source the revocation store is rebuilt from. */
export class GlobalMarkRepository {
  constructor(private readonly db: Db) {}

  async globalValidAfter(): Promise<number | undefined> {
    const [row] = await this.db
      .select()
      .from(serviceState)
      .where(eq(serviceState.key, GLOBAL_VALID_AFTER))
      .limit(1)
    return row ? Number(row.value) : undefined
  }

  /** Only moves forward: two invalidate-alls on machines whose clocks differ keep the later mark. */
  async setGlobalValidAfter(ms: number, db = this.db): Promise<void> {
    await db
      .insert(serviceState)
      .values({ key: GLOBAL_VALID_AFTER, value: String(ms) })
      .onConflictDoUpdate({
        target: serviceState.key,
        set: {
          value: sql`greatest(${serviceState.value}::bigint, ${ms}::bigint)::text`,
          updatedAt: new Date(),
        },
      })
  }
}
