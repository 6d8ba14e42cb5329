import { and, desc, eq, gt, inArray, ne, type SQL, sql } from 'drizzle-orm'
import { type SessionRow, sessions, users } from '../../schema/db.js'
import { type Rotation, SessionBatches, userMayRefresh } from './batches.js'
import { type AdminListOptions, findWithUser, listAdmin } from './staff-reads.js'
import type { Db } from '../database/database.js'
import { type PurgeOptions, purgeExpired } from '../database/purge.js'
import { isRowId } from '../tokens/claims.js'
import { storableIp, storableText } from '../lib/storable.js'

export interface NewSession {
  userId: number
  refreshJti: string
  accessJti: string
  clientType: string
  deviceName?: string | null
  ipAddress?: string | null
  userAgent?: string | null
  telegramUserId?: number | null
  telegramUsername?: string | null
  createdAt: Date
  expiresAt: Date
}

/** What a login under a one-per-client-type policy got: its session (and those it replaced), or a refusal. */
export type OpenedSession = { id: number; replaced: number[] } | 'already_logged_in' | 'password_changed'

/** Thrown inside the transaction to roll it back (the last_login it stamped included). */
class Refused extends Error {
  constructor(readonly reason: 'already_logged_in' | 'password_changed') {
    super(reason)
  }
}

/** What the client sent, as the row holds it: a valid address or none, text within its column. */
function storable(input: NewSession): NewSession {
  const text = (value: string | null | undefined, max: number) =>
    value == null ? null : storableText(value, max)
  return {
    ...input,
    deviceName: text(input.deviceName, 255),
    ipAddress: storableIp(input.ipAddress),
    userAgent: text(input.userAgent, 512),
    telegramUsername: text(input.telegramUsername, 255),
  }
}

const ph = (name: string) => sql.placeholder(name)
const at = (name: string) => sql`${sql.placeholder(name)}::timestamptz`

/** The sessions table: one row per login (device session). */
export class SessionRepository {
  // The per-request queries are built once: Drizzle's query builder costs several times the round trip.
  private readonly inserter
  private readonly batches: SessionBatches

  constructor(private readonly db: Db) {
    this.inserter = this.insertion(db).returning({ id: sessions.id }).prepare('session_insert')
    this.batches = new SessionBatches(db)
  }

  /** One session row, every value a placeholder (NewSession's names). */
  private insertion(db: Db) {
    return db.insert(sessions).values({
      userId: ph('userId'),
      refreshJti: ph('refreshJti'),
      accessJti: ph('accessJti'),
      clientType: ph('clientType'),
      deviceName: ph('deviceName'),
      ipAddress: ph('ipAddress'),
      userAgent: ph('userAgent'),
      telegramUserId: ph('telegramUserId'),
      telegramUsername: ph('telegramUsername'),
      createdAt: at('createdAt'),
      lastActivity: at('createdAt'),
      expiresAt: at('expiresAt'),
    })
  }

  /**
   * A login's session, with the user's last_login set to its start in the same statement (one
   * round trip and one commit, on a login's budget the database's largest share), only while the
   * user's password hash is still `verifiedHash`, the one the login checked: undefined otherwise.
   * The user's row is locked by the statement (the last_login update), and the hash is checked on
   * the row as it is once the lock is held: a password change committed meanwhile refuses the
   * session, and one that commits later finds the session to revoke.
   */
  async createAtLogin(input: NewSession, verifiedHash: string): Promise<{ id: number } | undefined> {
    const p = storable(input)
    const createdAt = p.createdAt.toISOString()
    const result = await this.db.execute(sql`
      with seen as (
        update ${users} set last_login = ${createdAt}::timestamptz
        where id = ${p.userId} and password_hash = ${verifiedHash}
        returning id
      )
      insert into ${sessions} (user_id, refresh_jti, access_jti, client_type, device_name, ip_address,
        user_agent, telegram_user_id, telegram_username, created_at, last_activity, expires_at)
      select id, ${p.refreshJti}::text, ${p.accessJti}::text, ${p.clientType}::text,
        ${p.deviceName ?? null}::text, ${p.ipAddress ?? null}::text, ${p.userAgent ?? null}::text,
        ${p.telegramUserId ?? null}::bigint, ${p.telegramUsername ?? null}::text,
        ${createdAt}::timestamptz, ${createdAt}::timestamptz, ${p.expiresAt.toISOString()}::timestamptz
      from seen
      returning id`)
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { id: number }[]
    return rows[0] ? { id: Number(rows[0].id) } : undefined
  }

  /**
   * A login's session under SESSION_POLICY `reject` or `replace` (at most one live session per
   * user and client type), decided in one transaction whose first statement locks the user's row
   * (stamping last_login): concurrent logins of one user take their turns, and each sees the
   * sessions the one before it committed. `reject` refuses while a live session of the type
   * exists; `replace` revokes those sessions (the caller denies them in the revocation store).
   * As createAtLogin, only while the user's password hash is still `verifiedHash`.
   */
  async openExclusive(
    input: NewSession,
    policy: 'reject' | 'replace',
    verifiedHash: string,
  ): Promise<OpenedSession> {
    const row = storable(input)
    try {
      return await this.db.transaction(async (tx) => {
        const locked = await tx
          .update(users)
          .set({ lastLogin: row.createdAt })
          .where(and(eq(users.id, row.userId), eq(users.passwordHash, verifiedHash)))
          .returning({ id: users.id })
        if (locked.length === 0) throw new Refused('password_changed')
        const sameType = and(eq(sessions.userId, row.userId), eq(sessions.clientType, row.clientType))
        let replaced: number[] = []
        if (policy === 'replace') {
          replaced = await this.revokeWhere(sameType, 'replaced', tx)
        } else {
          const [live] = await tx
            .select({ id: sessions.id })
            .from(sessions)
            .where(and(sameType, eq(sessions.isActive, true), gt(sessions.expiresAt, row.createdAt)))
            .limit(1)
          if (live) throw new Refused('already_logged_in')
        }
        const { id } = await this.create(row, tx)
        return { id, replaced }
      })
    } catch (err) {
      if (err instanceof Refused) return err.reason
      throw err
    }
  }

  /** Creates a session; returns its id. `db`: a transaction it is part of (the prepared insert is not). */
  async create(input: NewSession, db?: Db): Promise<{ id: number }> {
    if (!db) {
      const [row] = await this.inserter.execute(this.params(storable(input)))
      return row!
    }
    const { createdAt, ...rest } = storable(input)
    const [row] = await db
      .insert(sessions)
      .values({ ...rest, createdAt, lastActivity: createdAt })
      .returning({ id: sessions.id })
    return row!
  }

  private params(input: NewSession) {
    return {
      userId: input.userId,
      refreshJti: input.refreshJti,
      accessJti: input.accessJti,
      clientType: input.clientType,
      deviceName: input.deviceName ?? null,
      ipAddress: input.ipAddress ?? null,
      userAgent: input.userAgent ?? null,
      telegramUserId: input.telegramUserId ?? null,
      telegramUsername: input.telegramUsername ?? null,
      createdAt: input.createdAt.toISOString(),
      expiresAt: input.expiresAt.toISOString(),
    }
  }

  async findById(id: number): Promise<SessionRow | undefined> {
    const [row] = await this.db.select().from(sessions).where(eq(sessions.id, id)).limit(1)
    return row
  }

  /**
   * Moves the session to a new refresh jti if, and only if, it still holds the presented one.
   * The conditional UPDATE is the whole concurrency story: of two refreshes with one token,
   * exactly one matches the row. Concurrent rotations share one statement (Batcher).
   */
  rotate(r: Rotation): Promise<boolean> {
    // An input the statement cannot even read would fail the whole batch; no row can match it.
    if (!isRowId(r.sid) || !isRowId(r.userId) || r.presentedJti.includes('\u0000')) {
      return Promise.resolve(false)
    }
    return this.batches.rotate(r)
  }

  /** Without rotation the refresh token stays; the session records the new access token. */
  async recordAccess(sid: number, userId: number, refreshJti: string, accessJti: string, at: Date) {
    const [row] = await this.db
      .update(sessions)
      .set({ accessJti, lastActivity: at })
      .where(
        and(
          eq(sessions.id, sid),
          eq(sessions.userId, userId),
          eq(sessions.refreshJti, refreshJti),
          eq(sessions.isActive, true),
          userMayRefresh,
        ),
      )
      .returning({ id: sessions.id })
    return row
  }

  /** Revokes matching active sessions; returns the ids that were active until now. */
  private async revokeWhere(where: SQL | undefined, reason: string, db = this.db): Promise<number[]> {
    const at = new Date()
    const rows = await db
      .update(sessions)
      .set({ isActive: false, revokedAt: at, revokedReason: reason })
      .where(and(eq(sessions.isActive, true), where))
      .returning({ id: sessions.id })
    return rows.map((r) => r.id)
  }

  /** Revokes one session; true if it was active until now. Concurrent calls share one statement. */
  revoke(id: number, reason: string): Promise<boolean> {
    if (!isRowId(id)) return Promise.resolve(false)
    return this.batches.revoke(id, reason)
  }

  /** `db`: a transaction to write in, when the revocation is part of a larger change. */
  revokeForUser(userId: number, reason: string, exceptSid?: number, db = this.db): Promise<number[]> {
    const where =
      exceptSid === undefined
        ? eq(sessions.userId, userId)
        : and(eq(sessions.userId, userId), ne(sessions.id, exceptSid))
    return this.revokeWhere(where, reason, db)
  }

  revokeAll(reason: string, db = this.db): Promise<number[]> {
    return this.revokeWhere(undefined, reason, db)
  }

  async listForUser(userId: number, includeInactive: boolean, now = new Date()): Promise<SessionRow[]> {
    const where = includeInactive
      ? eq(sessions.userId, userId)
      : and(eq(sessions.userId, userId), eq(sessions.isActive, true), gt(sessions.expiresAt, now))
    return this.db
      .select()
      .from(sessions)
      .where(where)
      .orderBy(desc(sessions.lastActivity), desc(sessions.id))
  }

  async touch(ids: number[], at: Date): Promise<void> {
    if (ids.length === 0) return
    await this.db.update(sessions).set({ lastActivity: at }).where(inArray(sessions.id, ids))
  }

  /** Every session an operator may see, filtered and paged (src/sessions/staff-reads.ts). */
  listAdmin(options: AdminListOptions) {
    return listAdmin(this.db, options)
  }

  /** Deletes sessions past their lifetime (their tokens are dead by their own exp), in short slices (src/database/purge.ts). */
  deleteExpired(now: Date, options?: PurgeOptions): Promise<number> {
    return purgeExpired(this.db, sessions, sessions.id, sessions.expiresAt, now, options)
  }

  /** Revoked sessions whose tokens could still be alive: for rebuilding the revocation store. */
  async revokedUnexpired(now: Date): Promise<Pick<SessionRow, 'id' | 'userId' | 'expiresAt'>[]> {
    return this.db
      .select({ id: sessions.id, userId: sessions.userId, expiresAt: sessions.expiresAt })
      .from(sessions)
      .where(and(eq(sessions.isActive, false), gt(sessions.expiresAt, now)))
  }

  /** The tenant and rank of a session's user, for the rule of operator actions (scope.ts). */
  findWithUser(id: number) {
    return findWithUser(this.db, id)
  }
}

export type { AdminSessionRow } from './staff-reads.js'
