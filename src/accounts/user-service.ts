import { errors, FieldErrors } from '../http/errors.js'
import type { PasswordHasher } from './passwords.js'
import type { Db } from '../database/database.js'
import type { Repositories } from '../repositories.js'
import { createUser, takenError } from './create-user.js'
import { DuplicateError, type UserPatch, type UserRecord } from './users.js'
import { inScope, requireManageable, tenantOf } from './scope.js'
import type { Principal } from '../tokens/claims.js'
import type { CurrentUser } from './current-user.js'
import { accountKey, type Throttle } from '../auth/throttle.js'
import type { RevocationService } from '../revocation/service.js'
import type { EmailVerification } from '../mail/email-verification.js'
import type { AuditTrail, RequestMeta } from '../audit/events.js'

export interface UserServiceDeps {
  db: Db
  repos: Repositories
  revocations: RevocationService
  hasher: PasswordHasher
  throttle: Throttle
  currentUser: CurrentUser
  audit: AuditTrail
  /** Sends a verification link when a user is created or an address changes. */
  verification?: EmailVerification
}

export interface CreateUserInput {
  username: string
  email?: string
  password: string
  first_name?: string
  last_name?: string
  is_staff?: boolean
  is_active?: boolean
  is_manager?: boolean
  expiry_date?: string | null
  client_id?: number | null
}

export interface PatchUserInput {
  email?: string
  first_name?: string
  last_name?: string
  is_active?: boolean
  is_staff?: boolean
  is_manager?: boolean
  expiry_date?: string | null
}

/** What operators do with users, limited to their tenant, and what a user does with their password. */
export class UserService {
  constructor(private readonly d: UserServiceDeps) {}

  /** The caller, who must be staff (or a superuser). */
  async operator(principal: Principal): Promise<UserRecord> {
    return this.d.currentUser.operator(principal)
  }

  async list(principal: Principal, query: { search?: string; limit: number; offset: number }) {
    const actor = await this.operator(principal)
    return this.d.repos.users.list({ ...query, clientId: tenantOf(actor) })
  }

  /** Self, or a user in an operator's scope. A non-operator asking about someone else is refused. */
  async get(principal: Principal, id: number): Promise<UserRecord> {
    if (id === principal.user_id) return this.d.currentUser.of(principal)
    return this.inScope(await this.operator(principal), id)
  }

  /** A user the caller may act on, by the one rule of staff actions (src/accounts/scope.ts). */
  async managed(principal: Principal, id: number): Promise<{ actor: UserRecord; user: UserRecord }> {
    const actor = await this.operator(principal)
    const user = await this.d.repos.users.findById(id)
    requireManageable(actor, user)
    return { actor, user }
  }

  private async inScope(actor: UserRecord, id: number): Promise<UserRecord> {
    const user = await this.d.repos.users.findById(id)
    if (!user || !inScope(actor, user.clientId)) throw errors.notFound()
    return user
  }

  async create(principal: Principal, input: CreateUserInput, meta: RequestMeta): Promise<UserRecord> {
    const actor = await this.operator(principal)
    const clientId = await this.tenantForNewUser(actor, input.client_id)
    const user = await createUser(this.d, {
      username: input.username,
      email: input.email,
      password: input.password,
      firstName: input.first_name,
      lastName: input.last_name,
      isStaff: input.is_staff,
      isActive: input.is_active,
      isManager: input.is_manager,
      clientId,
      expiryDate: input.expiry_date ? new Date(input.expiry_date) : null,
    })
    const details = { is_staff: user.isStaff, is_active: user.isActive, client_id: user.clientId }
    this.d.audit.record({ type: 'user.created', userId: user.id, details }, meta)
    return user
  }

  /** Superusers choose any existing tenant; other operators create users in their own. */
  private async tenantForNewUser(actor: UserRecord, requested: number | null | undefined) {
    if (!actor.isSuperuser) {
      if (requested !== undefined && requested !== actor.clientId) {
        throw new FieldErrors({ client_id: ['Only a superuser may choose the tenant of a user.'] })
      }
      return actor.clientId
    }
    if (requested === undefined || requested === null) return null
    if (!(await this.d.repos.clients.findById(requested))) {
      throw new FieldErrors({ client_id: [`Invalid pk "${requested}" - object does not exist.`] })
    }
    return requested
  }

  private async refuseTaken(candidate: { username?: string; email?: string }, exceptId?: number) {
    const taken = await this.d.repos.users.conflicts(candidate, exceptId)
    if (taken.length) throw takenError(taken)
  }

  /**
   * An operator's change to a user in scope. Deactivation stops every token of the user at once;
   * an expiry change reaches the revocation store at once, so a past date stops live tokens.
   */
  async update(
    principal: Principal,
    id: number,
    input: PatchUserInput,
    meta: RequestMeta,
  ): Promise<UserRecord> {
    const { user: before } = await this.managed(principal, id)
    refuseNullCharacters(input)
    if (input.email) await this.refuseTaken({ email: input.email }, id)
    const patch: UserPatch = {
      email: input.email,
      firstName: input.first_name,
      lastName: input.last_name,
      isActive: input.is_active,
      isStaff: input.is_staff,
      isManager: input.is_manager,
      expiryDate:
        input.expiry_date === undefined ? undefined : input.expiry_date ? new Date(input.expiry_date) : null,
    }
    for (const key of Object.keys(patch) as (keyof UserPatch)[]) {
      if (patch[key] === undefined) delete patch[key]
    }
    const { users } = this.d.repos
    const deactivating = before.isActive && patch.isActive === false
    // The same address (case aside) stays as verified as it was, and no link is sent.
    const sameAddress = patch.email !== undefined && patch.email.toLowerCase() === before.email.toLowerCase()
    if (sameAddress) patch.emailVerified = before.emailVerified
    const newAddress = sameAddress ? undefined : patch.email || undefined
    const addressChanged = patch.email !== undefined && !sameAddress
    const verification = !deactivating && newAddress ? this.d.verification : undefined
    // One transaction: the change; the end of every reset link mailed to the old address (whoever
    // reads that mailbox now must not take the account back); the link proving the new one.
    const write = async (tx: Db) => {
      await users.update(id, patch, tx)
      if (addressChanged) await this.d.repos.oneTimeTokens.cancel(id, 'password_reset', tx)
      if (verification) await verification.queue(tx, { id, username: before.username, email: newAddress! })
    }
    try {
      if (deactivating) {
        // The change and the revocation of every session commit together, or neither does.
        const after = { ...before, ...patch }
        await this.d.revocations.revokeUser(after, 'deactivated', { alongside: write })
      } else {
        await this.d.db.transaction(write)
        verification?.sent()
      }
    } catch (err) {
      if (err instanceof DuplicateError) throw takenError([err.field])
      throw err
    }
    const fields = changedFields(before, patch)
    this.d.audit.record(
      { type: deactivating ? 'user.deactivated' : 'user.updated', userId: id, details: { fields } },
      meta,
    )
    const user = await users.findById(id)
    if (!user) throw errors.notFound()
    if (!deactivating && (patch.isActive !== undefined || patch.expiryDate !== undefined)) {
      await this.d.revocations.writeUserState(user)
    }
    return user
  }

  /** Checks the old password, stores the new one and revokes every other session of the caller. */
  async changePassword(principal: Principal, oldPassword: string, newPassword: string, meta: RequestMeta) {
    const user = await this.d.currentUser.of(principal)
    // Guessing the old password is a login attempt by other means: the same budget applies.
    const account = accountKey(user.id, user.username)
    await this.d.throttle.attempt(account, meta.ip)
    if (!(await this.d.hasher.verify(user.passwordHash, oldPassword, account))) {
      throw new FieldErrors({ old_password: ['Wrong password.'] })
    }
    const hash = await this.d.hasher.hash(newPassword)
    // One transaction: the new password never works while the other sessions still do. A token
    // without a session (not one of ours) keeps nothing: sid 0 matches no session, and revokeUser
    // then revokes every session without stopping the caller's own access token.
    // A reset link still in a mailbox would undo the change: it ends with it.
    const ids = await this.d.revocations.revokeUser(user, 'password_change', {
      exceptSid: principal.sid ?? 0,
      alongside: async (tx) => {
        await this.d.repos.users.setPasswordHash(user.id, hash, tx)
        await this.d.repos.oneTimeTokens.cancel(user.id, 'password_reset', tx)
      },
    })
    const details = { revoked_sessions: ids.length }
    this.d.audit.record(
      { type: 'password.changed', userId: user.id, sessionId: principal.sid, details },
      meta,
    )
    return { message: 'Password changed successfully', revoked_sessions: ids.length }
  }
}

/** DRF's CharField refuses NUL (ProhibitNullCharactersValidator); PostgreSQL text cannot store it. */
function refuseNullCharacters(input: object): void {
  const bad = Object.entries(input).filter(([, v]) => typeof v === 'string' && v.includes('\u0000'))
  if (bad.length)
    throw new FieldErrors(Object.fromEntries(bad.map(([k]) => [k, ['Null characters are not allowed.']])))
}

/** A PATCH's fields by the names the request used, as UserPatch names them. */
const PATCH_FIELDS = {
  email: 'email',
  firstName: 'first_name',
  lastName: 'last_name',
  isActive: 'is_active',
  isStaff: 'is_staff',
  isManager: 'is_manager',
  expiryDate: 'expiry_date',
} as const

/**
 * Which fields a PATCH changed, never their values (an address is personal data): only fields the
 * endpoint knows, never a key the request made up, and only those whose value differs.
 */
function changedFields(before: UserRecord, patch: UserPatch): string[] {
  const same = (a: unknown, b: unknown) =>
    a instanceof Date || b instanceof Date
      ? (a as Date | null)?.getTime() === (b as Date | null)?.getTime()
      : a === b
  return (Object.keys(PATCH_FIELDS) as (keyof typeof PATCH_FIELDS)[])
    .filter((key) => patch[key] !== undefined && !same(patch[key], before[key]))
    .map((key) => PATCH_FIELDS[key])
}
