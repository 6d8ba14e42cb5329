import { and, eq, sql } from 'drizzle-orm'
import { profiles, sessions, users } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import { Batcher } from '../lib/batcher.js'

export interface Rotation {
  sid: number
  userId: number
  presentedJti: string
  refreshJti: string
  accessJti: string
  at: Date
  expiresAt: Date
}

interface Revocation {
  id: number
  reason: string
  at: Date
}

// Up to this many batch statements run at once (the pool has more connections for everything else);
// under load the next batch fills while they run.
const batchOptions = { maxInFlight: 4, maxBatch: 500 }

const ph = (name: string) => sql.placeholder(name)

/** The session's user may still renew tokens: active, and not past the account's expiry date. */
export const userMayRefresh = sql`exists (
  select 1 from ${users} left join ${profiles} on ${profiles.userId} = ${users.id}
  where ${users.id} = ${sessions.userId} and ${users.isActive}
    and (${profiles.expiryDate} is null or ${profiles.expiryDate} > now()))`

/** Which inputs of a batch a `returning v.i` statement matched. */
function answered(size: number, rows: { i: number }[]): boolean[] {
  const out = new Array<boolean>(size).fill(false)
  for (const row of rows) out[row.i] = true
  return out
}

/**
 * The two per-request session writes, each a prepared statement over a batch: concurrent
 * rotations (refresh) and revocations (logout, blacklist) of one loop turn share one statement,
 * one round trip and one commit (src/lib/batcher.ts).
 */
export class SessionBatches {
  private readonly rotator
  private readonly revoker
  private readonly rotations: Batcher<Rotation, boolean>
  private readonly revocations: Batcher<Revocation, boolean>

  constructor(db: Db) {
    const rotationInput = sql`json_to_recordset(${ph('input')}::json) as v(
      i int, sid int, user_id int, presented text, refresh text, access text,
      at timestamptz, expires_at timestamptz)`
    this.rotator = db
      .update(sessions)
      .set({
        refreshJti: sql`v.refresh`,
        accessJti: sql`v.access`,
        previousRefreshJti: sql`v.presented`,
        // The database's clock when the row is written, i.e. once this rotation holds the row lock
        // and is about to commit: a concurrent refresh that arrived before then lost a race, it did
        // not replay a spent token. (A time taken before the query would be too early.)
        rotatedAt: sql`clock_timestamp()`,
        lastActivity: sql`v.at`,
        expiresAt: sql`v.expires_at`,
      })
      .from(rotationInput)
      .where(
        and(
          eq(sessions.id, sql`v.sid`),
          eq(sessions.userId, sql`v.user_id`),
          eq(sessions.refreshJti, sql`v.presented`),
          eq(sessions.isActive, true),
          userMayRefresh,
        ),
      )
      .returning({ i: sql<number>`v.i` })
      .prepare('session_rotate_batch')
    this.revoker = db
      .update(sessions)
      .set({ isActive: false, revokedAt: sql`v.at`, revokedReason: sql`v.reason` })
      .from(sql`json_to_recordset(${ph('input')}::json) as v(i int, id int, reason text, at timestamptz)`)
      .where(and(eq(sessions.id, sql`v.id`), eq(sessions.isActive, true)))
      .returning({ i: sql<number>`v.i` })
      .prepare('session_revoke_batch')
    this.rotations = new Batcher((batch: Rotation[]) => this.rotateMany(batch), batchOptions)
    this.revocations = new Batcher((batch: Revocation[]) => this.revokeMany(batch), batchOptions)
  }

  rotate(rotation: Rotation): Promise<boolean> {
    return this.rotations.submit(rotation)
  }

  revoke(id: number, reason: string): Promise<boolean> {
    return this.revocations.submit({ id, reason, at: new Date() })
  }

  private async rotateMany(batch: Rotation[]): Promise<boolean[]> {
    const input = JSON.stringify(
      batch.map((r, i) => ({
        i,
        sid: r.sid,
        user_id: r.userId,
        presented: r.presentedJti,
        refresh: r.refreshJti,
        access: r.accessJti,
        at: r.at.toISOString(),
        expires_at: r.expiresAt.toISOString(),
      })),
    )
    // Two inputs for the same row and token: the row is updated once, for one of them; the
    // other finds it moved on and is answered false, as it would be one statement later.
    const result = await this.rotator.execute({ input })
    return answered(batch.length, result)
  }

  private async revokeMany(batch: Revocation[]): Promise<boolean[]> {
    const input = JSON.stringify(
      batch.map((r, i) => ({ i, id: r.id, reason: r.reason, at: r.at.toISOString() })),
    )
    const result = await this.revoker.execute({ input })
    return answered(batch.length, result)
  }
}
