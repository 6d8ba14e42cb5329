import { sql } from 'drizzle-orm'
import { users } from '../../schema/db.js'
import type { Db } from '../database/database.js'

/** A user as the import writes it: Django's id and fields, in our columns. */
export interface ImportedUser {
  id: number
  username: string
  email: string
  passwordHash: string
  firstName: string
  lastName: string
  isActive: boolean
  isStaff: boolean
  isSuperuser: boolean
  dateJoined: Date
  lastLogin: Date | null
  emailShared: boolean
}

/** What our users table holds for a user, as far as the import compares. */
export type ExistingUser = ImportedUser

const BATCH = 2000
// Two statements in flight keep PostgreSQL busy while the next batch is sent (measured: 100,000
// new users in 3.4 s one at a time, 2.1 s two at a time, no better with four on 2 cores).
const LANES = 2

/** The columns of a batch, as json_to_recordset reads them. */
const RECORD = sql.raw(`v(
  id int, username text, email text, password_hash text, first_name text, last_name text,
  is_active boolean, is_staff boolean, is_superuser boolean, date_joined timestamptz,
  last_login timestamptz, email_shared boolean)`)

function json(batch: ImportedUser[]): string {
  return JSON.stringify(
    batch.map((u) => ({
      id: u.id,
      username: u.username,
      email: u.email,
      password_hash: u.passwordHash,
      first_name: u.firstName,
      last_name: u.lastName,
      is_active: u.isActive,
      is_staff: u.isStaff,
      is_superuser: u.isSuperuser,
      date_joined: u.dateJoined.toISOString(),
      last_login: u.lastLogin?.toISOString() ?? null,
      email_shared: u.emailShared,
    })),
  )
}

/**
 * The users table as the Django import (src/django/) sees it, kept by the table's owner: what it
 * holds, and batches written as one
 * statement each (a JSON array expanded by PostgreSQL), so 100,000 users cost 50 round trips.
 */
export class ImportRepository {
  constructor(private readonly db: Db) {}

  /** Every user here, with (among the rest) the fields the import compares. */
  existing(): Promise<ExistingUser[]> {
    return this.db.select().from(users)
  }

  /**
   * Inserts new users in batches; `done` hears how many rows each batch wrote. `emailsVerified`:
   * whether their addresses count as verified (Django proved nothing, but they logged in with them).
   */
  create(rows: ImportedUser[], done: (n: number) => void, emailsVerified = true): Promise<void> {
    return inBatches(rows, done, async (batch) => {
      await this.db.execute(sql`
        insert into ${users} (id, username, email, password_hash, first_name, last_name, is_active,
          is_staff, is_superuser, date_joined, last_login, email_shared, email_verified)
        select id, username, email, password_hash, first_name, last_name, is_active, is_staff,
          is_superuser, date_joined, last_login, email_shared, ${emailsVerified}
        from json_to_recordset(${json(batch)}::json) as ${RECORD}`)
    })
  }

  /**
   * Updates users in batches. The row must still carry the username the plan saw, and a password
   * that became ours (a login here while the import ran) is kept.
   */
  update(rows: ImportedUser[], done: (n: number) => void, emailsVerified = true): Promise<void> {
    return inBatches(rows, done, async (batch) => {
      await this.db.execute(sql`
        update ${users} set email = v.email,
          email_verified = case when lower(${users.email}) = lower(v.email)
            then ${users.emailVerified} else ${emailsVerified} end,
          password_hash = case when ${users.passwordHash} like '$argon2id$%'
            then ${users.passwordHash} else v.password_hash end,
          first_name = v.first_name, last_name = v.last_name, is_active = v.is_active,
          is_staff = v.is_staff, is_superuser = v.is_superuser, date_joined = v.date_joined,
          last_login = greatest(${users.lastLogin}, v.last_login), email_shared = v.email_shared
        from json_to_recordset(${json(batch)}::json) as ${RECORD}
        where ${users.id} = v.id and ${users.username} = v.username`)
    })
  }

  /** Every stored password hash, for counting users per format. */
  async passwordHashes(): Promise<string[]> {
    const rows = await this.db.select({ hash: users.passwordHash }).from(users)
    return rows.map((r) => r.hash)
  }

  /**
   * Moves the id sequence past every id taken, never back: a new user must not get a Django id
   * (or the id of a user deleted here, whose old tokens name it).
   */
  async advanceIdSequence(): Promise<void> {
    await this.db.execute(sql`
      select setval(pg_get_serial_sequence('users', 'id'),
        greatest((select max(id) from ${users}), (select last_value from users_id_seq)))`)
  }
}

/** Writes `rows` in batches of BATCH, LANES at a time; each row is in one batch only. */
async function inBatches(
  rows: ImportedUser[],
  done: (n: number) => void,
  write: (batch: ImportedUser[]) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < rows.length) {
      const batch = rows.slice(next, next + BATCH)
      next += BATCH
      await write(batch)
      done(batch.length)
    }
  }
  await Promise.all(Array.from({ length: LANES }, lane))
}
