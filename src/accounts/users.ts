import { and, asc, count, eq, ilike, inArray, or, type SQL, sql } from 'drizzle-orm'
import { clients, profiles, users } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import type { NewUser, UserPatch, UserRecord } from './user-record.js'
import { RecentUsers } from './recent-users.js'
import { type Conflict, escapeLike, inTenant, translateUniqueViolation } from './sql-helpers.js'
import { normalizeUsername } from './usernames.js'

export { DuplicateError } from './sql-helpers.js'

export type { NewUser, UserPatch, UserRecord }

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
  emailVerified: users.emailVerified,
  mfaEnabled: users.mfaEnabled,
  expiryDate: profiles.expiryDate,
  profileCreatedAt: profiles.createdAt,
  profileUpdatedAt: profiles.updatedAt,
  clientName: clients.name,
}

export class UserRepository {
  // The hot queries are built once: Drizzle's query builder costs several times the round trip.
  private readonly byId
  private readonly byLogin

  private readonly recent: RecentUsers<UserRecord>

  constructor(
    private readonly db: Db,
    recentMs = 0,
  ) {
    this.recent = new RecentUsers<UserRecord>((id) => this.findById(id), recentMs)
    this.byId = this.select()
      .where(eq(users.id, sql.placeholder('id')))
      .limit(1)
      .prepare('user_by_id')
    const identifier = sql.placeholder('identifier')
    this.byLogin = this.select()
      .where(
        or(
          eq(users.username, identifier),
          eq(users.username, sql.placeholder('normalized')),
          and(sql`${users.email} <> ''`, sql`lower(${users.email}) = lower(${identifier})`),
        ),
      )
      .limit(4)
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

  /** Called before every write of a user row, so this process never shows an older row after it. */
  forget(id: number): void {
    this.recent.forget(id)
  }

  /** findById, answered from memory when read less than `recentMs` ago (RecentUsers): only for showing a user. */
  findRecent(id: number): Promise<UserRecord | undefined> {
    return this.recent.get(id)
  }

  /**
   * The account a login identifier names, for login and password reset alike. With `@` it is an
   * address: e-mails first (case aside), then a username. Without, a username, NFKC-normalised as
   * Django's login form does (a row stored before normalisation is still found as written).
   */
  async findByLogin(identifier: string): Promise<UserRecord | undefined> {
    const normalized = normalizeUsername(identifier)
    const rows = await this.byLogin.execute({ identifier, normalized })
    const byName = rows.find((r) => r.username === normalized) ?? rows.find((r) => r.username === identifier)
    const lower = identifier.toLowerCase()
    const byEmail = rows.filter((r) => r.email !== '' && r.email.toLowerCase() === lower)
    if (identifier.includes('@')) {
      // A username equal to another account's address (only rows from before migration 0010 can
      // hold one) must not capture that address's login nor its reset mail.
      if (byEmail.length === 1) return byEmail[0]
      // An e-mail that two accounts imported from Django share names neither, unless it is also
      // one of them's username: picking one would log into an account by chance.
      if (byEmail.length > 1) return byEmail.find((r) => r === byName)
      return byName
    }
    return byName ?? (byEmail.length === 1 ? byEmail[0] : undefined)
  }

  /**
   * Which of a username and an e-mail another user already holds (`exceptId` excluded), as a
   * username, an e-mail, or the other one (a login identifier names one account: a username with
   * `@` is looked up as an address), so that a request hears about every conflict at once, as
   * DRF's validators answer. Migration 0010's trigger holds the cross rules under concurrency.
   */
  async conflicts(candidate: { username?: string; email?: string }, exceptId?: number): Promise<Conflict[]> {
    const { username, email } = candidate
    const lower = (s: string | undefined) => s?.toLowerCase()
    const checks: SQL[] = []
    if (username !== undefined) {
      checks.push(eq(users.username, username))
      if (username.includes('@')) checks.push(sql`lower(${users.email}) = lower(${username})`)
    }
    if (email) {
      checks.push(sql`lower(${users.email}) = lower(${email})`)
      checks.push(sql`${users.username} like '%@%' and lower(${users.username}) = lower(${email})`)
    }
    if (checks.length === 0) return []
    const others = exceptId === undefined ? undefined : sql`${users.id} <> ${exceptId}`
    const rows = await this.db
      .select({ username: users.username, email: users.email })
      .from(users)
      .where(and(or(...checks), others))
      .limit(8)
    const found: Conflict[] = []
    if (rows.some((r) => r.username === username)) found.push('username')
    if (username?.includes('@') && rows.some((r) => r.email !== '' && lower(r.email) === lower(username)))
      found.push('usernameIsEmail')
    if (email && rows.some((r) => lower(r.email) === lower(email))) found.push('email')
    if (email && rows.some((r) => r.username.includes('@') && lower(r.username) === lower(email)))
      found.push('emailIsUsername')
    return found
  }

  /** `alongside`: more writes that must commit with the new user (its verification mail). */
  async create(input: NewUser, alongside?: (tx: Db, id: number) => Promise<void>): Promise<UserRecord> {
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
            emailVerified: input.emailVerified ?? false,
          })
          .returning({ id: users.id })
        await tx.insert(profiles).values({ userId: row!.id, expiryDate: input.expiryDate ?? null })
        await alongside?.(tx, row!.id)
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
        // A new e-mail is unique like any other, even for an account imported sharing its old one,
        // and unproven until its own link is followed.
        const set =
          userFields.email === undefined
            ? userFields
            : { emailVerified: false, ...userFields, emailShared: false }
        if (Object.keys(set).length > 0) await tx.update(users).set(set).where(eq(users.id, id))
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

  /** Stamps a login's time on the user (Django's last_login). */

  async setPasswordHash(id: number, passwordHash: string, db = this.db): Promise<void> {
    this.forget(id)
    await db.update(users).set({ passwordHash }).where(eq(users.id, id))
  }

  /**
   * Replaces the hash only while it is still `verifiedHash` (a login rehashing the password it
   * checked): false when the password changed meanwhile, which the login must not undo.
   */
  async rehashPassword(id: number, verifiedHash: string, passwordHash: string): Promise<boolean> {
    this.forget(id)
    const rows = await this.db
      .update(users)
      .set({ passwordHash })
      .where(and(eq(users.id, id), eq(users.passwordHash, verifiedHash)))
      .returning({ id: users.id })
    return rows.length === 1
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
    if (options.clientId !== undefined) filters.push(inTenant(options.clientId))
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

  /** Name and address of some users, for the mail that warns them (src/audit/suspicious.ts). */
  contacts(ids: number[], db = this.db): Promise<{ id: number; username: string; email: string }[]> {
    return db
      .select({ id: users.id, username: users.username, email: users.email })
      .from(users)
      .where(inArray(users.id, ids))
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
