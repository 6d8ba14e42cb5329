import { and, asc, count, eq, ilike, or, type SQL, sql } from 'drizzle-orm'
import { clients, profiles, type UserRow, users } from '../../schema/db.js'
import type { Db } from '../database/database.js'

/** A user with what every answer about a user needs: the profile's expiry and the tenant's name. */
export interface UserRecord extends UserRow {
  expiryDate: Date | null
  profileCreatedAt: Date | null
  profileUpdatedAt: Date | null
  clientName: string | null
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  firstName?: string
  lastName?: string
  isActive?: boolean
  isStaff?: boolean
  isSuperuser?: boolean
  isManager?: boolean
  clientId?: number | null
  expiryDate?: Date | null
}

export interface UserPatch {
  email?: string
  firstName?: string
  lastName?: string
  isActive?: boolean
  isStaff?: boolean
  isManager?: boolean
  expiryDate?: Date | null
}

/** A unique constraint said no; `field` is the API field it concerns. */
export class DuplicateError extends Error {
  constructor(readonly field: 'username' | 'email') {
    super(`duplicate ${field}`)
    this.name = 'DuplicateError'
  }
}

const columns = {
  id: users.id,
  username: users.username,
  email: users.email,
  passwordHash: users.passwordHash,
  firstName: users.firstName,
  lastName: users.lastName,
  isActive: users.isActive,
  isStaff: users.isStaff,
  isSuperuser: users.isSuperuser,
  isManager: users.isManager,
  dateJoined: users.dateJoined,
  lastLogin: users.lastLogin,
  clientId: users.clientId,
  tokensValidAfter: users.tokensValidAfter,
  expiryDate: profiles.expiryDate,
  profileCreatedAt: profiles.createdAt,
  profileUpdatedAt: profiles.updatedAt,
  clientName: clients.name,
}

export class UserRepository {
  // The hot queries are built once: Drizzle's query builder costs several times the round trip.
  private readonly byId
  private readonly byLogin

  // Recently read users, for the read-only current-user answer (see findRecent).
  private readonly recent = new Map<number, { at: number; user: UserRecord }>()
  private readonly reading = new Map<number, Promise<UserRecord | undefined>>()
  private writes = 0

  constructor(
    private readonly db: Db,
    private readonly recentMs = 0,
  ) {
    this.byId = this.select()
      .where(eq(users.id, sql.placeholder('id')))
      .limit(1)
      .prepare('user_by_id')
    const identifier = sql.placeholder('identifier')
    this.byLogin = this.select()
      .where(
        or(
          eq(users.username, identifier),
          and(sql`${users.email} <> ''`, sql`lower(${users.email}) = lower(${identifier})`),
        ),
      )
      .limit(2)
      .prepare('user_by_login')
  }

  private select() {
    return this.db
      .select(columns)
      .from(users)
      .leftJoin(profiles, eq(profiles.userId, users.id))
      .leftJoin(clients, eq(clients.id, users.clientId))
  }

  async findById(id: number): Promise<UserRecord | undefined> {
    const [row] = await this.byId.execute({ id })
    return row
  }

  /**
   * Called before every write of a user row (also by callers writing it in another repository's
   * statement), so this process never shows an older row after it.
   */
  forget(id: number): void {
    this.writes += 1
    this.recent.delete(id)
    this.reading.delete(id)
  }

  /**
   * findById, answered from memory when read less than `recentMs` ago. Only for showing a user:
   * this process's writes forget the entry at once, another instance's show after `recentMs` at
   * most, and access decisions never use it (revocation and deactivation are checked in the
   * revocation store on every request).
   */
  async findRecent(id: number): Promise<UserRecord | undefined> {
    if (this.recentMs <= 0) return this.findById(id)
    const hit = this.recent.get(id)
    if (hit && Date.now() - hit.at < this.recentMs) return hit.user
    // Concurrent misses for one user share one read, so an expiring entry costs one query, not a burst.
    let reading = this.reading.get(id)
    if (!reading) {
      const at = Date.now()
      const writesBefore = this.writes
      reading = this.findById(id).finally(() => this.reading.delete(id))
      this.reading.set(id, reading)
      const user = await reading
      if (this.recent.size >= 10_000) this.recent.clear()
      // A write while reading may have landed after the row was read: keep nothing then.
      if (user && writesBefore === this.writes) this.recent.set(id, { at, user })
      else this.recent.delete(id)
      return user
    }
    return reading
  }

  /** By exact username (as Django), else by e-mail case-insensitively. */
  async findByLogin(identifier: string): Promise<UserRecord | undefined> {
    const rows = await this.byLogin.execute({ identifier })
    return rows.find((r) => r.username === identifier) ?? rows[0]
  }

  /**
   * Which of a username and an e-mail another user already holds (`exceptId` excluded), so that a
   * request with both taken hears about both at once, as DRF's validators answer.
   */
  async conflicts(
    candidate: { username?: string; email?: string },
    exceptId?: number,
  ): Promise<('username' | 'email')[]> {
    const checks: SQL[] = []
    if (candidate.username !== undefined) checks.push(eq(users.username, candidate.username))
    if (candidate.email) checks.push(sql`lower(${users.email}) = lower(${candidate.email})`)
    if (checks.length === 0) return []
    const others = exceptId === undefined ? undefined : sql`${users.id} <> ${exceptId}`
    const rows = await this.db
      .select({ username: users.username, email: users.email })
      .from(users)
      .where(and(or(...checks), others))
      .limit(2)
    const found: ('username' | 'email')[] = []
    if (rows.some((r) => r.username === candidate.username)) found.push('username')
    if (candidate.email && rows.some((r) => r.email.toLowerCase() === candidate.email!.toLowerCase()))
      found.push('email')
    return found
  }

  async create(input: NewUser): Promise<UserRecord> {
    try {
      const id = await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({
            username: input.username,
            email: input.email,
            passwordHash: input.passwordHash,
            firstName: input.firstName ?? '',
            lastName: input.lastName ?? '',
            isActive: input.isActive ?? true,
            isStaff: input.isStaff ?? false,
            isSuperuser: input.isSuperuser ?? false,
            isManager: input.isManager ?? false,
            clientId: input.clientId ?? null,
          })
          .returning({ id: users.id })
        await tx.insert(profiles).values({ userId: row!.id, expiryDate: input.expiryDate ?? null })
        return row!.id
      })
      return (await this.findById(id))!
    } catch (err) {
      throw translateUniqueViolation(err)
    }
  }

  /** `db`: a transaction to write in, when the change is part of a larger one. */
  async update(id: number, patch: UserPatch, db = this.db): Promise<void> {
    this.forget(id)
    const { expiryDate, ...userFields } = patch
    try {
      await db.transaction(async (tx) => {
        if (Object.keys(userFields).length > 0) await tx.update(users).set(userFields).where(eq(users.id, id))
        if (expiryDate !== undefined) {
          await tx
            .insert(profiles)
            .values({ userId: id, expiryDate })
            .onConflictDoUpdate({ target: profiles.userId, set: { expiryDate, updatedAt: new Date() } })
        }
      })
    } catch (err) {
      throw translateUniqueViolation(err)
    }
  }

  async setPasswordHash(id: number, passwordHash: string, db = this.db): Promise<void> {
    this.forget(id)
    await db.update(users).set({ passwordHash }).where(eq(users.id, id))
  }

  async setTokensValidAfter(id: number, at: Date, db = this.db): Promise<void> {
    this.forget(id)
    await db.update(users).set({ tokensValidAfter: at }).where(eq(users.id, id))
  }

  async list(options: {
    search?: string
    clientId?: number | null
    limit: number
    offset: number
  }): Promise<{ count: number; rows: UserRecord[] }> {
    const filters: SQL[] = []
    if (options.clientId !== undefined) {
      filters.push(
        options.clientId === null ? sql`${users.clientId} is null` : eq(users.clientId, options.clientId),
      )
    }
    if (options.search) {
      const like = `%${escapeLike(options.search)}%`
      filters.push(
        or(
          ilike(users.username, like),
          ilike(users.email, like),
          ilike(users.firstName, like),
          ilike(users.lastName, like),
        )!,
      )
    }
    const where = filters.length ? and(...filters) : undefined
    const [total] = await this.db.select({ n: count() }).from(users).where(where)
    const rows = await this.select()
      .where(where)
      .orderBy(asc(users.id))
      .limit(options.limit)
      .offset(options.offset)
    return { count: Number(total?.n ?? 0), rows }
  }

  /** Users whose "valid after" mark may still stop a live token: for rebuilding the revocation store. */
  async revocationMarks(since: Date): Promise<UserRecord[]> {
    return this.select().where(
      or(
        sql`${users.tokensValidAfter} > ${since.toISOString()}`,
        sql`${profiles.expiryDate} is not null`,
        eq(users.isActive, false),
      ),
    )
  }
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`)
}

function translateUniqueViolation(err: unknown): unknown {
  const e = (err as { cause?: { code?: string; constraint?: string; message?: string } })?.cause ?? err
  const pg = e as { code?: string; constraint?: string; constraint_name?: string; message?: string }
  if (pg?.code !== '23505') return err
  const name = `${pg.constraint ?? pg.constraint_name ?? ''} ${pg.message ?? ''}`
  if (name.includes('email')) return new DuplicateError('email')
  if (name.includes('username')) return new DuplicateError('username')
  return err
}
