import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/pg-core'
import { ts } from './db-columns.js'

export * from './db-events.js'

/** Tenants. The seeds call them clients: a user may belong to one. */
export const clients = pgTable('clients', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 150 }).notNull().unique(),
  createdAt: ts('created_at').notNull().defaultNow(),
})

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    username: varchar('username', { length: 150 }).notNull().unique(),
    email: varchar('email', { length: 254 }).notNull().default(''),
    passwordHash: text('password_hash').notNull(),
    firstName: varchar('first_name', { length: 150 }).notNull().default(''),
    lastName: varchar('last_name', { length: 150 }).notNull().default(''),
    isActive: boolean('is_active').notNull().default(true),
    isStaff: boolean('is_staff').notNull().default(false),
    isSuperuser: boolean('is_superuser').notNull().default(false),
    isManager: boolean('is_manager').notNull().default(false),
    dateJoined: ts('date_joined').notNull().defaultNow(),
    lastLogin: ts('last_login'),
    clientId: integer('client_id').references(() => clients.id, { onDelete: 'set null' }),
    // Durable copy of the per-user "valid after" mark kept in the revocation store.
    tokensValidAfter: ts('tokens_valid_after'),
    // Imported from Django, where e-mails need not be unique, with an e-mail another account has
    // too (case-insensitively): exempt from the uniqueness below until the e-mail changes here.
    // Login by that e-mail names no one; by username it works.
    emailShared: boolean('email_shared').notNull().default(false),
    // Proven by a link sent to it. Users from before verification existed count as verified
    // (migration 0005), so turning REQUIRE_VERIFIED_EMAIL on locks nobody out.
    emailVerified: boolean('email_verified').notNull().default(false),
    // Kept beside the user row so a login learns it with the password hash, in the same read.
    mfaEnabled: boolean('mfa_enabled').notNull().default(false),
  },
  (t) => [
    // E-mail is unique case-insensitively; the empty string means "no e-mail" and may repeat.
    uniqueIndex('users_email_lower_unique')
      .on(sql`lower(${t.email})`)
      .where(sql`${t.email} <> '' and not ${t.emailShared}`),
    index('users_email_lower_idx').on(sql`lower(${t.email})`),
    // Usernames shaped like an address, looked up against e-mails: a username never equals another
    // account's e-mail, nor an e-mail another account's such username (trigger users_login_names,
    // migration 0010, src/accounts/usernames.ts).
    index('users_username_at_lower_idx').on(sql`lower(${t.username})`).where(sql`${t.username} like '%@%'`),
    index('users_client_id_idx').on(t.clientId),
  ],
)

export const profiles = pgTable('profiles', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  expiryDate: ts('expiry_date'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

/** The kinds of client a session is opened from (the seeds' client_type). */
export const CLIENT_TYPES = ['telegram_bot', 'website', 'mobile', 'unknown'] as const
export type ClientType = (typeof CLIENT_TYPES)[number]

/** One row per login (device session), as the UserSession of the seeds. */
export const sessions = pgTable(
  'sessions',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Not indexed: every query names the session by id, and an index here (like one on expires_at)
    // would make each rotation a non-HOT update that writes every index of the table.
    refreshJti: varchar('refresh_jti', { length: 64 }).notNull(),
    accessJti: varchar('access_jti', { length: 64 }),
    // The refresh jti this session held before its last rotation, to tell reuse from a race.
    previousRefreshJti: varchar('previous_refresh_jti', { length: 64 }),
    rotatedAt: ts('rotated_at'),
    clientType: varchar('client_type', { length: 20 }).notNull().default('unknown'),
    deviceName: varchar('device_name', { length: 255 }),
    ipAddress: varchar('ip_address', { length: 45 }),
    userAgent: text('user_agent'),
    telegramUserId: bigint('telegram_user_id', { mode: 'number' }),
    telegramUsername: varchar('telegram_username', { length: 255 }),
    createdAt: ts('created_at').notNull().defaultNow(),
    lastActivity: ts('last_activity').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    isActive: boolean('is_active').notNull().default(true),
    revokedAt: ts('revoked_at'),
    revokedReason: varchar('revoked_reason', { length: 32 }),
  },
  (t) => [
    index('sessions_user_active_idx').on(t.userId, t.isActive),
    // No index on expires_at either: a rotation moves it. Only the expired-session purge (a CLI
    // job) filters on it alone.
    index('sessions_active_client_type_idx').on(t.isActive, t.clientType),
  ],
)

/**
 * Tokens denied one by one (a logout presenting another session's access token, a refresh token
 * without a session): the durable record the revocation store is rebuilt from. Rows past
 * `expires_at` stop nothing (the token is dead by its own exp) and are purged by flush-expired.
 */
export const deniedTokens = pgTable('denied_tokens', {
  jti: text('jti').primaryKey(),
  expiresAt: ts('expires_at').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
})

/** Service-wide state that must survive the revocation store, e.g. the global "valid after" mark. */
export const serviceState = pgTable('service_state', {
  key: varchar('key', { length: 64 }).primaryKey(),
  value: text('value').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
})

/**
 * The signing keys `rotate-key` made (the configured key is not here: it comes from the
 * environment). `sealed_key` is the secret or private key, encrypted with KEY_ENCRYPTION_KEY and
 * bound to its kid. The newest key whose `signs_from` has come signs; each earlier one verifies
 * until the last token it signed has expired.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  algorithm: varchar('algorithm', { length: 16 }).notNull(),
  sealedKey: text('sealed_key').notNull(),
  signsFrom: ts('signs_from').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
})

/**
 * Single-use tokens sent by mail (password reset, e-mail verification). Only a SHA-256 of the token
 * is kept: the database never holds what the link holds. `email` is the address the link went to.
 */
export const oneTimeTokens = pgTable(
  'one_time_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    purpose: varchar('purpose', { length: 32 }).notNull(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: varchar('email', { length: 254 }).notNull(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('one_time_tokens_user_idx').on(t.userId, t.purpose)],
)

/**
 * Mail to send, written in the transaction of the change that causes it and sent after commit
 * (src/mail/mailer.ts). `data` fills the template; it is cleared once sent, since it may hold a
 * link with a token. `message_id` stays the same across attempts, so a resend after a crash
 * between the SMTP answer and our update is recognisable as the same message.
 */
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    recipient: varchar('recipient', { length: 254 }).notNull(),
    template: varchar('template', { length: 64 }).notNull(),
    data: jsonb('data').$type<Record<string, string>>(),
    messageId: text('message_id').notNull(),
    status: varchar('status', { length: 16 }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lockedUntil: ts('locked_until'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    sentAt: ts('sent_at'),
  },
  (t) => [index('mail_outbox_due_idx').on(t.nextAttemptAt).where(sql`status = 'pending'`)],
)

/**
 * TOTP two-factor secrets (RFC 6238), sealed with KEY_ENCRYPTION_KEY. `enabled_at` is null while
 * the user has not yet confirmed a first code. `last_step` is the newest 30-second step a code was
 * accepted for: a code is accepted once, for a later step only.
 */
export const userMfa = pgTable('user_mfa', {
  userId: integer('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  sealedSecret: text('sealed_secret').notNull(),
  enabledAt: ts('enabled_at'),
  lastStep: bigint('last_step', { mode: 'number' }).notNull().default(0),
  createdAt: ts('created_at').notNull().defaultNow(),
  // Wrong second-factor codes since `failures_since` (a day's window): MFA_DAILY_FAILURE_LIMIT.
  // Counted in the row, by one conditional UPDATE, so concurrent guesses cannot pass the cap.
  failures: integer('failures').notNull().default(0),
  failuresSince: ts('failures_since'),
})

/** Single-use recovery codes, stored as SHA-256 (they are random, 50 bits and more). */
export const mfaRecoveryCodes = pgTable(
  'mfa_recovery_codes',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
)

/**
 * A login waiting for its second factor: what `mfa_token` names (only its SHA-256 here). It keeps
 * the login's device fields, so the session made after the code is the one the login asked for.
 */
export const mfaChallenges = pgTable('mfa_challenges', {
  tokenHash: text('token_hash').primaryKey(),
  userId: integer('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  login: jsonb('login').$type<Record<string, unknown>>().notNull(),
  attempts: integer('attempts').notNull().default(0),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
})

/**
 * Devices and networks a user has logged in from: a login from one never seen (after the first)
 * is suspicious. `kind` is 'device' (a digest of the user agent) or 'network' (the /24 or /48).
 */
export const knownDevices = pgTable(
  'known_devices',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: varchar('kind', { length: 16 }).notNull(),
    value: varchar('value', { length: 64 }).notNull(),
    firstSeen: ts('first_seen').notNull().defaultNow(),
    lastSeen: ts('last_seen').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.kind, t.value] })],
)

export type UserRow = typeof users.$inferSelect
export type SessionRow = typeof sessions.$inferSelect
export type ClientRow = typeof clients.$inferSelect
export type ProfileRow = typeof profiles.$inferSelect
